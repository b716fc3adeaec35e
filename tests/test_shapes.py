"""Shape traces through whole networks, and the fixes the solver proposes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from torch import nn

from ganspec import shapes
from ganspec.footprint import FLOAT
from ganspec.image.context import ImageContext
from ganspec.rules.shape_rules import generator_fixes
from ganspec.shapes import Fix, format_shape, solve, trace
from ganspec.spec.image import ImageSpec
from ganspec.spec.layers import Layer
from ganspec.validate import validate_file, validate_text
from tests.conftest import IMAGE_PRESETS, SPECS, preset_data
from tests.rendered import rendered_models

LAYERS = TypeAdapter(list[Layer])


def layers(*raw: dict[str, Any]) -> list[Any]:
    return LAYERS.validate_python(list(raw))


@pytest.mark.parametrize("name", IMAGE_PRESETS)
def test_presets_land_on_data_and_reduce_to_one_value(name: str) -> None:
    context = ImageContext(ImageSpec.model_validate(preset_data(name)))
    assert context.generator_trace.output == context.data_shape
    assert context.discriminator_trace.output in ((1,), (1, 1, 1))


def test_pack_multiplies_the_discriminator_input() -> None:
    context = ImageContext(ImageSpec.model_validate(preset_data("mlp-ring8")))  # pack 2
    assert context.discriminator_input == (4,)


def test_embedding_concatenates_features_or_channels() -> None:
    assert trace(layers({"embedding": 10, "dim": 50}), (100,)).output == (150,)
    assert trace(layers({"embedding": 10, "dim": 3}), (1, 32, 32)).output == (4, 32, 32)


def test_solver_finds_the_kernel_and_output_padding_that_land_on_64() -> None:
    net = layers(
        {"reshape": [100, 1, 1]},
        {"conv_transpose": 64, "kernel": 4},
        {"conv_transpose": 32, "kernel": 4, "stride": 2, "padding": 1},
        {"conv_transpose": 16, "kernel": 4, "stride": 2, "padding": 1},
        {"conv_transpose": 3, "kernel": 3, "stride": 2, "padding": 1},
    )
    assert trace(net, (100,)).output == (3, 31, 31)
    net[1] = LAYERS.validate_python([{"conv_transpose": 64, "kernel": 4}])[0]
    target = (3, 32, 32)
    fixes = solve(net, (100,), lambda shape: shape == target)
    texts = {fix.text() for fix in fixes}
    assert {"kernel=4", "output_padding=1"} <= texts
    assert all(fix.index == 4 for fix in fixes)


def _factors(rows: list[Any]) -> list[tuple[str, int] | None]:
    """Each layer's spatial up/down factor, out/in rounded half up (32 -> 63 is x2)."""

    def factor(a: int, b: int) -> tuple[str, int]:
        return ("x", int(b / a + 0.5)) if b >= a else ("/", int(a / b + 0.5))

    return [
        factor(row.in_shape[1], row.out_shape[1])
        if len(row.in_shape) == len(row.out_shape) == 3
        else None
        for row in rows
    ]


def _dcgan_64_with_one_upsampling_layer_too_many() -> dict[str, Any]:
    data = preset_data("dcgan-64")
    layers = data["generator"]["layers"]
    layers.insert(4, dict(layers[4]))  # 32x32 -> 64x64 twice: G ends on 3x128x128
    return data


def test_fix_for_a_layer_too_many_never_turns_an_upsampling_layer_into_a_1_to_1_one() -> None:
    """The old search proposed padding=5 at layers[3]: 8x8 -> 16x16 became 8x8 -> 8x8."""
    context = ImageContext(ImageSpec.model_validate(_dcgan_64_with_one_upsampling_layer_too_many()))
    assert context.generator_trace.output == (3, 128, 128)
    fixes = generator_fixes(context)
    assert fixes, "no fix found"
    assert all(("padding", 5) not in fix.changes for fix in fixes)
    assert fixes[0].text() == "remove layers[5] (32x32 -> 64x64)"
    assert all(not fix.rescales for fix in fixes)


