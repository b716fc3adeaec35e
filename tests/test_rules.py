"""Every rule fires on a spec wrong in its one way, and stays silent on every preset."""

from __future__ import annotations

import pytest

from ganspec.rules import RULES
from ganspec.validate import validate_file, validate_text
from tests.conftest import DELETE, SPECS, validate_mutation

SIGMOID_LAST = {"discriminator.layers[4].act": "sigmoid"}

# code -> (preset, changes that break exactly what the rule checks)
TRIGGERS: dict[str, tuple[str, dict[str, object]]] = {
    "GS201": ("dcgan-64", {"generator.layers[5].kernel": 3}),
    "GS202": ("dcgan-digits-32", {"discriminator.layers[3].kernel": 5}),
    "GS203": (
        "dcgan-64",
        {"discriminator.layers[0].kernel": 3, "discriminator.layers[0].padding": 0},
    ),
    "GS204": ("dcgan-64", {"generator.layers[0]": {"flatten": True}}),
    "GS205": ("dcgan-64", {"generator.layers[0].reshape": [100, 2, 1]}),
    "GS206": ("dcgan-64", {"discriminator.layers[4].kernel": 3}),
    "GS207": ("dcgan-64", {"discriminator.layers[1].groups": 3}),
    "GS208": ("dcgan-64", {"generator.layers[1].output_padding": 1}),
    "GS209": ("dcgan-64", {"discriminator.layers[5].spectral_norm": True}),
    "GS301": ("dcgan-64", {"data.range": [0.0, 1.0]}),
    "GS302": ("dcgan-64", {"training.optimizers.generator.betas": DELETE}),
    "GS303": ("dcgan-64", {"training.optimizers.discriminator.lr": 1.0e-3}),
    "GS304": ("dcgan-64", SIGMOID_LAST),
    "GS305": ("wgan-gp-64", {"discriminator.layers[1].norm": "batch"}),
    "GS306": ("dcgan-64", {"discriminator.layers[0].norm": "batch"}),
    "GS307": ("dcgan-64", {"generator.init": DELETE}),
    "GS308": ("wgan-gp-64", {"training.d_steps_per_g_step": 1}),
    "GS309": ("wgan-gp-64", {"training.optimizers.generator.betas": [0.5, 0.999]}),
    "GS310": ("wgan-gp-64", {"training.weight_clip": 0.01}),
    "GS311": ("dcgan-64", {"training.gradient_penalty": 10.0}),
    "GS312": (
        "dcgan-64",
        {**SIGMOID_LAST, "discriminator.output": "probability", "training.amp": "fp16"},
    ),
    "GS313": ("wgan-gp-64", {"training.gradient_penalty": DELETE}),
    "GS314": ("dcgan-64", {**SIGMOID_LAST, "discriminator.output": "probability"}),
    "GS315": ("sngan-hinge-32", {"training.label_smoothing": 0.1}),
    "GS316": ("dcgan-64", {"discriminator.output": "probability"}),
    "GS317": ("dcgan-64", {"generator.layers[5].act": "none"}),
    "GS318": ("dcgan-64", {"training.r1_every": 16}),
    "GS401": ("cgan-digits-32", {"generator.layers[0].embedding": 9}),
    "GS402": ("dcgan-digits-32", {"data.classes": 10}),
    "GS403": ("mlp-ring8", {"data.batch_size": 255}),
    "GS404": ("mlp-ring8", {"data.shape": {"features": 3}}),
    "GS405": ("mlp-ring8", {"data.augment": ["hflip"]}),
    "GS406": ("mlp-ring8", {"data.classes": 8}),
    "GS407": ("dcgan-64", {"data.range": DELETE}),
    "GS501": ("dcgan-64", {"training.checkpoint_every": DELETE}),
    "GS502": ("dcgan-64", {"validation.on_nan": DELETE}),
    "GS503": ("dcgan-64", {"validation.fid.samples": 500}),
    "GS504": ("dcgan-64", {"validation.d_fake_healthy": [0.7, 0.3]}),
    "GS505": ("wgan-gp-64", {"validation.d_fake_healthy": [0.3, 0.7]}),
    "GS506": ("dcgan-64", {"training.checkpoint_every": 100}),
    "GS507": ("dcgan-64", {"validation.log": ["loss_g", "loss_d"]}),
}

