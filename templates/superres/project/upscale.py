"""Upscale images with the contract's model: a library function and a command line.

    python upscale.py                                  # contract.INPUT -> contract.OUTPUT_DIR
    python upscale.py photos/ --out big/ --outscale 3.5
    python upscale.py photo.png --tile 128 --format npy --bit-depth 16
    python upscale.py photos/ --random-weights         # no release file yet: pipeline check only
    torchrun --nproc-per-node 4 upscale.py photos/ --out big/

Library: ``upscale_array(model, image, settings)`` takes one image as a numpy array and returns
it enlarged, in the same channel order, dtype (unless ``dtype=`` asks for another) and channel
count; ``upscale_files`` runs a list of files, reporting (not raising) the ones that fail.

A folder too big for one process: under ``torchrun`` (which sets RANK and WORLD_SIZE) each
process takes every WORLD_SIZE-th file of the sorted list from its RANK on, so the shards are
disjoint and cover the folder; each uses the GPU of its LOCAL_RANK and prints its own summary.
No process group is needed: the processes share nothing but the output folder.

Exit status: 0 when every image was written or skipped, 1 when any image failed (the others
are still processed), 2 for bad input found before any work (bad flags, no images, missing or
wrong weights, a format that cannot hold the output). Messages are one line; outputs are
written atomically, so an interrupted run leaves no partial file.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import math
import os
import sys
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

import contract
import images
import models
import weights
from tiles import pad_bottom_right, tiled_forward

# Measured on a 2-core AMD EPYC (AVX2), one thread, fp32 forward, two interleaved runs each:
# channels_last is 1.5-1.6x faster than contiguous for general-x4v3 on 128x128 inputs (0.9-1.1x
# on 64x64, smaller than any real tile) and 1.1-1.3x for the 6-block RRDBNet on 32x32 and 64x64.
# So CPU runs use it (CUDA's cuDNN picks its own layouts).
CHANNELS_LAST_ON_CPU = True

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


class UpscaleError(ValueError):
    """Settings, a device or an image the pipeline cannot use; the message is one line."""


# --- devices and precision -------------------------------------------------------------------


def local_rank() -> int:
    """This process's GPU index under torchrun (LOCAL_RANK), else 0."""
    return int(os.environ.get("LOCAL_RANK", "0") or 0)


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def pick_device(name: str = "auto") -> torch.device:
    """The device for ``name``: "auto" takes CUDA (this process's GPU under torchrun), then
    Apple's MPS, then the CPU; "cuda", "cuda:N", "mps" and "cpu" must exist here."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank() % torch.cuda.device_count())
        return torch.device("mps") if mps_available() else torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise UpscaleError(f"unknown device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UpscaleError(f"device {name}: this machine has no CUDA GPU (use cpu or auto)")
        index = device.index if device.index is not None else local_rank()
        if index >= torch.cuda.device_count():
            raise UpscaleError(
                f"device {name}: only {torch.cuda.device_count()} CUDA GPU(s) here (cuda:0..)"
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not mps_available():
        raise UpscaleError(f"device {name}: MPS is not available here (use cpu or auto)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise UpscaleError(f"unsupported device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def cpu_has_fast_bf16() -> bool:
    """Whether this CPU has native bf16 instructions (AVX512-BF16 or AMX): oneDNN's own check,
    ``torch.ops.mkldnn._is_mkldnn_bf16_supported()``, False where torch lacks it."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def model_dtype(precision: str, device: torch.device) -> torch.dtype:
    """The dtype the model runs in, refusing precisions the device runs slower than fp32.

    fp32 is the default and the reference. fp16 halves memory and, on CUDA's tensor cores, about
    halves the time (upstream runs fp16 on GPUs); on the CPU there are no fast half kernels
    (a general-x4v3 forward took 14x as long as fp32 here) and on MPS it is not tested, so it
    is CUDA-only. bf16 (same range as fp32, so no overflow in deep nets) runs on CUDA, and on
    CPUs with native bf16 instructions (AVX512-BF16/AMX); without them it is emulated (11x
    slower than fp32 on this AVX2 CPU), so it is refused there too. A copy of the model is
    cast (``prepare_model``: the caller's stays as it was); tiles are blended in fp32.
    """
    if precision not in DTYPES:
        raise UpscaleError(f"unknown precision {precision!r}: use fp32, fp16 or bf16")
    if precision == "fp16" and device.type != "cuda":
        raise UpscaleError(
            f"fp16 runs on CUDA only: on {device.type} it is slower than fp32 and some ops have "
            "no half-precision kernels; use --precision fp32"
        )
    if precision == "bf16":
        if device.type == "mps":
            raise UpscaleError("bf16 is not supported on MPS here; use --precision fp32")
        if device.type == "cpu" and not cpu_has_fast_bf16():
            raise UpscaleError(
                "this CPU has no native bf16 instructions (AVX512-BF16 or AMX), so bf16 is "
                "emulated and far slower than fp32; use --precision fp32"
            )
    return DTYPES[precision]


