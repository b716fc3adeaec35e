"""GS2xx: shape math. Both networks are traced layer by layer with PyTorch's formulas."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from math import prod

from ganspec import shapes
from ganspec.image.context import NETWORKS, ImageContext
from ganspec.rules.registry import Finding, rule
from ganspec.shapes import Fix, Shape, Trace, format_shape, solve
from ganspec.spec.layers import WEIGHTED_OPS, LayerOptions, op_of


def _network(ctx: ImageContext, name: str) -> tuple[list[LayerOptions], Shape, Trace]:
    if name == "generator":
        return ctx.spec.generator.layers, ctx.latent_shape, ctx.generator_trace
    return ctx.spec.discriminator.layers, ctx.discriminator_input, ctx.discriminator_trace


def _fix_text(fixes: list[Fix], landing: str) -> str:
    return " or ".join(fix.text() for fix in fixes) + f" lands on {landing}"


def _fix_path(network: str, fixes: list[Fix]) -> tuple[str | int, ...]:
    names = {name for fix in fixes for name, _ in fix.changes}
    path: tuple[str | int, ...] = (network, "layers", fixes[0].index)
    return (*path, names.pop()) if len(names) == 1 else path


def _trace_problems(ctx: ImageContext, kind: str) -> Iterator[Finding]:
    """Findings for one kind of trace problem, with a fix solved on the network up to that
    layer."""
    for network in NETWORKS:
        layers, input_shape, result = _network(ctx, network)
        for problem in result.problems:
            if problem.kind != kind:
                continue
            fixes = solve(layers[: problem.index + 1], input_shape, lambda _: True)
            fix = None
            if fixes and fixes[0].index == problem.index:
                fix = " or ".join(f.text() for f in fixes)
            path: tuple[str | int, ...] = (network, "layers", problem.index)
            if problem.field:
                path = (*path, problem.field)
            yield Finding(path, problem.message, fix)


def generator_fixes(ctx: ImageContext) -> list[Fix]:
    """Single edits that land the generator on data.shape, scale-keeping ones first."""
    target = ctx.data_shape
    scale = (1, 4, 9, 16, 64)
    return solve(
        ctx.spec.generator.layers,
        ctx.latent_shape,
        lambda shape: shape == target,
        [target[0] * m for m in scale],
        removals=True,
    )


@rule(
    "GS201",
    "generator-shape-mismatch",
    "error",
    summary="The generator does not land exactly on data.shape.",
    why="A ConvTranspose2d stack that ends on 63x63 instead of 64x64 crashes the first "
    "D(fake) call, or worse, trains on resized samples that never match the real ones.",
    example="data: {shape: {channels: 3, height: 64, width: 64}}\n"
    "generator:\n  layers:\n    ...\n    - {conv_transpose: 3, kernel: 3, stride: 2, padding: 1}"
    "  # 32 -> 63",
    fix="Use the computed fix in the message (e.g. kernel=4 or output_padding=1, or removing a "
    "layer too many). Fixes keep every layer's up/downsampling factor, or say which layer they "
    "rescale; `ganspec validate --explain` shows the shape after every layer.",
)
def generator_lands_on_data(ctx: ImageContext) -> Iterator[Finding]:
    out = ctx.generator_trace.output
    target = ctx.data_shape
    if out is None or out == target:
        return
    layers = ctx.spec.generator.layers
    last = (len(layers) - 1,)
    message = (
        f"the generator ends on {format_shape(out)} (after layers[{last[0]}]), data is "
        f"{format_shape(target)}"
    )
    fixes = generator_fixes(ctx)
    if fixes:
        yield Finding(
            _fix_path("generator", fixes),
            message,
            _fix_text(fixes, format_shape(target)),
        )
    elif len(out) != len(target):
        yield Finding(
            ("generator", "layers", *last), message, "end with a reshape to the data shape"
        )
    else:
        yield Finding(("generator", "layers", *last), message)


@rule(
    "GS202",
    "size-not-positive",
    "error",
    summary="A layer would produce an empty output: its kernel is larger than its padded input, "
    "or padding makes the output size zero or negative.",
    why="PyTorch raises at the first forward pass, usually deep into a training launch.",
    example="- {conv: 512, kernel: 4, stride: 2, padding: 1}   # on a 2x2 input\n"
    "- {conv: 1, kernel: 4}                            # 1x1 input: kernel 4 > 1",
    fix="Reduce the kernel or add padding at the named layer, or remove a downsampling layer.",
)
def sizes_positive(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.EMPTY)


@rule(
    "GS203",
    "fractional-size",
    "error",
    summary="A strided conv or pool never reads the last rows of its real input: the "
    "size formula has a remainder larger than the padding.",
    why="PyTorch floors the output size and silently drops those rows, so the network never "
    "sees part of every image and the shapes you planned are off by one downstream.",
    example="- {conv: 64, kernel: 4, stride: 2, padding: 0}   # on 7x7: rows 7 is never read",
    fix="Change padding or kernel at the named layer (the message gives one that covers every "
    "row), or make the input size divisible by the stride.",
)
def sizes_integral(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.FRACTIONAL)


@rule(
    "GS204",
    "rank-mismatch",
    "error",
    summary="An op receives the wrong kind of tensor: a conv on a feature vector, a linear "
    "layer on a C x H x W map, instance norm on features.",
    why="PyTorch either raises or, for linear on images, silently mixes only the last axis.",
    example="- {linear: 1024}\n- {conv_transpose: 256, kernel: 4}   # input is still a vector",
    fix="Insert {reshape: [C, H, W]} before convolutions and {flatten: true} before linear layers.",
)
def ranks_match(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.WRONG_RANK)


@rule(
    "GS205",
    "reshape-size",
    "error",
    summary="A reshape's target does not hold the same number of values as its input.",
    why="view() raises at run time; a wrong reshape that happens to fit would scramble "
    "channels and space.",
    example="- {linear: 8192}\n- {reshape: [512, 4, 8]}   # 16384 values, input has 8192",
    fix="Make the product of the reshape target equal the previous layer's output size.",
)
def reshapes_fit(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.BAD_RESHAPE)


@rule(
    "GS206",
    "discriminator-output",
    "error",
    summary="The discriminator does not reduce its input to one value per sample (1 or "
    "1x1x1), nor to the patch map it declares.",
    why="Losses compare D's output with one label per sample; a 2x2 map broadcast against "
    "labels trains on the wrong targets or raises.",
    example="discriminator:\n  layers:\n    ...\n    - {conv: 1, kernel: 3, stride: 1, padding: 0}"
    "   # 4x4 -> 2x2",
    fix="Use the computed kernel/padding so the last layer ends on 1x1, add {flatten: true} "
    "and a {linear: 1}, or declare `patch: [H, W]` for a patch discriminator.",
)
def discriminator_reduces(ctx: ImageContext) -> Iterator[Finding]:
    out = ctx.discriminator_trace.output
    if out is None:
        return
    patch = ctx.spec.discriminator.patch
    accept: Callable[[Shape], bool]
    if patch is not None:
        wanted = f"the declared patch map 1x{patch[0]}x{patch[1]}"

        def accept(shape: Shape) -> bool:
            return shape == (1, *patch)
    else:
        wanted = "one value per sample (1 or 1x1x1)"

        def accept(shape: Shape) -> bool:
            return shape in ((1,), (1, 1, 1))

    if accept(out):
        return
    layers = ctx.spec.discriminator.layers
    rows = ctx.discriminator_trace.rows
    ending = format_shape(out)
    if rows and rows[-1].op == "flatten":
        ending = f"{format_shape(rows[-1].in_shape)} (flattened to {out[0]})"
    message = (
        f"the discriminator ends on {ending} (after layers[{len(layers) - 1}]); it must output "
        f"{wanted}"
    )
    fixes = solve(layers, ctx.discriminator_input, accept, [1], removals=True)
    if fixes:
        fix = _fix_text(fixes, "1")
        if patch is None and len(out) == 3 and out[0] == 1:
            fix += f", or declare patch: [{out[1]}, {out[2]}]"
        yield Finding(_fix_path("discriminator", fixes), message, fix)
    else:
        yield Finding(("discriminator", "layers", len(layers) - 1), message)


@rule(
    "GS207",
    "channel-divisibility",
    "error",
    summary="Channels do not divide: grouped convolutions need both channel counts divisible by "
    "groups, pixel_shuffle needs channels divisible by factor^2.",
    why="PyTorch raises when the module is built or first called.",
    example="- {conv_transpose: 100, kernel: 3, padding: 1}\n- {pixel_shuffle: 2}   # 100 % 4 != 0",
    fix="Choose channel counts that are multiples of groups (or of factor^2 before pixel_shuffle).",
)
def channels_divide(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.DIVISIBILITY)


@rule(
    "GS208",
    "pytorch-rejects-parameters",
    "error",
    summary="Parameters PyTorch refuses outright: output_padding not smaller than stride or "
    "dilation, or pool padding larger than half the kernel.",
    why="The module raises at construction or on the first batch.",
    example="- {conv_transpose: 64, kernel: 4, stride: 1, output_padding: 1}",
    fix="Keep output_padding < stride (or dilation) and pool padding <= kernel // 2.",
)
def parameters_accepted(ctx: ImageContext) -> Iterator[Finding]:
    yield from _trace_problems(ctx, shapes.REJECTED)


@rule(
    "GS209",
    "spectral-norm-without-weights",
    "error",
    summary="spectral_norm is set on a layer that has no weight matrix (pooling, reshape, "
    "upsample, ...).",
    why="torch.nn.utils.parametrizations.spectral_norm raises for modules without a weight, "
    "so the rendered project applies it to weighted layers only: set on another layer, it is "
    "silently ignored, and the layer you meant to constrain is not.",
    example="- {avg_pool: 2, spectral_norm: true}",
    fix="Set spectral_norm on linear, conv, conv_transpose or embedding layers only.",
)
def spectral_norm_on_weights(ctx: ImageContext) -> Iterator[Finding]:
    for network in NETWORKS:
        layers, _, _ = _network(ctx, network)
        for index, layer in enumerate(layers):
            if layer.spectral_norm and op_of(layer) not in WEIGHTED_OPS:
                yield Finding(
                    (network, "layers", index, "spectral_norm"),
                    f"{op_of(layer)} has no weights to normalise",
                    "remove spectral_norm from this layer",
                )


def _one_sample_batch(ctx: ImageContext, network: str) -> tuple[str, str]:
    """How a network comes to see one sample per forward, and the fix for it."""
    if network == "generator":
        return "G makes a batch of 1 sample", "data.batch_size: 2 or more"
    pack = ctx.spec.discriminator.pack
    seen = f"D scores batch_size / pack = {ctx.spec.data.batch_size} / {pack} = 1 pack per forward"
    smaller = ", a smaller pack" if pack > 1 else ""
    return seen, f"data.batch_size: {2 * pack}{smaller}"


def _norm_problem(
    ctx: ImageContext, network: str, norm: str, out: Shape
) -> tuple[str, str, str] | None:
    """(code, what is wrong, fix) for a norm that sees too few values, else None.

    GS210 where PyTorch raises in training (checked against torch: BatchNorm with one value
    per channel, InstanceNorm on one spatial element) or the output is a constant (a norm
    over one value); GS211 where BatchNorm over one sample trains, as instance norm does.
    """
    image = len(out) == 3
    spatial = prod(out[1:]) if image else 1
    if norm == "batch":
        if ctx.forward_batch(network) > 1:
            return None
        seen, fix = _one_sample_batch(ctx, network)
        if spatial == 1:
            kind = "BatchNorm2d" if image else "BatchNorm1d"
            return (
                "GS210",
                f"{kind} over {format_shape(out)} with one sample per batch: {seen}, so each "
                "channel has 1 value and PyTorch raises 'Expected more than 1 value per "
                "channel when training'",
                f"{fix}, or norm: layer",
            )
        return (
            "GS211",
            f"BatchNorm over {format_shape(out)} with one sample per batch: {seen}; it "
            "normalises each sample by its own statistics in training (instance norm) and by "
            "running averages at eval, so the network samples with other statistics than it "
            "trained with",
            f"{fix}, or norm: instance (what it does now, at eval too)",
        )
    if norm == "instance" and image and spatial == 1:
        return (
            "GS210",
            f"InstanceNorm on a {out[1]}x{out[2]} map: each channel has 1 value, and PyTorch "
            "raises 'Expected more than 1 spatial element when training'",
            "norm: none",
        )
    if norm == "layer" and prod(out) == 1:
        return (
            "GS210",
            f"layer norm over {format_shape(out)}: a single value normalises to 0, so the "
            "output is always the norm's bias and nothing before it gets a gradient",
            "norm: none",
        )
    return None


def _norm_findings(ctx: ImageContext, code: str) -> Iterator[Finding]:
    for network in NETWORKS:
        layers, _, result = _network(ctx, network)
        for row in result.rows:
            norm = layers[row.index].norm
            found = _norm_problem(ctx, network, norm, row.out_shape) if norm != "none" else None
            if found and found[0] == code:
                yield Finding((network, "layers", row.index, "norm"), found[1], found[2])


@rule(
    "GS210",
    "norm-without-values",
    "error",
    summary="A norm has nothing to normalise over: BatchNorm with one value per channel (one "
    "sample per forward on a 1x1 map or on features: G's batch of 1, or D's batch_size / "
    "pack = 1), InstanceNorm on a 1x1 map, layer norm over a single value.",
    why="BatchNorm and InstanceNorm raise at the first training step ('Expected more than 1 "
    "value per channel', 'Expected more than 1 spatial element'); a norm over one value "
    "outputs a constant, so nothing before it learns.",
    example="data: {batch_size: 64}\ndiscriminator:\n  pack: 64\n  layers:\n    ...\n"
    "    - {flatten: true}\n    - {linear: 256, norm: batch}   # BatchNorm1d on (1, 256)",
    fix="A batch of at least two samples (two packs for D), or another norm at that layer "
    "(the message names one).",
)
def norms_have_values(ctx: ImageContext) -> Iterator[Finding]:
    yield from _norm_findings(ctx, "GS210")


@rule(
    "GS211",
    "batchnorm-over-one-sample",
    "warning",
    summary="BatchNorm over one sample per forward on a map larger than 1x1 (G's batch of 1, "
    "or D's batch_size / pack = 1): it acts as instance norm.",
    why="PyTorch trains it (pix2pix does, with a batch of 1), but each sample is normalised "
    "by its own statistics while training and by running averages at eval, so the network "
    "samples as another function than it trained as, and D learns nothing across samples.",
    example="data: {batch_size: 64}\ndiscriminator:\n  pack: 64\n  layers:\n"
    "    - {conv: 128, kernel: 4, stride: 2, padding: 1, norm: batch}",
    fix="A batch of at least two samples (two packs for D), or norm: instance, which does the "
    "same in training and at eval.",
)
def batchnorm_over_one_sample(ctx: ImageContext) -> Iterator[Finding]:
    yield from _norm_findings(ctx, "GS211")
