"""GS8xx: super-resolution. The weights are the release's, the numbers are ones the model and
the device can run, and the output format can hold what comes out."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec.footprint import GB, LARGEST_DEVICE_GB, format_bytes
from ganspec.rules.registry import SUPERRES, Finding, rule
from ganspec.superres.context import (
    SuperresContext,
    WeightsFinding,
    cpu_has_bf16,
    physical_memory,
)
from ganspec.superres.memory import megapixel_memory, tile_memory
from ganspec.superres.releases import DENOISABLE

DEFAULT_DEVICE_BUDGET_GB = 8  # a common consumer GPU; the spec's memory_budget_gb says yours
EIGHT_BIT_FORMATS = ("jpg", "webp")  # OpenCV writes both with 8 bits per channel only


def _weights_files(ctx: SuperresContext) -> Iterator[tuple[tuple[str, ...], WeightsFinding]]:
    """Each weights file the spec reads, with where to point a finding: the key when the spec
    writes it, else ``model`` (a default path has no line of its own)."""
    yield ("model", "weights") if ctx.spec.model.weights else ("model",), ctx.weights
    if ctx.weak_denoise is not None:
        yield ("model", "weak_denoise_weights"), ctx.weak_denoise


@rule(
    "GS801",
    "weights-file-absent",
    "warning",
    summary="The weights file the spec names is not there (yet).",
    why="The rendered project refuses to upscale without the release file (it never downloads "
    "anything, and it never runs random weights unless told to with --random-weights). You may "
    "fetch the file after rendering; validate says where from.",
    example="model: {name: realesr-general-x4v3, weights: weights/realesr-general-x4v3.pth}",
    fix="Download the release file to the path the message names.",
    kinds=SUPERRES,
)
def weights_present(ctx: SuperresContext) -> Iterator[Finding]:
    for path, found in _weights_files(ctx):
        if not found.exists:
            yield Finding(
                path,
                f"{found.spec_path} is not there: the project needs {found.release.filename} "
                f"({found.release.size:,} bytes) before it upscales anything",
                f"download {found.release.url} to {found.path}",
            )


@rule(
    "GS802",
    "weights-not-the-release",
    "error",
    summary="The weights file is there but its size or sha256 is not the release's: truncated, "
    "another model's file, or altered.",
    why="A truncated download fails deep inside torch.load; another model's file fails a strict "
    "load with a wall of key names, or worse, loads into the same architecture and upscales "
    "with the wrong weights (x4plus and x2plus differ in one tensor). A hash checked before "
    "loading catches all three with one clear line.",
    example="model: {name: RealESRGAN_x4plus, weights: weights/RealESRGAN_x4plus_anime_6B.pth}",
    fix="Download the release file again, or name the model the file belongs to.",
    kinds=SUPERRES,
)
def weights_are_the_release(ctx: SuperresContext) -> Iterator[Finding]:
    for path, found in _weights_files(ctx):
        if found.exists and found.problem is not None:
            yield Finding(
                path,
                f"{found.spec_path} {found.problem}: it is not {found.release.filename}",
                f"download {found.release.url} again to {found.path}",
            )


@rule(
    "GS803",
    "denoise-strength-needs-general-x4v3",
    "error",
    summary="model.denoise_strength (or weak_denoise_weights) is set for a model other than "
    "realesr-general-x4v3.",
    why="Only realesr-general-x4v3 has a weak-denoise twin to blend with; upstream silently "
    "ignores the strength for every other model, so the setting would do nothing.",
    example="model: {name: RealESRGAN_x4plus, denoise_strength: 0.5}",
    fix="Remove denoise_strength, or use realesr-general-x4v3.",
    kinds=SUPERRES,
)
def denoise_only_for_general(ctx: SuperresContext) -> Iterator[Finding]:
    model = ctx.spec.model
    if model.name == DENOISABLE:
        if model.weak_denoise_weights is not None and model.denoise_strength is None:
            yield Finding(
                ("model", "weak_denoise_weights"),
                "weak_denoise_weights is read only with a denoise_strength",
                "denoise_strength: 0.5, or remove weak_denoise_weights",
            )
        return
    for key in ("denoise_strength", "weak_denoise_weights"):
        if getattr(model, key) is not None:
            yield Finding(
                ("model", key),
                f"{key} applies to realesr-general-x4v3 only, not {model.name}",
                f"remove {key}",
            )


@rule(
    "GS804",
    "tile-numbers",
    "error",
    summary="inference.tile_pad or tile_overlap is not smaller than the tile.",
    why="Padding at least as wide as the tile spends most of each pass on context that is "
    "thrown away; an overlap as wide as the tile never advances. (Odd numbers for "
    "RealESRGAN_x2plus are fine: tiles.py rounds the tile and its context up to the 2x2 fold.)",
    example="inference: {tile: 64, tile_pad: 64}",
    fix="A tile_pad and tile_overlap below the tile (the message computes values).",
    kinds=SUPERRES,
)
def tile_numbers(ctx: SuperresContext) -> Iterator[Finding]:
    inference = ctx.spec.inference
    tile = inference.tile
    if tile == 0:
        return
    at = ("inference",)
    if inference.tile_pad >= tile:
        yield Finding(
            (*at, "tile_pad"),
            f"tile_pad {inference.tile_pad} is not smaller than tile {tile}",
            f"tile_pad: {max(tile // 8, 2)}",
        )
    if inference.tile_overlap >= tile:
        yield Finding(
            (*at, "tile_overlap"),
            f"tile_overlap {inference.tile_overlap} is not smaller than tile {tile}: tiles "
            "would never advance",
            f"tile_overlap: {max(tile // 8, 2)}",
        )


@rule(
    "GS805",
    "precision-the-device-cannot-run",
    "error",
    summary="A half precision the rendered project refuses on the device: fp16 on the CPU or "
    "MPS, bf16 on MPS.",
    why="PyTorch's CPU kernels for half-precision convolutions are missing or emulated: fp16 "
    "on a CPU is several times slower than fp32 (14x for general-x4v3, measured), when it runs "
    "at all; half precision on Apple's MPS is untested here. upscale.py refuses them rather "
    "than run slower or wrong.",
    example="inference: {device: cpu, precision: fp16}",
    fix="precision: fp32 (half precision on a CUDA device).",
    kinds=SUPERRES,
)
def precision_runs(ctx: SuperresContext) -> Iterator[Finding]:
    inference = ctx.spec.inference
    refused = (inference.precision == "fp16" and inference.device in ("cpu", "mps")) or (
        inference.precision == "bf16" and inference.device == "mps"
    )
    if refused:
        yield Finding(
            ("inference", "precision"),
            f"upscale.py refuses {inference.precision} on {inference.device}: slower than fp32 "
            "or untested there",
            "precision: fp32",
        )


@rule(
    "GS806",
    "precision-may-not-run",
    "warning",
    summary="A half precision that depends on the machine: bf16 on the CPU (fast only with "
    "AVX512-BF16 or AMX), or fp16/bf16 with device auto (a machine without a GPU falls back to "
    "the CPU).",
    why="Without native bf16 instructions the CPU emulates bf16, 11x slower than fp32 "
    "(measured), and upscale.py refuses it; with device auto the spec does not say whether a "
    "GPU will be there. validate reads this machine's CPU flags (Linux) to say which it is.",
    example="inference: {device: auto, precision: fp16}",
    fix="device: cuda for half precision, or precision: fp32.",
    kinds=SUPERRES,
)
def precision_may_not_run(ctx: SuperresContext) -> Iterator[Finding]:
    inference = ctx.spec.inference
    at = ("inference", "precision")
    if inference.precision == "bf16" and inference.device == "cpu":
        here = cpu_has_bf16()
        state = {True: "this CPU has them", False: "this CPU has neither", None: "unknown here"}
        yield Finding(
            at,
            "bf16 on the CPU runs only with AVX512-BF16 or AMX instructions "
            f"({state[here]}); upscale.py refuses it elsewhere",
            "precision: fp32",
        )
    elif inference.precision != "fp32" and inference.device == "auto":
        yield Finding(
            at,
            f"{inference.precision} with device auto: on a machine without a CUDA GPU "
            f"upscale.py refuses {inference.precision}",
            "device: cuda",
        )


@rule(
    "GS807",
    "format-cannot-hold-the-output",
    "error",
    summary="16-bit output into jpg or webp, or alpha into jpg, where the spec says it will "
    "happen.",
    why="OpenCV writes jpg and webp with 8 bits per channel and jpg without alpha: the extra "
    "bits or the alpha plane would be lost without a word (upstream switches such images to "
    "png behind your back).",
    example="output: {format: jpg, bit_depth: '16'}",
    fix="format: png (16 bits and alpha) or npy, or bit_depth: '8'.",
    kinds=SUPERRES,
)
def format_holds_output(ctx: SuperresContext) -> Iterator[Finding]:
    output, source = ctx.spec.output, ctx.spec.input
    if output.format not in EIGHT_BIT_FORMATS:
        return
    if output.bit_depth == "16":
        yield Finding(
            ("output", "bit_depth"),
            f"{output.format} holds 8 bits per channel, not 16",
            "format: png",
        )
    elif output.bit_depth == "same" and source.bit_depth == "16":
        yield Finding(
            ("output", "format"),
            f"the inputs are 16-bit and bit_depth is same, but {output.format} holds 8 bits",
            "format: png, or bit_depth: '8'",
        )


@rule(
    "GS808",
    "format-may-not-hold-the-output",
    "warning",
    summary="jpg or webp output where some inputs may be 16-bit (input.bit_depth any, output "
    "bit_depth same), or jpg where inputs may have alpha.",
    why="Such an image fails with a clear message instead of losing bits or alpha silently; "
    "the spec can say up front what should happen.",
    example="output: {format: jpg}",
    fix="format: png, or declare input.bit_depth '8' / output.bit_depth '8' / input.alpha refuse.",
    kinds=SUPERRES,
)
def format_may_not_hold(ctx: SuperresContext) -> Iterator[Finding]:
    output, source = ctx.spec.output, ctx.spec.input
    if output.format not in EIGHT_BIT_FORMATS:
        return
    if output.bit_depth == "same" and source.bit_depth == "any":
        yield Finding(
            ("output", "format"),
            f"a 16-bit input would fail: {output.format} holds 8 bits per channel",
            "bit_depth: '8' (16-bit inputs rounded to 8), or format: png",
        )
    if output.format == "jpg" and source.alpha != "refuse":
        yield Finding(
            ("output", "format"),
            "an input with alpha would fail: jpg has no alpha channel",
            "format: png, or input.alpha: refuse",
        )


@rule(
    "GS809",
    "tile-memory",
    "warning",
    summary="One tile needs more memory than the device has (inference.memory_budget_gb, this "
    "machine's RAM for device cpu, else 8 GB).",
    why="The tile size bounds the memory an image takes; a tile past the device runs out of "
    "memory on the first image, after the model has loaded.",
    example="inference: {tile: 2048, device: cuda}",
    fix="A smaller tile (the message computes one that fits).",
    kinds=SUPERRES,
)
def tile_fits(ctx: SuperresContext) -> Iterator[Finding]:
    inference = ctx.spec.inference
    if inference.tile == 0:
        return
    side = inference.tile + 2 * inference.tile_pad
    need = tile_memory(ctx.release, side, inference.precision)
    budget = _budget(ctx)
    if budget is None or need.total <= budget:
        return
    tile = inference.tile
    while (
        tile > 16
        and tile_memory(ctx.release, tile + 2 * inference.tile_pad, inference.precision).total
        > budget
    ):
        tile //= 2
    yield Finding(
        ("inference", "tile"),
        f"a {side}x{side} tile needs about {format_bytes(need.total)} "
        f"({format_bytes(need.activations)} of feature maps, {format_bytes(need.weights)} of "
        f"weights), over the {format_bytes(budget)} budget",
        f"tile: {tile}",
    )


def _budget(ctx: SuperresContext) -> int | None:
    inference = ctx.spec.inference
    if inference.memory_budget_gb is not None:
        return int(inference.memory_budget_gb * GB)
    if inference.device == "cpu":
        return physical_memory()
    return DEFAULT_DEVICE_BUDGET_GB * GB


@rule(
    "GS810",
    "untiled-memory",
    "info",
    summary="inference.tile is 0: memory grows with the image.",
    why="Without tiles a forward pass holds feature maps for the whole image: fine for small "
    "images, out of memory for a large photo. The message says how much per megapixel.",
    example="inference: {tile: 0}",
    fix="Set a tile (e.g. 256) to bound the memory of any image.",
    kinds=SUPERRES,
)
def untiled_memory(ctx: SuperresContext) -> Iterator[Finding]:
    inference = ctx.spec.inference
    if inference.tile != 0:
        return
    per_megapixel = megapixel_memory(ctx.release, inference.precision)
    limit = LARGEST_DEVICE_GB * GB
    yield Finding(
        ("inference", "tile"),
        f"untiled, {ctx.release.name} takes about {format_bytes(per_megapixel)} per megapixel "
        f"of input ({limit // per_megapixel:,} megapixels fill the largest GPU)",
        "tile: 256",
    )


@rule(
    "GS811",
    "input-not-found",
    "warning",
    summary="input.source's path is not there, or a folder holds no image of input.formats.",
    why="upscale.py exits with 'no images' on the first run; you may add images later, or pass "
    "another path on its command line.",
    example="input: {source: {path: photos/}}",
    fix="Point input.source.path at your images.",
    kinds=SUPERRES,
)
def input_found(ctx: SuperresContext) -> Iterator[Finding]:
    path = ctx.input_path
    if path is None:
        return
    at = ("input", "source", "path")
    suffixes = {f".{name}" for name in ctx.spec.input.formats}
    try:
        if not path.exists():
            yield Finding(at, f"{path} is not there", None)
        elif path.is_dir() and not any(
            p.suffix.lower() in suffixes for p in path.iterdir() if p.is_file()
        ):
            yield Finding(at, f"{path} holds no {', '.join(sorted(suffixes))} file", None)
    except OSError as error:  # a folder this user may not list
        yield Finding(at, f"{path} cannot be read ({error.strerror or error})", None)