COPIES = "upscale_copies"  # the attribute of a caller's model holding prepare_model's copies


def prepare_model(model: nn.Module, device: torch.device, dtype: torch.dtype) -> nn.Module:
    """``model`` ready to run: in eval mode, on ``device``, in ``dtype``, channels_last on the
    CPU. The caller's model is never cast, moved or switched to eval mode.

    A model that is ready already is used as it is. Otherwise a copy is made and kept on the
    model (``model.upscale_copies``, one per device and dtype) for the next call, as long as
    the weights stay the same: a weight changed in place (an optimizer step,
    ``load_state_dict``) makes a fresh copy. Why not cast in place, as upstream's
    ``model.half()`` does: after one fp16 call a later fp32 call would run on weights rounded
    to fp16 for good. The cost is one more set of weights per device and dtype used (4.9 MB
    for general-x4v3 in fp32, 67 MB for RRDBNet).
    """
    if _ready(model, device, dtype):
        return model
    copies: dict[tuple[str, torch.dtype], tuple[object, nn.Module]] = model.__dict__.setdefault(
        COPIES, {}
    )
    key, stamp = (str(device), dtype), _weights_stamp(model)
    if key in copies and stamp is not None and copies[key][0] == stamp:
        return copies[key][1]
    # the copy gets no copies of its own: the memo stands a fresh dict in for the cache
    prepared = copy.deepcopy(model, memo={id(copies): {}})
    prepared = prepared.to(device=device, dtype=dtype).eval()
    if device.type == "cpu" and CHANNELS_LAST_ON_CPU:
        prepared = prepared.to(memory_format=torch.channels_last)
    if stamp is not None:
        copies[key] = (stamp, prepared)
    return prepared


def _tensors(model: nn.Module) -> list[torch.Tensor]:
    return [*model.parameters(), *model.buffers()]


def _ready(model: nn.Module, device: torch.device, dtype: torch.dtype) -> bool:
    """Whether ``model`` runs as ``prepare_model`` would leave it, without changing it."""
    if any(module.training for module in model.modules()):
        return False
    tensors = _tensors(model)
    if any(t.device != device or t.dtype != dtype for t in tensors):
        return False
    if device.type == "cpu" and CHANNELS_LAST_ON_CPU:
        return all(
            t.is_contiguous(memory_format=torch.channels_last) for t in tensors if t.dim() == 4
        )
    return True


def _weights_stamp(model: nn.Module) -> tuple[tuple[int, int], ...] | None:
    """What changes when a weight is replaced or changed in place (each tensor's memory and
    version counter); None when they have no version counters (tensors made in inference
    mode): then nothing is cached."""
    try:
        return tuple((t.data_ptr(), t._version) for t in _tensors(model))
    except RuntimeError:
        return None


# --- one image -------------------------------------------------------------------------------


