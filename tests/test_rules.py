"""Every rule fires on a spec wrong in its one way, and stays silent on every preset."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from torch import nn

from ganspec import project_names
from ganspec.explain import explain
from ganspec.footprint import LARGEST_DEVICE_GB, format_bytes
from ganspec.render.image_models import norm_module
from ganspec.render.pipeline import render_files
from ganspec.rules import RULES
from ganspec.spec.image import SOURCE_SIZES
from ganspec.validate import validate_file, validate_text
from tests.conftest import (
    DELETE,
    PRESET_KINDS,
    ROOT,
    SPECS,
    mutated,
    preset_data,
    validate_mutation,
)
from tests.project_imports import project_imports

TEMPLATE = ROOT / "templates" / "image" / "project"
COMMON = ROOT / "templates" / "common"  # storage.py, shared by every kind

SIGMOID_LAST = {"discriminator.layers[4].act": "sigmoid"}
SMALL = {"data.source.rows": 200}

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
    "GS210": ("sngan-hinge-32", {"data.batch_size": 1}),
    "GS211": ("dcgan-digits-32", {"discriminator.pack": 64}),
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
    "GS319": ("dcgan-64", {"training.loss": "minimax"}),
    "GS320": (
        "dcgan-64",
        {"generator.layers[5].norm": "batch", "generator.layers[5].order": "act_norm"},
    ),
    "GS401": ("cgan-digits-32", {"generator.layers[0].embedding": 9}),
    "GS402": ("dcgan-digits-32", {"data.classes": 10}),
    "GS403": ("mlp-ring8", {"data.batch_size": 255}),
    "GS404": ("mlp-ring8", {"data.shape": {"features": 3}}),
    "GS405": ("mlp-ring8", {"data.augment": ["hflip"]}),
    "GS406": ("mlp-ring8", {"data.classes": 8}),
    "GS407": ("dcgan-64", {"data.range": DELETE}),
    "GS408": ("dcgan-digits-32", {"data.batch_size": 2048}),
    "GS409": (
        "mlp-ring8",
        {
            "data.source": {"type": "synthetic"},
            "data.batch_size": 512,
            "training.epochs": 1,
            "training.d_steps_per_g_step": 2,
        },
    ),
    "GS501": ("dcgan-64", {"training.checkpoint_every": DELETE}),
    "GS502": ("dcgan-64", {"validation.on_nan": DELETE}),
    "GS503": ("dcgan-64", {"validation.fid.samples": 500}),
    "GS504": ("dcgan-64", {"validation.d_fake_healthy": [0.7, 0.3]}),
    "GS505": ("wgan-gp-64", {"validation.d_fake_healthy": [0.3, 0.7]}),
    "GS506": ("dcgan-64", {"training.checkpoint_every": 100}),
    "GS507": ("dcgan-64", {"validation.log": ["loss_g", "loss_d"]}),
    "GS601": ("dcgan-64", {"name": "_faces"}),
    "GS602": ("dcgan-64", {"name": "click"}),
    "GS603": (
        "mlp-ring8",
        {"generator.layers[1].linear": 30_000, "generator.layers[2].linear": 30_000},
    ),
    "GS604": (
        "mlp-ring8",
        {"generator.layers[1].linear": 100_000, "generator.layers[2].linear": 100_000},
    ),
    # tabular: the spec's contract (GS70x, GS71x), then the data against it (GS72x), on
    # customers tables of 200 rows (fast)
    "GS701": ("ctgan-customers", {**SMALL, "synthesizer.ctgan.batch_size": 505}),
    "GS702": ("dpctgan-customers", {**SMALL, "synthesizer.ctgan.pac": 10}),
    "GS703": ("dpctgan-customers", {**SMALL, "privacy.differential_privacy.loss": "wgan-gp"}),
    "GS704": ("dpctgan-customers", {**SMALL, "data.columns.age.max": DELETE}),
    "GS705": ("dpctgan-customers", {**SMALL, "data.columns.plan.values": DELETE}),
    "GS706": ("dpctgan-customers", {**SMALL, "privacy.differential_privacy.delta": 0.01}),
    "GS707": ("ctgan-customers", {**SMALL, "constraints[0].inequality.low": "signup_dte"}),
    "GS708": ("ctgan-customers", {**SMALL, "constraints[0].inequality.low": "plan"}),
    "GS709": ("ctgan-customers", {**SMALL, "data.primary_key": "age"}),
    "GS710": (
        "ctgan-customers",
        {**SMALL, "constraints[1].fixed_combinations": ["email", "country"]},
    ),
    "GS711": ("ctgan-customers", {**SMALL, "validation.ml_efficacy.target": "email"}),
    "GS712": ("ctgan-customers", {**SMALL, "output.column_order": ["customer_id", "age"]}),
    "GS713": (
        "ctgan-customers",
        {**SMALL, "privacy.sensitive.age": "fake", "data.columns.age.max": DELETE},
    ),
    "GS714": (
        "dpctgan-customers",
        {**SMALL, "constraints[1].fixed_combinations": ["country", "city"]},
    ),
    "GS715": ("ctgan-customers", {**SMALL, "output.nulls": "none"}),
    "GS720": ("ctgan-customers", {"data.source": {"type": "csv", "path": "no-such-file.csv"}}),
    "GS721": ("ctgan-customers", {**SMALL, "data.columns.region": {"type": "categorical"}}),
    "GS722": ("ctgan-customers", {**SMALL, "data.columns.age": {"type": "boolean"}}),
    "GS723": (
        "ctgan-customers",
        {**SMALL, "data.columns.plan": {"type": "id"}, "data.primary_key": "plan"},
    ),
    "GS724": ("ctgan-customers", {**SMALL, "data.columns.age.max": 80}),
    "GS725": ("ctgan-customers", {**SMALL, "data.columns.monthly_spend.nullable": False}),
    "GS726": ("ctgan-customers", {**SMALL, "constraints[3].positive": "support_tickets"}),
    "GS801": ("realesrgan-anime-6b", {"model.weights": "no/such/weights.pth"}),
    "GS802": ("realesrgan-anime-6b", {"model.weights": str(SPECS / "dcgan-64.yaml")}),
    "GS803": ("realesrgan-x4plus-photo", {"model.denoise_strength": 0.5}),
    "GS804": ("realesrgan-x4plus-photo", {"inference.tile_pad": 256}),
    "GS805": (
        "realesrgan-x4plus-photo",
        {"inference.precision": "fp16", "inference.device": "cpu"},
    ),
    "GS806": ("realesrgan-x4plus-photo", {"inference.precision": "bf16"}),
    "GS807": ("realesrgan-x4plus-photo", {"output.format": "jpg", "output.bit_depth": "16"}),
    "GS808": ("realesrgan-x4plus-photo", {"output.format": "jpg"}),
    "GS809": ("realesrgan-x4plus-photo", {"inference.memory_budget_gb": 0.1}),
    "GS810": ("realesrgan-x4plus-photo", {"inference.tile": 0}),
    "GS811": ("realesrgan-anime-6b", {"input.source": {"type": "path", "path": "no/such/dir"}}),
}
# Checked rules a spec mutation cannot reach cheaply, and the test that triggers each.
TRIGGERED_ELSEWHERE = {
    "GS727": "tests/test_tabular.py::test_rows_past_the_cap_are_counted_not_checked",
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
    assert checked <= set(TRIGGERS) | set(TRIGGERED_ELSEWHERE)
    assert set(RULES) <= set(TRIGGERS) | set(TEXT_TRIGGERS) | set(TRIGGERED_ELSEWHERE)
    for rule in RULES.values():
        assert rule.summary and rule.why and rule.example and rule.fix, rule.code
    assert len(RULES) >= 20


@pytest.mark.parametrize(
    "code",
    sorted(c for c, r in RULES.items() if r.check is not None and c not in TRIGGERED_ELSEWHERE),
)
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
    # GS801: a superres preset names the release weights, which users download after
    # rendering (nothing here downloads): the warning is the instruction to do so.
    expected = {"GS108", "GS801"} if PRESET_KINDS[preset_name] == "superres" else {"GS108"}
    assert [d.code for d in report.diagnostics if d.code not in expected] == []
    assert report.exit_code == 0
    if report.diagnostics:
        assert "# GS" in path.read_text(encoding="utf-8"), "say why the rule is ignored"


# A layer as PyTorch or a paper names it -> (where, message phrases, fix phrases)
FOREIGN_OPS: dict[str, tuple[str, list[str], list[str]]] = {
    "{adaptive_avg_pool: 1}": (
        "adaptive_avg_pool",
        ["unknown op 'adaptive_avg_pool'", "did you mean 'global_avg_pool'?"],
        ["{global_avg_pool: true}"],
    ),
    "{batch_norm: 512}": (
        "batch_norm",
        ["unknown op 'batch_norm'", "norm: batch"],
        ["add 'norm: batch' to discriminator.layers[3]"],
    ),
    "{BatchNorm2d: 512}": ("BatchNorm2d", ["unknown op 'BatchNorm2d'"], ["'norm: batch'"]),
    "{dropout: 0.3}": (
        "dropout",
        ["unknown op 'dropout'", "a setting on a layer"],
        ["add 'dropout: 0.3' to discriminator.layers[3]"],
    ),
    "{self_attention: 512}": (
        "self_attention",
        ["unknown op 'self_attention'", "no self-attention op", "models.py"],
        ["models.py"],
    ),
    "{adaptive_avg_pool: 2}": ("adaptive_avg_pool", ["only to 1x1"], ["{avg_pool: K}"]),
    "{leaky_relu: 0.2}": ("leaky_relu", ["unknown op 'leaky_relu'"], ["'act: leaky_relu'"]),
    "{conv2d: 64, kernel: 3}": ("conv2d", ["did you mean 'conv'?"], ["rename 'conv2d' to 'conv'"]),
    "{swish_gate: 4}": ("swish_gate", ["unknown op 'swish_gate'", "ops: linear"], []),
}
LAST_CONV = "    - {conv: 1, kernel: 4, stride: 1, padding: 0, bias: false}\n"


@pytest.mark.parametrize("layer", sorted(FOREIGN_OPS))
def test_a_layer_named_as_pytorch_names_it_says_what_ganspec_calls_it(layer: str) -> None:
    """Not "the layer has no op key": which op it is here, or which setting, or that there is
    none; pointed at the op's own key."""
    key, phrases, fix_phrases = FOREIGN_OPS[layer]
    text = PRESET_TEXT.replace(LAST_CONV, f"    - {layer}\n{LAST_CONV}")
    [finding] = validate_text(text, "foreign.yaml").diagnostics
    assert (finding.code, finding.path) == ("GS103", f"discriminator.layers[4].{key}")
    assert all(phrase in finding.message for phrase in phrases), finding.message
    assert all(phrase in (finding.fix or "") for phrase in fix_phrases), finding.fix