def test_a_fix_that_must_rescale_a_layer_says_which_and_how() -> None:
    """No edit keeps every scale here (the last layer should upsample and does not), so the
    fix may rescale it, and must say so."""
    net = layers(
        {"reshape": [8, 1, 1]},
        {"conv_transpose": 8, "kernel": 4},
        {"conv_transpose": 3, "kernel": 2},  # 4x4 -> 5x5, data is 8x8
    )
    [fix, *_] = solve(net, (8,), lambda shape: shape == (3, 8, 8))
    assert fix.changes == (("stride", 2),)
    assert [(r.index, r.before, r.after) for r in fix.rescales] == [(2, "4x4 -> 5x5", "4x4 -> 8x8")]
    assert (
        fix.text()
        == "stride=2 (changes the scale: layers[2] then maps 4x4 -> 8x8 instead of 4x4 -> 5x5)"
    )


def _breaks(layers: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Ways people break a working generator: a layer too many, a kernel or padding off by one."""
    spatial = [i for i, layer in enumerate(layers) if "conv_transpose" in layer or "conv" in layer]
    upsampling = [i for i in spatial if layers[i].get("stride", 1) > 1]
    if upsampling:
        doubled = [dict(layer) for layer in layers]
        doubled.insert(upsampling[0], dict(layers[upsampling[0]]))
        yield "an upsampling layer too many", doubled
    for i in spatial:
        for name, step in (("kernel", -1), ("padding", 1)):
            changed = [dict(layer) for layer in layers]
            changed[i][name] = changed[i].get(name, 0) + step
            if changed[i][name] > 0:
                yield f"layers[{i}].{name} {step:+d}", changed


def _applied(layers: list[dict[str, Any]], fix: Fix) -> list[dict[str, Any]]:
    fixed = [dict(layer) for layer in layers]
    if fix.removed is not None:
        del fixed[fix.index]
    else:
        fixed[fix.index].update(dict(fix.changes))
    return fixed


@pytest.mark.parametrize(
    "name", ["dcgan-64", "dcgan-digits-32", "cgan-digits-32", "sngan-hinge-32"]
)
def test_every_proposed_generator_fix_validates_clean_and_keeps_or_names_each_scale(
    name: str,
) -> None:
    """Applied as proposed, a GS201 fix leaves a clean spec, and every layer keeps its
    up/downsampling factor unless the fix names that layer as rescaled."""
    checked = 0
    for how, broken in _breaks(preset_data(name)["generator"]["layers"]):
        data = preset_data(name)
        data["generator"]["layers"] = broken
        context = ImageContext(ImageSpec.model_validate(data))
        if context.generator_trace.output in (None, context.data_shape):
            continue  # not a GS201 case (another rule reports it, or it still lands)
        before = _factors(context.generator_trace.rows)
        for fix in generator_fixes(context):
            data["generator"]["layers"] = _applied(broken, fix)
            report = validate_text(yaml.safe_dump(data, sort_keys=False), f"{name}.yaml")
            assert report.errors == 0, f"{how}: {fix.text()}: {report.diagnostics}"
            after = _factors(ImageContext(ImageSpec.model_validate(data)).generator_trace.rows)
            if fix.removed is not None:
                after.insert(fix.index, before[fix.index])
            changed = {
                i for i, pair in enumerate(zip(before, after, strict=True)) if len(set(pair)) > 1
            }
            assert changed == {r.index for r in fix.rescales}, f"{how}: {fix.text()}"
            assert all(f"layers[{i}] then maps" in fix.text() for i in changed)
            checked += 1
    assert checked >= 3


NORM_MODULES = {
    "batch": (nn.BatchNorm2d, nn.BatchNorm1d),
    "instance": (nn.InstanceNorm2d,),
    "layer": (nn.GroupNorm, nn.LayerNorm),
}


@pytest.mark.parametrize("affine", [None, True, False])
@pytest.mark.parametrize(
    ("preset", "norm"),
    [
        ("wgan-gp-64", "instance"),
        ("wgan-gp-64", "layer"),
        ("dcgan-64", "batch"),
        ("mlp-ring8", "layer"),
        ("mlp-ring8", "batch"),
    ],
)
def test_affine_is_what_the_spec_says_in_the_built_norms_and_the_parameter_count(
    preset: str, norm: str, affine: bool | None, tmp_path: Path
) -> None:
    """`affine: false` builds the bare norm (InstanceNorm2d's own default, as WGAN critics use
    it) and counts no scale and shift; left out, norms learn them as before."""
    data = preset_data(preset)
    normed = [layer for layer in data["discriminator"]["layers"] if "flatten" not in layer][1:-1]
    for layer in normed:
        layer["norm"] = norm
        if affine is not None:
            layer["affine"] = affine
    report = validate_text(yaml.safe_dump(data, sort_keys=False), f"{preset}.yaml")
    assert report.errors == 0, [d.as_text() for d in report.diagnostics]
    assert report.spec is not None and report.context is not None
    assert report.context.footprint is not None
    with rendered_models(report, tmp_path) as models:
        discriminator = models.Discriminator()
    norms = [m for m in discriminator.modules() if isinstance(m, NORM_MODULES[norm])]
    assert len(norms) == len(normed)
    learnt = [getattr(m, "affine", getattr(m, "elementwise_affine", None)) for m in norms]
    assert learnt == [affine is not False] * len(norms)
    [cost] = [c for c in report.context.footprint.networks if c.name == "discriminator"]
    assert cost.parameters == sum(p.numel() for p in discriminator.parameters())


def test_affine_false_without_a_norm_is_an_error_at_affine() -> None:
    data = preset_data("wgan-gp-64")
    data["discriminator"]["layers"][0]["affine"] = False  # the first conv has no norm
    report = validate_text(yaml.safe_dump(data, sort_keys=False), "wgan.yaml")
    [finding] = report.diagnostics
    assert finding.path == "discriminator.layers[0].affine" and "has no norm" in finding.message


def test_fatal_problem_stops_the_trace_at_its_layer() -> None:
    result = trace(layers({"conv": 8, "kernel": 5}, {"flatten": True}), (1, 3, 3))
    assert result.output is None
    [problem] = result.problems
    assert (problem.index, problem.kind) == (0, shapes.EMPTY)


def test_fractional_size_is_recorded_but_the_trace_goes_on() -> None:
    result = trace(layers({"conv": 8, "kernel": 4, "stride": 2}, {"flatten": True}), (1, 7, 7))
    assert result.output == (8 * 2 * 2,)
    assert [p.kind for p in result.problems] == [shapes.FRACTIONAL]
    assert format_shape(result.rows[0].out_shape) == "8x2x2"


# --- whole random networks against torch ---------------------------------------------------

_small = st.integers(min_value=1, max_value=4)


@st.composite
def random_layer(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(
        st.sampled_from(
            [
                "conv",
                "conv_transpose",
                "max_pool",
                "avg_pool",
                "upsample",
                "pixel_shuffle",
                "flatten",
                "linear",
                "reshape",
                "global_avg_pool",
            ]
        )
    )
    if op == "conv":
        return {
            "conv": draw(_small),
            "kernel": draw(_small),
            "stride": draw(_small),
            "padding": draw(st.integers(0, 2)),
            "dilation": draw(st.integers(1, 2)),
        }
    if op == "conv_transpose":
        stride = draw(_small)
        return {
            "conv_transpose": draw(_small),
            "kernel": draw(_small),
            "stride": stride,
            "padding": draw(st.integers(0, 2)),
            "output_padding": draw(st.integers(0, 2)),
        }
    if op in ("max_pool", "avg_pool"):
        return {
            op: draw(st.integers(1, 3)),
            "padding": draw(st.integers(0, 1)),
            "ceil_mode": draw(st.booleans()),
        }
    if op == "upsample":
        return {"upsample": draw(st.sampled_from([1.0, 2.0, 1.5, 0.5]))}
    if op == "pixel_shuffle":
        return {"pixel_shuffle": draw(st.integers(1, 2))}
    if op == "linear":
        return {"linear": draw(st.integers(1, 64))}
    if op == "reshape":
        return {"reshape": draw(st.sampled_from([[4, 2, 2], [16], [1, 4, 4], [2, 3, 3]]))}
    return {op: True}


def torch_module(layer: dict[str, Any], x: torch.Tensor) -> nn.Module | None:
    """The torch module a layer means, for input x; None when the op cannot take x's rank."""
    op = next(iter(layer))
    image = x.dim() == 4
    if op == "conv" and image:
        return nn.Conv2d(
            x.shape[1],
            layer["conv"],
            layer["kernel"],
            layer["stride"],
            layer["padding"],
            layer["dilation"],
        )
    if op == "conv_transpose" and image:
        return nn.ConvTranspose2d(
            x.shape[1],
            layer["conv_transpose"],
            layer["kernel"],
            layer["stride"],
            layer["padding"],
            layer["output_padding"],
        )
    if op == "max_pool" and image:
        return nn.MaxPool2d(
            layer["max_pool"], padding=layer["padding"], ceil_mode=layer["ceil_mode"]
        )
    if op == "avg_pool" and image:
        return nn.AvgPool2d(
            layer["avg_pool"], padding=layer["padding"], ceil_mode=layer["ceil_mode"]
        )
    if op == "upsample" and image:
        return nn.Upsample(scale_factor=layer["upsample"])
    if op == "pixel_shuffle" and image:
        return nn.PixelShuffle(layer["pixel_shuffle"])
    if op == "flatten" and image:
        return nn.Flatten()
    if op == "global_avg_pool" and image:
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if op == "linear" and not image:
        return nn.Linear(x.shape[1], layer["linear"])
    if op == "reshape":
        return (
            nn.Unflatten(1, layer["reshape"])
            if not image
            else nn.Sequential(nn.Flatten(), nn.Unflatten(1, layer["reshape"]))
        )
    return None


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    raw=st.lists(random_layer(), min_size=1, max_size=5),
    start=st.sampled_from([(3, 8, 8), (2, 5, 7), (16,), (1, 12, 12)]),
)
def test_trace_matches_torch_on_random_networks(raw: list[dict[str, Any]], start: tuple) -> None:
    result = trace(LAYERS.validate_python(raw), start)
    fatal = next((p for p in result.problems if p.fatal), None)
    x = torch.zeros(1, *start)
    with torch.no_grad():
        for index, layer in enumerate(raw):
            module = torch_module(layer, x)
            if module is None:
                assert fatal is not None and (fatal.index, fatal.kind) == (index, shapes.WRONG_RANK)
                return
            try:
                x = module(x)
                if x.numel() == 0:
                    raise RuntimeError("empty output")
            except (RuntimeError, ValueError):
                assert fatal is not None and fatal.index == index, (index, layer, result)
                return
            assert fatal is None or fatal.index > index, (index, layer, fatal)
    assert fatal is None
    assert result.output == tuple(x.shape[1:])