def check_settings(settings: contract.Settings) -> None:
    """Raise UpscaleError for settings no image can be upscaled with."""
    s = settings
    if s.channel_order not in ("bgr", "rgb"):
        raise UpscaleError(f"channel order must be bgr or rgb, not {s.channel_order!r}")
    if s.alpha not in ("model", "resize", "refuse"):
        raise UpscaleError(f"alpha must be model, resize or refuse, not {s.alpha!r}")
    if s.grayscale not in ("keep", "color"):
        raise UpscaleError(f"grayscale must be keep or color, not {s.grayscale!r}")
    if not (isinstance(s.outscale, (int, float)) and math.isfinite(s.outscale) and s.outscale > 0):
        raise UpscaleError(f"outscale must be a positive number, not {s.outscale}")
    if output_size(1, 1, s.outscale)[0] > MAX_SIDE:
        raise UpscaleError(
            f"outscale {s.outscale:g} makes even a 1-pixel image more than {MAX_SIDE:,} pixels "
            "a side"
        )
    for name in ("tile", "tile_pad", "tile_overlap", "pre_pad"):
        value = getattr(s, name)
        if not isinstance(value, int) or value < 0:
            raise UpscaleError(f"{name.replace('_', '-')} must be a whole number >= 0, not {value}")
    if s.tile > 0 and s.tile_pad >= s.tile:
        raise UpscaleError(f"tile-pad ({s.tile_pad}) must be smaller than the tile ({s.tile})")
    if s.tile > 0 and s.tile_overlap >= s.tile:
        raise UpscaleError(
            f"tile-overlap ({s.tile_overlap}) must be smaller than the tile ({s.tile})"
        )
    if s.precision not in DTYPES:
        raise UpscaleError(f"unknown precision {s.precision!r}: use fp32, fp16 or bf16")


MAX_SIDE = 65_535  # pixels a side of an output (JPEG's limit; OpenCV's codecs check sizes)
MAX_VALUES = 2**31  # values in an output or in the network's (OpenCV indexes with int)


def check_size(height: int, width: int, channels: int, what: str = "the output") -> None:
    """Refuse, before any work, an image too big to make: a side over MAX_SIDE pixels or more
    than MAX_VALUES values (a huge --outscale would otherwise run the network first and then
    fail in OpenCV with "Insufficient memory")."""
    if max(height, width) > MAX_SIDE or height * width * channels > MAX_VALUES:
        raise UpscaleError(
            f"{what} would be {width:,}x{height:,} pixels ({channels} channels): more than "
            f"{MAX_SIDE:,} a side or 2**31 values; use a smaller --outscale or image"
        )


def output_size(height: int, width: int, outscale: float) -> tuple[int, int]:
    """The output's (height, width): each side times ``outscale``, rounded half up (upstream
    truncates with int(), which makes 427 x 3.5 = 1494.5 come out 1494; we give 1495), and at
    least one pixel."""
    return (
        max(1, math.floor(height * outscale + 0.5)),
        max(1, math.floor(width * outscale + 0.5)),
    )