def test_a_layer_that_only_forgot_its_op_key_still_says_so() -> None:
    text = PRESET_TEXT.replace(LAST_CONV, f"    - {{kernel: 4, act: relu}}\n{LAST_CONV}")
    [finding] = validate_text(text, "no-op.yaml").diagnostics
    assert (finding.code, finding.path) == ("GS105", "discriminator.layers[4]")
    assert "the layer has no op key" in finding.message


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


# --- the spec name becomes the rendered distribution name (issue 9, defect 1) ---------------

HOSTILE_NAMES = [
    # distributions a `pip install -e .` of the rendered project would replace
    "click",
    "pip",
    "setuptools",
    "wheel",
    "pydantic",
    "jinja2",
    "ganspec",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "pyyaml",
    "scikit_learn",
    "typing_extensions",
    "opencv_python",
    # import names of well-known distributions
    "yaml",
    "sklearn",
    "pil",
    # the standard library and the rendered project's own modules
    "json",
    "random",
    "config",
    "data",
    "models",
    "train",
    "tests",
    # names that render an invalid project name
    "_faces",
    "faces_",
    "_",
    "__init__",
    "_class",
    "_1",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_name_pip_would_clash_with_or_refuse_is_an_error_with_a_free_name(name: str) -> None:
    """`name: click` validated clean and `pip install -e .` then uninstalled click."""
    report = validate_mutation("dcgan-64", {"name": name})
    found = [d for d in report.diagnostics if d.code in ("GS601", "GS602")]
    assert len(found) == 1 and found[0].path == "name", [d.as_text() for d in found]
    assert report.exit_code == 1
    assert found[0].fix and found[0].fix.startswith("name: ")
    suggested = found[0].fix.removeprefix("name: ")
    assert validate_mutation("dcgan-64", {"name": suggested}).diagnostics == []


def test_the_suggested_name_keeps_the_users_name() -> None:
    assert project_names.suggest("click", "image") == "click_gan"
    assert project_names.suggest("_faces_", "image") == "faces"
    assert project_names.suggest("_class", "image") == "class_gan"  # `class` is a keyword


def test_a_name_installed_in_this_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found from the dist-info folders on sys.path, without importing anything."""
    (tmp_path / "Faces.Dcgan-1.0.dist-info").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    project_names.installed_distributions.cache_clear()
    try:
        report = validate_mutation("dcgan-64", {"name": "faces_dcgan"})
    finally:
        project_names.installed_distributions.cache_clear()
    (found,) = [d for d in report.diagnostics if d.code == "GS602"]
    assert "installed in this Python environment" in found.message
    assert found.fix == "name: faces_dcgan_gan"


def test_a_project_ganspec_rendered_and_installed_is_no_collision_with_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pip install -e .` of a rendered project in ganspec's own environment must not stop
    its spec from validating (and re-rendering) afterwards."""
    pyproject = (ROOT / "examples" / "dcgan-digits-32" / "pyproject.toml").read_text("utf-8")
    summary = re.search(r'^description = "(.*)"$', pyproject, re.MULTILINE)
    assert summary is not None
    for name, description in (("faces_dcgan", summary[1]), ("other_gan", "Someone's package")):
        dist = tmp_path / f"{name}-0.1.0.dist-info"
        dist.mkdir()
        metadata = f"Metadata-Version: 2.1\nName: {name}\nSummary: {description}\n"
        (dist / "METADATA").write_text(metadata, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    project_names.installed_distributions.cache_clear()
    try:
        ours = validate_mutation("dcgan-64", {"name": "faces_dcgan"})
        theirs = validate_mutation("dcgan-64", {"name": "other_gan"})
    finally:
        project_names.installed_distributions.cache_clear()
    assert ours.diagnostics == []
    assert [d.code for d in theirs.diagnostics] == ["GS602"]


def test_the_rendered_projects_modules_and_dependencies_are_read_from_its_templates() -> None:
    modules = project_names.project_modules("image")
    assert {"config", "data", "models", "losses", "train", "sample", "tests"} <= modules
    assert {"export", "evaluate", "features", "health", "metrics", "plots", "augment"} <= modules
    assert {"torch", "numpy", "pillow", "pyyaml", "tqdm", "pytest"} <= (
        project_names.project_requirements("image")
    )
    tabular = project_names.project_modules("tabular")
    assert {"contract", "data", "metadata", "synthesizer", "train", "sample", "evaluate"} <= tabular
    assert {"storage", "runfolder", "health", "dpgan", "tests"} <= tabular
    assert {"sdv", "opacus", "torch", "pandas", "scikit-learn"} <= (
        project_names.project_requirements("tabular")
    )


def test_every_name_validate_accepts_renders_a_name_packaging_accepts() -> None:
    """Random identifiers (hostile underscores included): no GS601 <=> a valid requirement."""
    rng = random.Random(9)
    for _ in range(300):
        name = "".join(rng.choice("ab_1") for _ in range(rng.randint(1, 6)))
        if not name[0].isalpha() and name[0] != "_":
            continue
        try:
            Requirement(project_names.rendered_name(name))
            valid = True
        except InvalidRequirement:
            valid = False
        assert project_names.is_project_name(name) == valid, name


# --- specs that validate clean but cannot train (issue 9, defect 4) ---------------------------


def _dcgan_64_at_4096() -> dict[str, object]:
    """dcgan-64 grown by six more 2x layers in each network: 3 x 4096 x 4096 images."""
    data = preset_data("dcgan-64")
    up = {"conv_transpose": 32, "kernel": 4, "stride": 2, "padding": 1, "norm": "batch"}
    down = {"conv": 32, "kernel": 4, "stride": 2, "padding": 1, "act": "leaky_relu"}
    g_layers = data["generator"]["layers"]
    data["generator"]["layers"] = g_layers[:-1] + [{**up, "act": "relu"}] * 6 + g_layers[-1:]
    data["discriminator"]["layers"] = [down] * 6 + data["discriminator"]["layers"]
    data["data"]["shape"] = {"channels": 3, "height": 4096, "width": 4096}
    return data


def _with(preset: str, changes: dict[str, object]) -> dict[str, object]:
    return yaml.safe_load(mutated(preset, changes))


EXTREME = {
    "1e5 x 1e5 linear stack": _with(
        "mlp-ring8",
        {"generator.layers[1].linear": 100_000, "generator.layers[2].linear": 100_000},
    ),
    "1e6 latent into a conv stack": _with(
        "dcgan-64",
        {
            "generator.latent_dim": 1_000_000,
            "generator.layers[0].reshape": [1_000_000, 1, 1],
            "generator.layers[1].conv_transpose": 4096,
        },
    ),
    "1e6 x 1e6 embedding": _with(
        "mlp-ring8",
        {
            "data.source": {"type": "synthetic"},
            "data.classes": 1_000_000,
            "generator.layers": [{"embedding": 1_000_000, "dim": 1_000_000}, {"linear": 2}],
            "discriminator.layers": [{"embedding": 1_000_000, "dim": 4}, {"linear": 1}],
        },
    ),
    "4096 x 4096 images": _dcgan_64_at_4096(),
    "1e6-channel conv": _with("dcgan-64", {"discriminator.layers[1].conv": 1_000_000}),
}


@pytest.mark.parametrize("case", sorted(EXTREME))
def test_a_network_no_accelerator_holds_is_an_error_found_fast(case: str) -> None:
    """Each of these validated clean and then crashed or pushed the machine into OOM."""
    text = yaml.safe_dump(EXTREME[case], sort_keys=False)
    started = time.perf_counter()
    report = validate_text(text, "extreme.yaml")
    elapsed = time.perf_counter() - started
    found = [d for d in report.diagnostics if d.code == "GS604"]
    assert len(found) == 1, [d.as_text() for d in report.diagnostics]
    assert report.exit_code == 1
    assert f"more than the {LARGEST_DEVICE_GB} GB" in found[0].message
    assert found[0].fix and ("shrink" in found[0].fix or "batch_size" in found[0].fix)
    assert elapsed < 1.0, f"{case}: validate took {elapsed:.2f} s"


def test_the_memory_warning_follows_the_budget_the_spec_states() -> None:
    big = {"generator.layers[1].linear": 30_000, "generator.layers[2].linear": 30_000}
    (warning,) = [d for d in validate_mutation("mlp-ring8", big).diagnostics if d.code == "GS603"]
    needed = int(warning.fix.rsplit("memory_budget: ", 1)[1])  # type: ignore[union-attr]
    assert 16 < needed < LARGEST_DEVICE_GB
    roomy = validate_mutation("mlp-ring8", {**big, "training.memory_budget": float(needed)})
    assert "GS603" not in {d.code for d in roomy.diagnostics}
    tight = validate_mutation("mlp-ring8", {"training.memory_budget": 0.01})
    assert "GS603" in {d.code for d in tight.diagnostics}
    ignored = validate_mutation("mlp-ring8", {**big, "ignore": ["GS303", "GS603"]})
    assert ignored.exit_code == 0 and ignored.ignored["GS603"] == 1


def test_an_in_memory_data_set_over_the_budget_is_a_warning() -> None:
    """sample_images keeps 4,096 uint8 crops: 3 x 1024 x 1024 of them is 12.9 GB."""
    report = validate_mutation("dcgan-64", {"training.memory_budget": 10.0})
    assert "GS603" not in {d.code for d in report.diagnostics}
    data = preset_data("dcgan-64")
    assert data["data"]["source"]["type"] == "sample_images"
    at_1024 = _with("dcgan-64", {"training.memory_budget": 10.0})
    at_1024["data"]["shape"] = {"channels": 3, "height": 1024, "width": 1024}  # type: ignore[index]
    report = validate_text(yaml.safe_dump(at_1024, sort_keys=False), "big-data.yaml")
    found = [d for d in report.diagnostics if d.code == "GS603" and d.path == "data.shape"]
    assert found and "12.9 GB" in found[0].message


# A D layer with BatchNorm on features, scored one pack per forward.
BN1D_PACK = {"discriminator.layers[1].norm": "batch", "data.batch_size": 2}
# G's first BatchNorm on a 1x1 map (a 1x1 kernel keeps the latent's 1x1), with a batch of 1.
BN2D_1X1 = {"data.batch_size": 1, "generator.layers[1].kernel": 1, "generator.layers[1].padding": 0}


@pytest.mark.parametrize(
    ("preset", "changes", "path", "phrase"),
    [
        ("sngan-hinge-32", {"data.batch_size": 1}, "generator.layers[0].norm", "BatchNorm1d"),
        ("mlp-ring8", BN1D_PACK, "discriminator.layers[1].norm", "2 / 2 = 1 pack"),
        (
            "dcgan-digits-32",
            BN2D_1X1,
            "generator.layers[1].norm",
            "BatchNorm2d over 256x1x1",
        ),
        (
            "wgan-gp-64",
            {"discriminator.layers[4].norm": "instance"},
            "discriminator.layers[4].norm",
            "1x1 map",
        ),
        (
            "mlp-ring8",
            {"discriminator.layers[3].norm": "layer"},
            "discriminator.layers[3].norm",
            "single value",
        ),
    ],
)
def test_a_norm_with_nothing_to_normalise_is_an_error(
    preset: str, changes: dict[str, object], path: str, phrase: str
) -> None:
    report = validate_mutation(preset, changes)
    found = [d for d in report.diagnostics if d.code == "GS210" and d.path == path]
    assert found and phrase in found[0].message, [d.as_text() for d in report.diagnostics]
    assert report.exit_code == 1


@pytest.mark.parametrize(
    ("changes", "networks"),
    [
        ({"data.batch_size": 1}, {"generator", "discriminator"}),  # pix2pix's batch of 1
        ({"discriminator.pack": 64}, {"discriminator"}),  # pack == batch_size
    ],
)
def test_batchnorm_over_one_sample_on_a_map_is_a_warning(
    changes: dict[str, object], networks: set[str]
) -> None:
    """PyTorch trains BatchNorm2d on one sample of a map larger than 1x1 (as instance norm):
    a warning that says so, not an error."""
    report = validate_mutation("dcgan-digits-32", changes)
    codes = {d.code for d in report.diagnostics}
    assert "GS210" not in codes and report.exit_code == 0
    found = [d for d in report.diagnostics if d.code == "GS211"]
    assert {d.path.split(".")[0] for d in found} == networks
    assert all(d.severity == "warning" and "instance norm" in d.message for d in found)
    batchnorms = [
        (network, index)
        for network in networks
        for index, layer in enumerate(preset_data("dcgan-digits-32")[network]["layers"])
        if layer.get("norm") == "batch"
    ]
    assert len(found) == len(batchnorms)  # 5 for a batch of 1: every BatchNorm of G and D


def test_batchnorm_with_two_packs_per_forward_is_fine() -> None:
    report = validate_mutation("dcgan-digits-32", {"discriminator.pack": 32})
    assert not {"GS210", "GS211"} & {d.code for d in report.diagnostics}


NORM_CASES = [
    ("dcgan-digits-32", {"data.batch_size": 1}),
    ("dcgan-digits-32", {"discriminator.pack": 64}),
    ("dcgan-digits-32", {"discriminator.pack": 32}),
    ("dcgan-digits-32", BN2D_1X1),
    ("dcgan-digits-32", {**BN2D_1X1, "data.batch_size": 2}),
    ("sngan-hinge-32", {"data.batch_size": 1}),
    ("mlp-ring8", BN1D_PACK),
    ("mlp-ring8", {**BN1D_PACK, "data.batch_size": 4}),
    ("wgan-gp-64", {"discriminator.layers[4].norm": "instance", "data.batch_size": 2}),
    ("wgan-gp-64", {"discriminator.layers[3].norm": "instance", "data.batch_size": 2}),
    ("mlp-ring8", {"discriminator.layers[3].norm": "layer", "data.batch_size": 2}),
    ("mlp-ring8", {"discriminator.layers[2].norm": "layer", "data.batch_size": 2}),
]


def _torch_verdict(norm: nn.Module, batch: int, shape: tuple[int, ...]) -> str:
    """What one training step of the norm does: 'raises', 'constant' (no gradient reaches
    its input) or 'trains'."""
    norm.train()
    x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(0), requires_grad=True)
    try:
        out = norm(x)
    except ValueError:
        return "raises"
    (grad,) = torch.autograd.grad((out * torch.randn_like(out)).sum(), x)
    return "constant" if float(grad.abs().max()) < 1e-4 else "trains"


@pytest.mark.parametrize(("preset", "changes"), NORM_CASES)
def test_norm_rules_agree_with_torch(preset: str, changes: dict[str, object]) -> None:
    """Every norm layer, built from the line the rendered models.py writes and run on the batch one
    forward sees: GS210 where torch raises or passes no gradient, GS211 or nothing where it
    trains (GS211 for BatchNorm over one sample)."""
    report = validate_mutation(preset, changes)
    ctx = report.context
    assert ctx is not None
    codes = {(d.path, d.code) for d in report.diagnostics if d.code in ("GS210", "GS211")}
    traces = {"generator": ctx.generator_trace, "discriminator": ctx.discriminator_trace}
    for network, trace in traces.items():
        layers = getattr(ctx.spec, network).layers
        batch = ctx.forward_batch(network)
        for row in trace.rows:
            layer = layers[row.index]
            if layer.norm == "none":
                continue
            path = f"{network}.layers[{row.index}].norm"
            norm = eval(norm_module(layer, row.out_shape), {"nn": nn})  # models.py's own line
            verdict = _torch_verdict(norm, batch, row.out_shape)
            expected = {
                "raises": "GS210",
                "constant": "GS210",
                "trains": "GS211" if layer.norm == "batch" and batch == 1 else None,
            }[verdict]
            found = {code for where, code in codes if where == path}
            assert found == ({expected} if expected else set()), (path, verdict, found)


@pytest.fixture(scope="module")
def split_indices(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The rendered data.py's own split of a source into training and held-out samples (the
    same function for every source: tests/test_image_data.py)."""
    project = tmp_path_factory.mktemp("split")
    files = render_files(validate_file(SPECS / "dcgan-digits-32.yaml"), set(), project)
    (project / "data.py").write_text(files["data.py"], encoding="utf-8")
    with project_imports(project) as modules:
        yield modules["data"].split_indices


@pytest.mark.parametrize("source", sorted(SOURCE_SIZES))
@pytest.mark.parametrize("holdout", [0.0, 0.0001, 0.2, 0.5])
def test_gs408s_boundary_is_the_rendered_training_set(
    source: str, holdout: float, split_indices: Any
) -> None:
    """The largest batch GS408 lets through is the training set data.py's split_indices
    leaves; one more sample is an error. Computed from the template, so a change to the split
    that the rule does not follow fails here."""
    size = SOURCE_SIZES[source]
    train = len(split_indices(size, {"validation": {"holdout": holdout}, "seed": 0})[0])
    preset = "mlp-ring8" if source in ("ring8", "grid25") else "dcgan-digits-32"
    base = {
        "data.source": {"type": source},
        "validation.holdout": holdout,
        "discriminator.pack": 1,
    }
    fits = validate_mutation(preset, {**base, "data.batch_size": train})
    assert "GS408" not in {d.code for d in fits.diagnostics}
    too_big = validate_mutation(preset, {**base, "data.batch_size": train + 1})
    (found,) = [d for d in too_big.diagnostics if d.code == "GS408"]
    assert f"{train:,} training samples" in found.message
    assert 0 < int(found.fix.removeprefix("batch_size: ")) <= train  # type: ignore[union-attr]


def test_a_run_too_short_for_one_generator_step_is_an_error() -> None:
    """One batch per epoch, five D updates per G update: three epochs never update G."""
    changes = {
        "data.source": {"type": "synthetic"},
        "data.batch_size": 512,  # 921 training samples: one batch per epoch
        "training.d_steps_per_g_step": 5,
        "training.epochs": 4,
    }
    (found,) = [d for d in validate_mutation("mlp-ring8", changes).diagnostics if d.code == "GS409"]
    assert "4 D update(s), fewer than the 5" in found.message
    assert found.fix == "epochs: 5, or d_steps_per_g_step: 4"
    enough = validate_mutation("mlp-ring8", {**changes, "training.epochs": 5})
    assert "GS409" not in {d.code for d in enough.diagnostics}


def test_explain_prints_parameters_and_memory_per_network() -> None:
    report = validate_file(SPECS / "dcgan-64.yaml")
    assert report.context is not None
    text = explain(report.context)
    footprint = report.context.footprint
    assert footprint is not None
    for network in footprint.networks:
        line = next(
            line for line in text.splitlines() if line.strip().startswith(network.name + ":")
        )
        assert f"{network.parameters:,} parameters" in line
        assert format_bytes(network.state_bytes) in line
        assert format_bytes(network.activation_bytes) in line
    assert f"total: {format_bytes(footprint.total_bytes)}" in text


# --- loss names say what G minimises (issue 12, defect 1) ------------------------------------


def test_loss_bce_is_refused_with_both_losses_it_could_mean() -> None:
    """`loss: bce` trained G saturating while nn.BCELoss() code trains it non-saturating: the
    error names both, with what G minimises under each."""
    report = validate_mutation("dcgan-64", {"training.loss": "bce"})
    (found,) = report.diagnostics
    assert (found.code, found.path, report.exit_code) == ("GS104", "training.loss", 1)
    assert found.fix is not None
    assert "loss: nonsaturating (G minimises -log D(G(z))" in found.fix
    assert "loss: minimax (G minimises log(1 - D(G(z)))" in found.fix
    assert "nn.BCELoss()" in found.message


@pytest.mark.parametrize("loss", ["nonsaturating", "minimax"])
def test_either_loss_the_bce_error_names_is_accepted(loss: str) -> None:
    report = validate_mutation("dcgan-64", {"training.loss": loss})
    assert report.exit_code == 0
    assert [d.code for d in report.diagnostics] == (["GS319"] if loss == "minimax" else [])


# --- fixes that work as stated (issue 12, defect 5) ------------------------------------------


@pytest.mark.parametrize("code", ["GS312", "GS314"])
def test_the_probability_to_logits_fix_as_stated_leaves_no_sigmoid_error(code: str) -> None:
    """'output: logits' alone left the final sigmoid: a GS304 error. The fix names the layer
    whose sigmoid goes and the output; applying exactly that is clean of GS304/312/314/316."""
    preset, changes = TRIGGERS[code]
    (found,) = [d for d in validate_mutation(preset, changes).diagnostics if d.code == code]
    assert found.fix is not None
    stated = re.fullmatch(
        r"remove the final sigmoid \((discriminator\.layers\[\d+\]\.act): none\) and set "
        r"(discriminator\.output): logits",
        found.fix,
    )
    assert stated, found.fix
    fixed = {**changes, stated[1]: "none", stated[2]: "logits"}
    codes = {d.code for d in validate_mutation(preset, fixed).diagnostics}
    assert not codes & {"GS304", "GS312", "GS314", "GS316"}, codes


@pytest.mark.parametrize(("written", "suggested"), [(0.9, 0.1), (0.95, 0.05), (0.7, 0.3)])
def test_label_smoothing_written_as_the_real_label_gets_the_amount(
    written: float, suggested: float
) -> None:
    """References write the real label (0.9); ganspec takes the amount off it (0.1)."""
    report = validate_mutation("dcgan-64", {"training.label_smoothing": written})
    (found,) = report.diagnostics
    assert (found.code, found.path) == ("GS104", "training.label_smoothing")
    assert found.fix is not None and found.fix.startswith(f"label_smoothing: {suggested:g} (")
    assert f"makes real targets {written:g}" in found.fix
    fixed = validate_mutation("dcgan-64", {"training.label_smoothing": suggested})
    assert fixed.diagnostics == []