# --- the memory estimate, against the networks the project builds ---------------------------


def _saved_bytes(net: nn.Module, *inputs: torch.Tensor | None) -> int:
    """Bytes of the tensors autograd keeps for backward in one forward (weights excluded)."""
    weights = {p.data_ptr() for p in net.parameters()}
    saved: dict[int, int] = {}

    def keep(t: torch.Tensor) -> torch.Tensor:
        if t.data_ptr() not in weights:
            saved[t.data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(keep, lambda t: t):
        net(*inputs)
    return sum(saved.values())


@pytest.mark.parametrize("name", IMAGE_PRESETS)
def test_footprint_counts_the_parameters_torch_builds_and_bounds_what_autograd_saves(
    name: str, tmp_path: Path
) -> None:
    """Parameters exactly; activations from 0.9x (per-channel statistics it leaves out) to 2x
    (outputs autograd does not keep) of what one forward saves."""
    report = validate_file(SPECS / f"{name}.yaml")
    assert report.spec is not None and report.context is not None
    footprint = report.context.footprint
    assert footprint is not None
    batch = 4
    with rendered_models(report, tmp_path) as models:
        torch.manual_seed(0)
        generator, discriminator = models.Generator(), models.Discriminator()
        pack = report.spec.discriminator.pack
        labels = torch.zeros(batch * pack, dtype=torch.long) if report.spec.data.classes else None
        z = torch.randn(batch, report.spec.generator.latent_dim, requires_grad=True)
        x = torch.randn(batch * pack, *report.context.data_shape, requires_grad=True)
        measured = {
            "generator": _saved_bytes(generator, z, None if labels is None else labels[:batch]),
            "discriminator": _saved_bytes(discriminator, x, labels),
        }
        built = {"generator": generator, "discriminator": discriminator}
    for cost in footprint.networks:
        assert cost.parameters == sum(p.numel() for p in built[cost.name].parameters())
        values = cost.input_values + sum(layer.values for layer in cost.layers)
        weights = sum(layer.normalised_weights for layer in cost.layers)
        estimate = (batch * values + weights) * FLOAT
        assert 0.9 * measured[cost.name] <= estimate <= 2 * measured[cost.name], cost.name