def _checked_array(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise UpscaleError(f"expected a numpy array, not {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        raise UpscaleError(f"expected uint8 or uint16 pixels, not {image.dtype}")
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        raise UpscaleError(f"expected an HxW, HxWx1, HxWx3 or HxWx4 image, not {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise UpscaleError(f"the image is empty ({image.shape[0]}x{image.shape[1]})")
    return image


def output_channels(image: np.ndarray, settings: contract.Settings) -> int:
    """How many channels ``upscale_array`` returns for ``image``: its own, except gray with
    ``grayscale="color"``, which comes back with 3."""
    channels = 1 if image.ndim == 2 else image.shape[2]
    return 3 if channels == 1 and settings.grayscale == "color" else channels


def _network_input(pixels: np.ndarray, channels: list[int], model: nn.Module) -> torch.Tensor:
    """The network's input: ``pixels``' channels in the order given (RGB), as a (1, 3, H, W)
    float tensor in [0, 1] on the model's device, in the model's dtype and layout. Built in
    place: one float copy of the input (channels_last on the CPU is HxWx3 memory)."""
    parameter = next(model.parameters())
    height, width = pixels.shape[:2]
    hwc = torch.empty(1, height, width, 3, dtype=torch.float32)
    values = hwc.numpy()
    values[0] = pixels[:, :, channels]
    values /= np.float32(np.iinfo(pixels.dtype).max)
    x = hwc.permute(0, 3, 1, 2)  # NCHW in channels_last memory: no copy
    if not (parameter.device.type == "cpu" and CHANNELS_LAST_ON_CPU):
        x = x.contiguous()
    return x.to(device=parameter.device, dtype=parameter.dtype)


def _network(
    model: nn.Module, x: torch.Tensor, settings: contract.Settings, scale: int
) -> np.ndarray:
    """``x`` (1, 3, H, W) through the network, tiled and pre-padded as ``settings`` say: a
    3x(H*scale)x(W*scale) float32 RGB array clamped to [0, 1], the output's own memory (the
    caller may change it in place; no copy is made on the CPU)."""
    height, width = x.shape[2], x.shape[3]
    if settings.pre_pad:
        x = pad_bottom_right(x, settings.pre_pad, settings.pre_pad)
    out = tiled_forward(
        model, x, scale, settings.tile, settings.tile_pad, settings.tile_overlap
    )  # (1, 3, (H + pre_pad) * scale, (W + pre_pad) * scale), float32 when tiled
    out = out[0, :, : height * scale, : width * scale].float()  # a view unless half precision
    low, high = torch.aminmax(out)  # NaN propagates; no output-sized mask as isfinite makes
    if not (math.isfinite(low.item()) and math.isfinite(high.item())):
        # clamping and rounding would hide them as black pixels
        raise UpscaleError(
            f"the network's output holds NaN or Inf (precision {settings.precision}); "
            "try --precision fp32"
        )
    return out.clamp_(0, 1).cpu().numpy()


def _luma(rgb: np.ndarray) -> np.ndarray:
    """Rec. 601 luma of a 3xHxW RGB float array, as cv2.COLOR_RGB2GRAY weighs it: HxW."""
    luma = rgb[0] * np.float32(0.299)
    luma += rgb[1] * np.float32(0.587)
    luma += rgb[2] * np.float32(0.114)
    return luma


@torch.inference_mode()
def upscale_array(
    model: nn.Module,
    image: np.ndarray,
    settings: contract.Settings = contract.SETTINGS,
    dtype: np.dtype | type | None = None,
) -> np.ndarray:
    """``image`` enlarged to ``output_size(H, W, settings.outscale)``, in its channel order,
    number of channels and dtype (``dtype`` uint8 or uint16 asks for another); UpscaleError for
    an array or settings it cannot use.

    Receives HxW (gray), HxWx1, HxWx3 or HxWx4 (with alpha), uint8 or uint16, colors in
    ``settings.channel_order`` (OpenCV's "bgr" for files, "rgb" for PIL-style arrays). The
    output dtype follows the input's, never guessed from pixel values (a dark 16-bit image
    stays 16-bit); gray stays gray unless ``settings.grayscale`` is "color". The network (moved to
    ``settings.device`` and ``settings.precision`` first) sees RGB floats in [0, 1]; gray runs
    as three equal channels and comes back as the output's luma; alpha runs through the
    network as gray ("model") or is resized linearly ("resize"), as upstream does. Native
    scale first, then a Lanczos resize when ``outscale`` differs; values are clamped to
    [0, 1] and rounded once, straight to the dtype returned (an 8-bit image asked for 16 bits
    keeps the network's precision, not 256 levels times 257).
    """
    check_settings(settings)
    image = _checked_array(image)
    target = np.dtype(image.dtype if dtype is None else dtype)
    if target not in (np.uint8, np.uint16):
        raise UpscaleError(f"the output dtype must be uint8 or uint16, not {target}")
    device = pick_device(settings.device)
    model = prepare_model(model, device, model_dtype(settings.precision, device))
    scale = models.scale_of(model)

    # Memory: the network's float output is the only output-sized float array; each plane
    # is resized (if outscale differs), scaled and rounded in place, one at a time, and
    # lands in the integer result. See tiles.py for the measured bytes per output pixel.
    height, width = image.shape[:2]
    pixels = image.reshape(height, width, -1)
    channels = pixels.shape[2]
    out_h, out_w = output_size(height, width, settings.outscale)
    check_size(out_h, out_w, output_channels(image, settings))
    check_size(height * scale, width * scale, 3, "the network's output")
    bgr = settings.channel_order == "bgr"
    planes: list[np.ndarray] = []  # the output's channels, in its order, at native scale
    if channels == 4:
        if settings.alpha == "refuse":
            raise UpscaleError("the image has an alpha channel, which the contract refuses")
        if settings.alpha == "model":  # before the colors: one network output at a time
            alpha = _luma(
                _network(model, _network_input(pixels, [3, 3, 3], model), settings, scale)
            )
        else:
            alpha = cv2.resize(
                pixels[:, :, 3].astype(np.float32) / np.float32(np.iinfo(image.dtype).max),
                (width * scale, height * scale),
                interpolation=cv2.INTER_LINEAR,
            )
    if channels == 1:
        rgb = _network(model, _network_input(pixels, [0, 0, 0], model), settings, scale)
        planes = [_luma(rgb)] if settings.grayscale == "keep" else list(rgb)
    else:
        rgb = _network(
            model, _network_input(pixels, [2, 1, 0] if bgr else [0, 1, 2], model), settings, scale
        )
        planes = list(rgb)
    if bgr and len(planes) == 3:
        planes.reverse()
    if channels == 4:
        planes.append(alpha)
    del rgb

    top = np.float32(np.iinfo(target).max)
    result = np.empty((out_h, out_w, len(planes)), target)
    for index, plane in enumerate(planes):
        if plane.shape != (out_h, out_w):
            plane = cv2.resize(plane, (out_w, out_h), interpolation=cv2.INTER_LANCZOS4)
        np.clip(plane, 0.0, 1.0, out=plane)  # Lanczos overshoots; luma may round past 1
        plane *= top
        np.rint(plane, out=plane)
        result[:, :, index] = plane  # whole numbers in [0, top]: the cast is exact
    if image.ndim == 2 and result.shape[2] == 1:
        return result[:, :, 0]
    return result


# --- many files ------------------------------------------------------------------------------


@dataclass
class Summary:
    """What ``upscale_files`` did with each input: its output written, or already there
    (skipped), or a one-line reason it failed."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"{len(self.written)} written, {len(self.skipped)} skipped, {len(self.failed)} failed"
        )


# How allocation failures read: CUDA's, OpenCV's ("Insufficient memory"), torch's CPU allocator's
OUT_OF_MEMORY = ("out of memory", "insufficient memory", "can't allocate memory")


def failure_message(error: BaseException) -> str:
    """One line saying why an image failed, whatever raised."""
    if isinstance(error, (images.ImageError, UpscaleError)):
        return str(error)
    text = str(error).lower()
    if isinstance(error, MemoryError) or any(words in text for words in OUT_OF_MEMORY):
        return "out of memory: try a smaller --tile, or a smaller --outscale or image"
    first = (str(error).strip().splitlines() or [""])[0][:200]
    return f"{type(error).__name__}: {first}" if first else type(error).__name__


def check_bit_depth(image: np.ndarray, declared: str = contract.INPUT_BIT_DEPTH) -> None:
    """Refuse a file of another bit depth than the contract declares for inputs."""
    bits = "16" if image.dtype == np.uint16 else "8"
    if declared != "any" and bits != declared:
        raise UpscaleError(f"a {bits}-bit image, but the contract's inputs are {declared}-bit")


def _size(image: np.ndarray) -> str:
    return f"{image.shape[0]}x{image.shape[1]}"


def upscale_files(
    model: nn.Module,
    inputs: list[Path],
    out_dir: Path,
    settings: contract.Settings = contract.SETTINGS,
    *,
    fmt: str = contract.OUTPUT_FORMAT,
    suffix: str = contract.OUTPUT_SUFFIX,
    bit_depth: str = contract.BIT_DEPTH,
    skip_existing: bool = contract.SKIP_EXISTING,
    jpeg_quality: int = contract.JPEG_QUALITY,
    progress: bool = True,
) -> Summary:
    """Upscale each file of ``inputs`` into ``out_dir`` (``images.output_path`` names it),
    one progress line per file on stderr (unless ``progress`` is False). A file that cannot
    be read, upscaled or written is recorded in ``Summary.failed`` and the rest go on;
    outputs are written atomically (never a partial file). Outputs that would land on inputs
    or on each other (``check_targets``) raise UpscaleError before any work."""
    check_targets(inputs, out_dir, fmt, suffix)
    summary = Summary()
    for number, source in enumerate(inputs, 1):
        source = Path(source)
        label = f"[{number}/{len(inputs)}] {source.name}"
        target = images.output_path(source, out_dir, fmt, suffix)
        if skip_existing and target.exists():
            summary.skipped.append(target)
            _say(progress, f"{label} skipped: {target} exists")
            continue
        start = time.perf_counter()
        try:
            image = images.read_image(source)
            check_bit_depth(image)
            channels = output_channels(image, settings)
            dtype = images.target_dtype(bit_depth, image.dtype)
            images.check_writable(channels, dtype, fmt)
            result = upscale_array(model, image, settings, dtype)  # rounded once, to dtype
            images.write_image(target, result, fmt, jpeg_quality)
        except Exception as error:  # one bad image must not stop the batch
            summary.failed.append((source, failure_message(error)))
            _say(progress, f"{label} FAILED: {failure_message(error)}")
            continue
        summary.written.append(target)
        seconds = time.perf_counter() - start
        _say(progress, f"{label} {_size(image)} -> {_size(result)} {seconds:.1f} s")
    return summary


def _say(progress: bool, line: str) -> None:
    if progress:
        print(line, file=sys.stderr, flush=True)


# --- torchrun shards -------------------------------------------------------------------------


def rank_and_world(environ: dict[str, str] | None = None) -> tuple[int, int]:
    """(RANK, WORLD_SIZE) as torchrun sets them; (0, 1) outside torchrun."""
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1") or 1)
        rank = int(env.get("RANK", "0") or 0)
    except ValueError:
        raise UpscaleError("RANK and WORLD_SIZE must be whole numbers") from None
    if world < 1 or not 0 <= rank < world:
        raise UpscaleError(f"RANK {rank} is not in 0..WORLD_SIZE-1 (WORLD_SIZE {world})")
    return rank, world


def shard(inputs: list[Path], rank: int, world: int) -> list[Path]:
    """This rank's files: every ``world``-th of the sorted list from ``rank`` on. The ranks'
    shards are disjoint and together cover ``inputs``."""
    return sorted(inputs)[rank::world]


# --- command line ----------------------------------------------------------------------------


class UsageError(Exception):
    """A bad command line (argparse's errors, without its exit)."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    s = contract.SETTINGS
    p = Parser(prog="upscale.py", description=__doc__.splitlines()[0])
    default_input = contract.INPUT
    if default_input != images.SKLEARN_PHOTOS:
        default_input = str(contract.project_path(default_input))
    p.add_argument(
        "input",
        nargs="?",
        default=default_input,
        help=f"an image, a folder of images, or {images.SKLEARN_PHOTOS} (default {contract.INPUT})",
    )
    p.add_argument(
        "--out", type=Path, default=contract.project_path(contract.OUTPUT_DIR), help="output folder"
    )
    p.add_argument("--outscale", type=float, default=s.outscale, help="final enlargement")
    p.add_argument("--tile", type=int, default=s.tile, help="tile side in input pixels; 0: none")
    p.add_argument("--tile-pad", type=int, default=s.tile_pad, help="context around each tile")
    p.add_argument("--tile-overlap", type=int, default=s.tile_overlap, help="blended overlap")
    p.add_argument("--pre-pad", type=int, default=s.pre_pad, help="reflect-pad bottom/right")
    p.add_argument("--alpha", choices=["model", "resize", "refuse"], default=s.alpha)
    p.add_argument("--grayscale", choices=["keep", "color"], default=s.grayscale)
    p.add_argument("--precision", choices=sorted(DTYPES), default=s.precision)
    p.add_argument("--device", default=s.device, help="auto, cpu, cuda, cuda:N or mps")
    p.add_argument("--format", choices=images.FORMATS, default=contract.OUTPUT_FORMAT)
    p.add_argument("--suffix", default=contract.OUTPUT_SUFFIX, help="added to each file's stem")
    p.add_argument("--bit-depth", choices=["same", "8", "16"], default=contract.BIT_DEPTH)
    p.add_argument("--jpeg-quality", type=int, default=contract.JPEG_QUALITY, help="1..100")
    p.add_argument(
        "--overwrite", action="store_true", help="replace existing outputs (default: skip them)"
    )
    p.add_argument(
        "--random-weights",
        action="store_true",
        help="seeded random weights instead of the release file: checks the pipeline only",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --random-weights")
    return p.parse_args(argv)


def settings_from(args: argparse.Namespace) -> contract.Settings:
    """The contract's settings with the flags applied. Files are read by OpenCV, so the
    channel order is always BGR here, whatever library callers use."""
    return dataclasses.replace(
        contract.SETTINGS,
        channel_order="bgr",
        alpha=args.alpha,
        grayscale=args.grayscale,
        outscale=args.outscale,
        tile=args.tile,
        tile_pad=args.tile_pad,
        tile_overlap=args.tile_overlap,
        pre_pad=args.pre_pad,
        precision=args.precision,
        device=args.device,
    )


def _file_id(path: Path) -> tuple[int, int] | None:
    """What tells one file or folder from another however it is named (case, symlinks, hard
    links, ``.``): its device and inode; None where nothing is there."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _name_key(path: Path) -> str:
    """A file name as macOS and Windows compare names: case-insensitively (and NFC, macOS's
    normal form), so Photo_out.png and photo_out.png are one file there."""
    return unicodedata.normalize("NFC", path.name).casefold()


def check_targets(inputs: list[Path], out_dir: Path, fmt: str, suffix: str) -> None:
    """Before any work, refuse outputs that would land on inputs or on each other:

    - an output folder that is the folder of any input: each rerun would upscale the last
      run's outputs again (photo_out_out.png), and with --overwrite an input that happens to
      be named like an output (a_out.png) would be replaced;
    - an output that is any input file (through a symlink or hard link), not only its own;
    - two inputs writing one output (photo.jpg and Photo.png: compared case-insensitively,
      since they are one file on macOS and Windows).
    """
    out_id = _file_id(out_dir)
    if out_id is not None:
        for folder in dict.fromkeys(Path(source).parent for source in inputs):
            if _file_id(folder) == out_id:
                raise UpscaleError(
                    f"--out {out_dir} is the folder of the inputs ({folder}): the outputs would "
                    "mix with the inputs and be upscaled again by the next run; use another --out"
                )
    input_ids: dict[tuple[int, int], Path] = {}
    for source in inputs:
        if (source_id := _file_id(source)) is not None:
            input_ids[source_id] = Path(source)
    seen: dict[str, tuple[Path, Path]] = {}  # name key -> (source, target)
    for source in inputs:
        target = images.output_path(source, out_dir, fmt, suffix)
        target_id = _file_id(target)
        if target_id is not None and target_id in input_ids:
            raise UpscaleError(
                f"the output for {source}, {target}, is the input {input_ids[target_id]}: "
                "use another --out or --suffix"
            )
        key = _name_key(target)
        if key in seen:
            other, other_target = seen[key]
            names = "" if other_target.name == target.name else " (one file on macOS and Windows)"
            raise UpscaleError(
                f"{other.name} and {source.name} would both be written to {target}{names}: "
                "rename one, or use separate runs"
            )
        seen[key] = (source, target)


def check_formats(
    inputs: list[Path], settings: contract.Settings, fmt: str, bit_depth: str
) -> None:
    """Before any work: refuse an output format that cannot hold what the inputs will give
    (16 bits into jpg or webp, alpha into jpg, gray into webp). Only formats that lose
    something need the inputs looked at; JPEG inputs (8-bit, no alpha) are not decoded, their
    header says whether they are gray. Unreadable files are left for the run to report."""
    if fmt in images.EIGHT_BIT_FORMATS and bit_depth == "16":
        raise UpscaleError(f"--format {fmt} holds 8 bits only: use png or npy for --bit-depth 16")
    if fmt not in images.EIGHT_BIT_FORMATS:
        return
    gray_refused = fmt not in images.GRAY_FORMATS and settings.grayscale == "keep"
    if fmt in images.ALPHA_FORMATS and bit_depth == "8" and not gray_refused:
        return
    for source in inputs:
        if Path(source).suffix.lower() in images.JPEG_SUFFIXES:
            if not gray_refused or images.jpeg_channels(source) != 1:
                continue
            channels, dtype = 1, np.dtype(np.uint8)
        else:
            try:
                image = images.read_image(source)
            except images.ImageError:
                continue
            channels, dtype = output_channels(image, settings), image.dtype
        try:
            images.check_writable(channels, images.target_dtype(bit_depth, dtype), fmt)
        except images.ImageError as error:
            raise UpscaleError(f"{source}: {error}") from None


def quiet_opencv() -> None:
    """Keep OpenCV's own decoder warnings off stderr: a file it cannot decode is reported once,
    in our one-line message."""
    logging = getattr(getattr(cv2, "utils", None), "logging", None)
    if logging is not None and hasattr(logging, "setLogLevel"):
        logging.setLogLevel(logging.LOG_LEVEL_FATAL)


def main(argv: list[str] | None = None) -> int:
    quiet_opencv()
    try:
        args = parse_args(argv)
        settings = settings_from(args)
        check_settings(settings)
        if not 1 <= args.jpeg_quality <= 100:
            raise UpscaleError(f"--jpeg-quality must be in 1..100, not {args.jpeg_quality}")
        device = pick_device(settings.device)
        model_dtype(settings.precision, device)
        if args.out.exists() and not args.out.is_dir():
            raise UpscaleError(f"--out {args.out} is a file, not a folder")
        rank, world = rank_and_world()
        inputs = images.list_inputs(args.input)
        check_targets(inputs, args.out, args.format, args.suffix)
        mine = shard(inputs, rank, world)
        skip_existing = contract.SKIP_EXISTING and not args.overwrite
        todo = [
            source
            for source in mine
            if not (
                skip_existing
                and images.output_path(source, args.out, args.format, args.suffix).exists()
            )
        ]
        check_formats(todo, settings, args.format, args.bit_depth)
        model = weights.load_model(device, random_weights=args.random_weights, seed=args.seed)
        # prepared once here: the loaded model itself is not kept beside a prepared copy
        model = prepare_model(model, device, model_dtype(settings.precision, device))
    except weights.WeightsError as error:
        print(
            f"upscale.py: error: {error} (to try the pipeline before the download: "
            "--random-weights, seeded random weights; the output is not a super-resolution)",
            file=sys.stderr,
        )
        return 2
    except (UsageError, UpscaleError, images.ImageError) as error:
        print(f"upscale.py: error: {error}", file=sys.stderr)
        return 2

    who = f"rank {rank}/{world}: " if world > 1 else ""
    if world > 1:
        print(f"{who}{len(mine)} of {len(inputs)} images", file=sys.stderr, flush=True)
    summary = upscale_files(
        model,
        mine,
        args.out,
        settings,
        fmt=args.format,
        suffix=args.suffix,
        bit_depth=args.bit_depth,
        skip_existing=skip_existing,
        jpeg_quality=args.jpeg_quality,
    )
    print(f"{who}{summary.line()} -> {args.out}")
    for source, message in summary.failed:
        print(f"{who}failed: {source}: {message}", file=sys.stderr)
    if args.random_weights:
        print("(RANDOM weights: these outputs are not a super-resolution)", file=sys.stderr)
    return 1 if summary.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
