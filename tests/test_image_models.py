"""The rendered models.py: literal networks whose shape comments are what torch computes.

Each preset's models.py is compared with a reviewed snapshot (a template change shows up as a
diff of real code), run against its own shape comments, and counted against ganspec's
footprint. When a change to the networks' code is intended, regenerate the snapshots:

    GANSPEC_UPDATE_SNAPSHOTS=1 pytest tests/test_image_models.py
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import nn

from ganspec.render.pipeline import render_files
from ganspec.validate import Report, validate_file
from tests.conftest import IMAGE_PRESETS, ROOT, SPECS, validate_mutation
from tests.rendered import check_commented_shapes, commented_shapes
from tests.rendered import rendered_models as models_of

SNAPSHOTS = ROOT / "tests" / "snapshots" / "models"


def models_source(report: Report) -> str:
    return render_files(report, set())["models.py"]


@pytest.fixture
def rendered_models(tmp_path: Path) -> Iterator[Callable[[Report], ModuleType]]:
    """Render a report's project under tmp_path and give its models module."""
    numbers = itertools.count()
    with ExitStack() as stack:

        def load(report: Report) -> ModuleType:
            return stack.enter_context(models_of(report, tmp_path / f"p{next(numbers)}"))

        yield load


def inputs(models: ModuleType, report: Report, n: int = 2) -> dict[str, Any]:
    """Seeded inputs for both networks: z (and labels) for G, a batch of packs for D."""
    ctx = report.context
    assert ctx is not None
    pack = ctx.spec.discriminator.pack
    generator = torch.Generator().manual_seed(0)
    labels = models.sample_labels(n * pack, generator=generator)
    return {
        "z": models.sample_latent(n, generator=generator),
        "g_labels": None if labels is None else labels[:n],
        "x": torch.randn(n * pack, *ctx.data_shape, generator=generator),
        "d_labels": labels,
    }


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_models_py_matches_its_snapshot(preset: str) -> None:
    text = models_source(validate_file(SPECS / f"{preset}.yaml"))
    snapshot = SNAPSHOTS / f"{preset}.py"
    if os.environ.get("GANSPEC_UPDATE_SNAPSHOTS") == "1":
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), "no snapshot yet: run with GANSPEC_UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text(encoding="utf-8"), (
        "models.py changed; if intended, run GANSPEC_UPDATE_SNAPSHOTS=1 pytest "
        "tests/test_image_models.py and commit the snapshots"
    )


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_every_shape_comment_is_what_torch_computes(preset: str, rendered_models: Any) -> None:
    """Each layer's comment in models.py is the per-sample shape its modules produce, the
    last layer of each block has one, and the networks meet the data: G lands on data.shape,
    D gives one score per pack (or the declared patch map)."""
    report = validate_file(SPECS / f"{preset}.yaml")
    models = rendered_models(report)
    given = inputs(models, report)
    generator, discriminator = models.Generator().eval(), models.Discriminator().eval()
    checked = check_commented_shapes(generator, given["z"], given["g_labels"])
    checked += check_commented_shapes(discriminator, given["x"], given["d_labels"])
    ctx = report.context
    assert ctx is not None
    assert checked == len(ctx.generator_trace.rows) + len(ctx.discriminator_trace.rows) - sum(
        1
        for layers in (ctx.spec.generator.layers, ctx.spec.discriminator.layers)
        for layer in layers
        if "embedding" in type(layer).model_fields
    )
    with torch.no_grad():
        fake = generator(given["z"], given["g_labels"])
        scores = discriminator(given["x"], given["d_labels"])
    assert tuple(fake.shape) == (2, *ctx.data_shape)
    assert scores.shape[0] == 2


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_parameters_are_what_the_footprint_counts(preset: str, rendered_models: Any) -> None:
    report = validate_file(SPECS / f"{preset}.yaml")
    models = rendered_models(report)
    assert report.context is not None and report.context.footprint is not None
    built = {"generator": models.Generator(), "discriminator": models.Discriminator()}
    for cost in report.context.footprint.networks:
        assert cost.parameters == sum(p.numel() for p in built[cost.name].parameters())


def test_order_act_norm_puts_the_activation_before_the_norm(rendered_models: Any) -> None:
    """A reference conditional G block: Linear -> LeakyReLU -> BatchNorm1d, as stated by
    ``order: act_norm``; the default keeps DCGAN's norm -> activation."""
    report = validate_mutation(
        "mlp-ring8",
        {
            "generator.layers[0].norm": "batch",
            "generator.layers[0].order": "act_norm",
            "generator.layers[1].norm": "batch",
        },
    )
    assert report.exit_code == 0, [d.as_text() for d in report.diagnostics]
    models = rendered_models(report)
    modules = [type(m).__name__ for m in models.Generator().net]
    assert modules[:6] == ["Linear", "ReLU", "BatchNorm1d", "Linear", "BatchNorm1d", "ReLU"]


def test_order_act_norm_needs_a_norm_and_an_activation() -> None:
    report = validate_mutation("mlp-ring8", {"generator.layers[0].order": "act_norm"})
    [finding] = [d for d in report.diagnostics if d.severity == "error"]
    assert finding.path == "generator.layers[0].order" and "has no norm" in finding.message


@pytest.mark.parametrize("affine", [True, False])
def test_instance_norm_says_whether_it_is_affine(affine: bool, rendered_models: Any) -> None:
    """InstanceNorm2d's own default is affine=False: the render writes the spec's choice."""
    layers: dict[str, Any] = {f"discriminator.layers[{i}].norm": "instance" for i in (1, 2, 3)}
    layers |= {f"discriminator.layers[{i}].affine": affine for i in (1, 2, 3)}
    report = validate_mutation("wgan-gp-64", layers)
    assert report.exit_code == 0
    source = models_source(report)
    assert source.count("nn.InstanceNorm2d(") == source.count(f"affine={affine})") == 3
    norms = rendered_models(report).Discriminator().modules()
    assert [m.affine for m in norms if isinstance(m, nn.InstanceNorm2d)] == [affine] * 3


def test_commented_shapes_counts_entries_ruff_wrapped() -> None:
    source = (
        "class G:\n"
        "    def __init__(self):\n"
        "        self.net = nn.Sequential(\n"
        "            spectral_norm(\n"
        "                nn.Conv2d(3, 64, 4, 2, 1, bias=False)\n"
        "            ),\n"
        "            nn.ReLU(),\n"
        "            # 64 x 16 x 16\n"
        "            nn.Flatten(),\n"
        "            # 16384\n"
        "        )\n"
    )
    assert commented_shapes(source) == {"net": [(2, (64, 16, 16)), (3, (16384,))]}