# Rules emitted before a Spec exists, triggered by raw text.
PRESET_TEXT = (SPECS / "dcgan-64.yaml").read_text()
TEXT_TRIGGERS: dict[str, str] = {
    "GS100": "data:\n\tbatch_size: 64\n",
    "GS101": "- data\n- generator\n",
    "GS102": PRESET_TEXT.replace("  epochs: 25\n", "  epochs: 25\n  epochs: 5\n"),
    "GS103": PRESET_TEXT.replace("latent_dim: 100", "latent_dim: 100\n  z_dimension: 3"),
    "GS104": PRESET_TEXT.replace("latent_dim: 100", "latent_dim: lots"),
    "GS105": PRESET_TEXT.replace("  epochs: 25\n", ""),
    "GS106": PRESET_TEXT.replace("ganspec: 1", "ganspec: 2"),
    "GS107": PRESET_TEXT.replace("seed: 0", "seed: 0\nignore: [GS399]"),
    "GS108": PRESET_TEXT.replace("seed: 0", "seed: 0\nignore: [GS302]").replace(
        "{type: adam, lr: 2.0e-4, betas: [0.5, 0.999]}", "{type: adam, lr: 2.0e-4}"
    ),
}


def test_every_rule_has_a_trigger_and_documentation() -> None:
    checked = {code for code, rule in RULES.items() if rule.check is not None}
    assert checked <= set(TRIGGERS)
    assert set(RULES) <= set(TRIGGERS) | set(TEXT_TRIGGERS)
    for rule in RULES.values():
        assert rule.summary and rule.why and rule.example and rule.fix, rule.code
    assert len(RULES) >= 20


@pytest.mark.parametrize("code", sorted(c for c, r in RULES.items() if r.check is not None))
def test_rule_fires_on_a_spec_broken_its_way(code: str) -> None:
    preset, changes = TRIGGERS[code]
    report = validate_mutation(preset, changes)
    found = [d for d in report.diagnostics if d.code == code]
    assert found, f"{code} silent; got {[d.as_text() for d in report.diagnostics]}"
    assert all(d.severity == RULES[code].severity for d in found)
    assert all(d.line >= 1 and d.column >= 1 and d.message for d in found)


@pytest.mark.parametrize("code", sorted(TEXT_TRIGGERS))
def test_input_rule_fires_on_broken_text(code: str) -> None:
    report = validate_text(TEXT_TRIGGERS[code], "broken.yaml")
    assert code in {d.code for d in report.diagnostics}, [d.as_text() for d in report.diagnostics]


def test_presets_are_clean(preset_name: str) -> None:
    """No error, no warning; a preset may silence a warning only explicitly (GS108 says so)
    and with a comment saying why."""
    path = SPECS / f"{preset_name}.yaml"
    report = validate_file(path)
    assert [d.code for d in report.diagnostics if d.code != "GS108"] == []
    assert report.exit_code == 0
    if report.diagnostics:
        assert "# GS" in path.read_text(encoding="utf-8"), "say why the rule is ignored"


def test_ignored_rule_is_hidden_but_mentioned() -> None:
    report = validate_text(TEXT_TRIGGERS["GS108"], "ignored.yaml")
    codes = [d.code for d in report.diagnostics]
    assert "GS302" not in codes
    assert codes.count("GS108") == 1
    assert report.ignored["GS302"] == 2  # both optimizers were left at beta1 0.9
    assert report.exit_code == 0


def test_error_rules_cannot_be_ignored() -> None:
    text = PRESET_TEXT.replace("seed: 0", "seed: 0\nignore: [GS201]").replace(
        "{conv_transpose: 3, kernel: 4,", "{conv_transpose: 3, kernel: 3,"
    )
    report = validate_text(text, "x.yaml")
    codes = {d.code for d in report.diagnostics}
    assert {"GS107", "GS201"} <= codes
    assert report.exit_code == 1


def test_r1_penalty_is_a_gradient_penalty_for_the_batchnorm_rule() -> None:
    report = validate_mutation("dcgan-64", {"training.r1": 10.0})  # D has 3 BatchNorm layers
    assert [d.code for d in report.diagnostics if d.code == "GS305"] == ["GS305"] * 3
    assert not [d for d in report.diagnostics if d.code == "GS311"]  # R1 suits any loss
