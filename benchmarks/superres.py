"""Super-resolution: the project's ``upscale.py`` against a port of upstream's RealESRGANer.

For each model (``RealESRGAN_x4plus``, ``RealESRGAN_x4plus_anime_6B``,
``realesr-general-x4v3``), untiled and tiled, on crops of scikit-learn's two bundled photos
(``china.jpg`` and ``flower.jpg``, read with ``cv2.imread`` from the package folder). The
project is the ``realesr-general-x4v3`` preset rendered by this checkout's ganspec into a
temporary folder (``--preset``), or ``--project DIR``; its modules are model-agnostic, the
benchmark builds each model by name with its ``models.build``.

- **ours**: the project's ``upscale.upscale_array(model, image, settings)`` (blended tiles,
  ``tiles.tiled_forward``), with ``contract.SETTINGS`` changed only where the flags say
  (tile, tile padding, tile overlap, pre-pad, device; fp32, BGR, outscale = the native scale);
- **reference**: ``RealESRGANer`` below, a port of realesrgan 0.3.0's ``realesrgan/utils.py``
  (pre-pad and mod-pad, one forward or a loop of tiles cropped without blending, post-process,
  ``enhance``'s 8/16-bit guess, gray and alpha handling, outscale), called as
  ``inference_realesrgan.py`` calls it.

Both run the same seeded random weights (see ``write_weights``), written in the release format
with ``weights.save_release`` and read back by each side: ours with ``weights.read_state``, the
reference with upstream's ``torch.load`` + ``params_ema``; on the same network code (the
project's ``models.py``), device and thread count, so only the inference logic differs.

Figures, per model and mode, ours and the reference side by side with the ratio ours/reference:

- throughput: megapixels of OUTPUT per second over both photos, the median over ``--repeats``
  runs, after one warm-up on a small crop; each repeat runs the two sides of a mode back to
  back, in alternating order (ABBA...), and the ratio is the median of those pairs' ratios, so
  a burst of load from elsewhere hits a pair rather than one side;
- for tiled runs, the pixels each side pushes through the network per input pixel (padding,
  and for ours the overlaps and full-size edge tiles): the work its tile plan costs;
- peak memory: each configuration runs in a child process of its own that loads the model and
  reads the photos, then, for each of two calls, returns freed heap to the system
  (``malloc_trim``), resets the kernel's peak-RSS mark (``/proc/self/clear_refs`` <- 5, Linux
  >= 4.0), calls, and takes ``VmHWM`` minus the RSS at the reset: what the call needed on top
  of what the process held. The first call, on a 16x16 crop, carries the one-off costs (ours
  converts the weights to channels_last there: measured alone, +30 MiB of RSS for x4plus's
  64 MiB of weights); the table shows the second, on the photos: the memory one
  image needs, which tiling is meant to bound. The load of the state dict (transiently two
  copies of the weights) is left out: it could exceed a tile's needs and hide them. Without
  clear_refs: ``ru_maxrss`` of the child minus that of a child that only loads. On CUDA:
  ``torch.cuda.max_memory_allocated`` above the allocation before the call. (tracemalloc sees
  none of torch's allocations.)
- for tiled runs: the max abs difference from the same side's untiled output, in 8-bit levels
  (ours blends the tile overlaps; the reference crops tiles and pastes them: seams);
- and once per model: the max abs difference of ours and the reference, both untiled (a port
  that is faithful and a runtime that does what upstream does agree within 1 level).

    python benchmarks/superres.py [--models NAME ...] [--repeats 3] [--tile 64] [--tile-pad 10]
        [--tile-overlap N] [--pre-pad 0] [--rrdb-crop 96x128] [--compact-crop 192x256]
        [--device cpu|cuda] [--threads N] [--no-memory] [--memory-jobs 1]
        [--project DIR | --preset realesr-general-x4v3] [--json PATH] [--quick]
    python benchmarks/superres.py --report PATH      # the tables of an earlier --json again

``--quick`` is a tiny run for the tests (crops of 12x16 and 24x32, tile 8, one repeat). An
RRDBNet-23 costs ~18 MMAC per input pixel (a 96x128 crop is ~0.2 TMAC per forward: seconds on
a CPU), SRVGGNetCompact ~1.2 MMAC, hence the larger crop for it. Tiles this small make the
padding a large share of each tile's work (a 64-pixel tile with 10 pixels of padding computes
up to 1.7x its own area), so tiled throughput here is a lower bound for real tile sizes.

Targets (issue 11): ours/reference throughput >= 1.0; ours' tiled peak memory bounded by the
tile (below its untiled peak); ours' tiled output equal to its untiled one (0-1 levels) where
the reference shows seams.

Figures: README.md, "Benchmarks / Super-resolution presets" (tile 256 on the photos: the
tile plan now steps ``tile - overlap`` with a shorter last tile, which costs 9-10% more network
pixels than upstream's instead of the 1.7-2x that full-size, evenly spread tiles cost on small
crops; the output buffers take ~17 bytes per output pixel at x4). An earlier run with tile 64
on 96x128 crops, before both changes, gave x4plus untiled 1.02x the reference's throughput at
0.61x its peak memory; its tiled rows measured the old plan and no longer apply.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import importlib
import importlib.util
import json
import math
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
PRESET = "realesr-general-x4v3"  # the project rendered when --project is not given
MODEL_NAMES = ("RealESRGAN_x4plus", "RealESRGAN_x4plus_anime_6B", "realesr-general-x4v3")
PHOTOS = ("china.jpg", "flower.jpg")
SEED = 0
WARMUP_CROP = (16, 16)
CALIBRATION_CROP = (16, 16)
QUICK = {
    "rrdb_crop": (12, 16),
    "compact_crop": (24, 32),
    "tile": 8,
    "tile_pad": 2,
    "tile_overlap": 2,
    "repeats": 1,
    "threads": 1,  # tiny tensors: a second thread only contends on a shared CPU
    "memory_jobs": 4,  # the children of one model at once: their startup dominates
}
FULL = {
    "rrdb_crop": (96, 128),
    "compact_crop": (192, 256),
    "tile": 64,
    "tile_pad": 10,
    "tile_overlap": None,  # the contract's
    "repeats": 3,
    "threads": torch.get_num_threads(),
    "memory_jobs": 1,  # one child at a time: each has the CPU to itself
}
MiB = 1 << 20


# ---------------------------------------------------------------------------------------------
# The reference: realesrgan 0.3.0's RealESRGANer (xinntao/Real-ESRGAN, realesrgan/utils.py,
# BSD-3-Clause), ported line for line in logic. Left out: URL downloads, dni (two weight files
# interpolated; not benchmarked), ``half``'s model cast stays, the per-tile progress print and
# the try/except around a tile's forward (upstream prints a RuntimeError and then pastes a stale
# or undefined tile; here the error propagates). torch.load's default is weights_only=True since
# torch 2.6; the release format loads that way.
# ---------------------------------------------------------------------------------------------


class RealESRGANer:
    """Upscale one HWC numpy image with a super-resolution network, as realesrgan 0.3.0 does."""

    def __init__(
        self,
        scale: int,
        model_path: str | Path,
        model: nn.Module,
        tile: int = 0,
        tile_pad: int = 10,
        pre_pad: int = 10,
        half: bool = False,
        device: torch.device | None = None,
    ) -> None:
        self.scale = scale
        self.tile_size = tile
        self.tile_pad = tile_pad
        self.pre_pad = pre_pad
        self.mod_scale: int | None = None
        self.half = half
        if device is None:
            device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        self.device = device
        loadnet = torch.load(model_path, map_location=torch.device("cpu"))
        keyname = "params_ema" if "params_ema" in loadnet else "params"  # prefer the EMA weights
        model.load_state_dict(loadnet[keyname], strict=True)
        model.eval()
        self.model = model.to(self.device)
        if self.half:
            self.model = self.model.half()

    def pre_process(self, img: np.ndarray) -> None:
        """HWC float image -> (1, C, H, W) on the device, reflect-padded: ``pre_pad`` at the
        bottom/right, then up to a multiple of 2 (scale 2) or 4 (scale 1) for pixel_unshuffle."""
        tensor = torch.from_numpy(np.transpose(img, (2, 0, 1))).float()
        self.img = tensor.unsqueeze(0).to(self.device)
        if self.half:
            self.img = self.img.half()
        if self.pre_pad != 0:
            self.img = F.pad(self.img, (0, self.pre_pad, 0, self.pre_pad), "reflect")
        if self.scale == 2:
            self.mod_scale = 2
        elif self.scale == 1:
            self.mod_scale = 4
        if self.mod_scale is not None:
            self.mod_pad_h, self.mod_pad_w = 0, 0
            _, _, h, w = self.img.size()
            if h % self.mod_scale != 0:
                self.mod_pad_h = self.mod_scale - h % self.mod_scale
            if w % self.mod_scale != 0:
                self.mod_pad_w = self.mod_scale - w % self.mod_scale
            self.img = F.pad(self.img, (0, self.mod_pad_w, 0, self.mod_pad_h), "reflect")

    def process(self) -> None:
        """The whole image in one forward."""
        self.output = self.model(self.img)

    def tile_process(self) -> None:
        """Tiles of ``tile_size`` input pixels, each run with ``tile_pad`` pixels of context;
        the context's output is cropped away and each tile's core pasted into a zero image (no
        blending, so neighbouring tiles meet at a seam). Upstream's note: modified from
        https://github.com/ata4/esrgan-launcher."""
        batch, channel, height, width = self.img.shape
        output_shape = (batch, channel, height * self.scale, width * self.scale)
        self.output = self.img.new_zeros(output_shape)
        tiles_x = math.ceil(width / self.tile_size)
        tiles_y = math.ceil(height / self.tile_size)
        for y in range(tiles_y):
            for x in range(tiles_x):
                ofs_x = x * self.tile_size
                ofs_y = y * self.tile_size
                # the tile's area in the input
                input_start_x = ofs_x
                input_end_x = min(ofs_x + self.tile_size, width)
                input_start_y = ofs_y
                input_end_y = min(ofs_y + self.tile_size, height)
                # the same with padding, inside the image
                input_start_x_pad = max(input_start_x - self.tile_pad, 0)
                input_end_x_pad = min(input_end_x + self.tile_pad, width)
                input_start_y_pad = max(input_start_y - self.tile_pad, 0)
                input_end_y_pad = min(input_end_y + self.tile_pad, height)
                input_tile_width = input_end_x - input_start_x
                input_tile_height = input_end_y - input_start_y
                input_tile = self.img[
                    :, :, input_start_y_pad:input_end_y_pad, input_start_x_pad:input_end_x_pad
                ]
                with torch.no_grad():
                    output_tile = self.model(input_tile)
                # the tile's area in the output
                output_start_x = input_start_x * self.scale
                output_end_x = input_end_x * self.scale
                output_start_y = input_start_y * self.scale
                output_end_y = input_end_y * self.scale
                # the tile's core inside the padded tile's output
                output_start_x_tile = (input_start_x - input_start_x_pad) * self.scale
                output_end_x_tile = output_start_x_tile + input_tile_width * self.scale
                output_start_y_tile = (input_start_y - input_start_y_pad) * self.scale
                output_end_y_tile = output_start_y_tile + input_tile_height * self.scale
                self.output[:, :, output_start_y:output_end_y, output_start_x:output_end_x] = (
                    output_tile[
                        :,
                        :,
                        output_start_y_tile:output_end_y_tile,
                        output_start_x_tile:output_end_x_tile,
                    ]
                )

    def post_process(self) -> torch.Tensor:
        """Crop the mod-pad, then the pre-pad, off the output."""
        if self.mod_scale is not None:
            _, _, h, w = self.output.size()
            self.output = self.output[
                :, :, 0 : h - self.mod_pad_h * self.scale, 0 : w - self.mod_pad_w * self.scale
            ]
        if self.pre_pad != 0:
            _, _, h, w = self.output.size()
            self.output = self.output[
                :, :, 0 : h - self.pre_pad * self.scale, 0 : w - self.pre_pad * self.scale
            ]
        return self.output

    def _run(self, img: np.ndarray) -> np.ndarray:
        """pre_process, one forward or the tile loop, post_process; RGB CHW -> BGR HWC in [0, 1]."""
        self.pre_process(img)
        if self.tile_size > 0:
            self.tile_process()
        else:
            self.process()
        out = self.post_process().data.squeeze().float().cpu().clamp_(0, 1).numpy()
        return np.transpose(out[[2, 1, 0], :, :], (1, 2, 0))

    @torch.no_grad()
    def enhance(
        self, img: np.ndarray, outscale: float | None = None, alpha_upsampler: str = "realesrgan"
    ) -> tuple[np.ndarray, str]:
        """A BGR(A) or gray uint8/uint16 image -> the upscaled image and its mode (L/RGB/RGBA).

        Upstream's 16-bit test is ``max > 256`` (a dark 16-bit image is treated as 8-bit);
        the network sees RGB."""
        h_input, w_input = img.shape[0:2]
        img = img.astype(np.float32)
        max_range = 65535 if np.max(img) > 256 else 255
        img = img / max_range
        if len(img.shape) == 2:
            img_mode = "L"
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        elif img.shape[2] == 4:
            img_mode = "RGBA"
            alpha = img[:, :, 3]
            img = cv2.cvtColor(img[:, :, 0:3], cv2.COLOR_BGR2RGB)
            if alpha_upsampler == "realesrgan":
                alpha = cv2.cvtColor(alpha, cv2.COLOR_GRAY2RGB)
        else:
            img_mode = "RGB"
            img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)

        output_img = self._run(img)
        if img_mode == "L":
            output_img = cv2.cvtColor(output_img, cv2.COLOR_BGR2GRAY)

        if img_mode == "RGBA":
            if alpha_upsampler == "realesrgan":
                output_alpha = cv2.cvtColor(self._run(alpha), cv2.COLOR_BGR2GRAY)
            else:
                h, w = alpha.shape[0:2]
                output_alpha = cv2.resize(
                    alpha, (w * self.scale, h * self.scale), interpolation=cv2.INTER_LINEAR
                )
            output_img = cv2.cvtColor(output_img, cv2.COLOR_BGR2BGRA)
            output_img[:, :, 3] = output_alpha

        if max_range == 65535:
            output = (output_img * 65535.0).round().astype(np.uint16)
        else:
            output = (output_img * 255.0).round().astype(np.uint8)
        if outscale is not None and outscale != float(self.scale):
            size = (int(w_input * outscale), int(h_input * outscale))
            output = cv2.resize(output, size, interpolation=cv2.INTER_LANCZOS4)
        return output, img_mode


# ---------------------------------------------------------------------------------------------
# The harness
# ---------------------------------------------------------------------------------------------


def render(preset: str, folder: Path) -> Path:
    """``preset`` rendered by this checkout's ganspec (``ganspec render``) into ``folder``."""
    project = folder / preset
    command = [sys.executable, "-m", "ganspec", "render", str(ROOT / "specs" / f"{preset}.yaml")]
    command += ["--out", str(project), "--agents", "none"]
    paths = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]  # keep the caller's
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env)
    if done.returncode != 0:
        raise SystemExit(
            f"{shlex.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    return project


def project_modules(project: Path) -> dict[str, ModuleType]:
    """The project's modules this benchmark uses, imported from ``project`` (its folder goes
    first on sys.path: the modules have generic names)."""
    if not (project / "upscale.py").is_file():
        raise SystemExit(f"{project} has no upscale.py: pass --project a superres project")
    folder = str(project.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    names = ("contract", "models", "weights", "upscale")
    return {name: importlib.import_module(name) for name in names}


def photo_folder() -> Path:
    """scikit-learn's bundled photos, located without importing sklearn (its loader needs PIL)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-learn is not installed: its two bundled photos are the input")
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "images"


def photos(crop: tuple[int, int]) -> list[np.ndarray]:
    """The centre ``crop`` (height, width) of each photo, BGR uint8 as cv2.imread gives it."""
    images = []
    for name in PHOTOS:
        image = cv2.imread(str(photo_folder() / name), cv2.IMREAD_COLOR)
        if image is None:
            raise SystemExit(f"cannot read {photo_folder() / name}")
        h, w = crop
        top, left = (image.shape[0] - h) // 2, (image.shape[1] - w) // 2
        if top < 0 or left < 0:
            raise SystemExit(
                f"crop {h}x{w} is larger than {name} ({image.shape[0]}x{image.shape[1]})"
            )
        images.append(np.ascontiguousarray(image[top : top + h, left : left + w]))
    return images


def crop_for(modules: dict[str, ModuleType], name: str, config: dict[str, Any]) -> tuple[int, int]:
    model_class = modules["models"].MODELS[name][0]
    return tuple(config["rrdb_crop" if model_class.__name__ == "RRDBNet" else "compact_crop"])


def write_weights(modules: dict[str, ModuleType], name: str, folder: Path) -> Path:
    """Seeded random weights for ``name``, saved with the project's ``weights.save_release``
    (``{"params_ema": state}``, the released files' format).

    The network is initialised as ``weights.random_model`` initialises the contract's model
    (``models.build`` under ``torch.manual_seed(SEED)``). A default-initialised RRDBNet puts
    nearly every output below 0 (97% of x4plus's pixels on a photo crop), which clamps to black
    and would hide any seam; so its last conv's bias is shifted to bring each channel's mean
    output to mid-gray on a small crop of the first photo. SRVGGNetCompact adds its output to
    a nearest-neighbour upscale of the input and is in range as initialised.
    """
    models = modules["models"]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        model = models.build(name).eval()
    last = getattr(model, "conv_last", None)
    if last is not None:
        rgb = photos(CALIBRATION_CROP)[0][:, :, ::-1].astype(np.float32) / 255
        with torch.no_grad():
            mean = model(torch.from_numpy(rgb.transpose(2, 0, 1).copy())[None]).mean((0, 2, 3))
            last.bias -= mean - 0.5
    path = folder / f"{name}.pth"
    modules["weights"].save_release(model, path)
    return path


def contender(
    modules: dict[str, ModuleType],
    side: str,
    config: dict[str, Any],
    tiled: bool,
    model: nn.Module | None = None,
) -> Callable[[np.ndarray], np.ndarray]:
    """A function image -> upscaled image: ours (upscale_array) or the reference (enhance), on
    ``config["model"]`` (or ``model``) with the weights in ``config["weights"]``."""
    models = modules["models"]
    device = torch.device(config["device"])
    tile = config["tile"] if tiled else 0
    model = models.build(config["model"]) if model is None else model
    scale = models.scale_of(model)
    if side == "reference":
        upsampler = RealESRGANer(
            scale, config["weights"], model, tile, config["tile_pad"], config["pre_pad"],
            half=False, device=device,
        )  # fmt: skip
        return lambda image: upsampler.enhance(image, outscale=scale)[0]
    model.load_state_dict(modules["weights"].read_state(config["weights"]), strict=True)
    model = model.eval().to(device)
    changes: dict[str, Any] = {
        "tile": tile,
        "tile_pad": config["tile_pad"],
        "pre_pad": config["pre_pad"],
        "outscale": float(scale),
        "precision": "fp32",
        "channel_order": "bgr",
        "device": config["device"],
    }
    if config["tile_overlap"] is not None:
        changes["tile_overlap"] = config["tile_overlap"]
    settings = dataclasses.replace(modules["contract"].SETTINGS, **changes)
    upscale_array = modules["upscale"].upscale_array
    return lambda image: upscale_array(model, image, settings)


def network_pixels(
    modules: dict[str, ModuleType], config: dict[str, Any], side: str, scratch: Path
) -> float | None:
    """Pixels a tiled run pushes through the network per input pixel (untiled: 1): the cost of
    the side's tile plan (padding, and for ours the overlaps). Counted by a forward pre-hook on
    a stand-in network of the same scale (an SRVGGNetCompact without hidden convs), as the plan
    depends only on the tile numbers, the image size and the scale; None for a model that folds
    pixels (x2, x1: tiles align to the fold)."""
    models = modules["models"]
    kwargs = models.MODELS[config["model"]][1]
    scale = kwargs.get("scale", kwargs.get("upscale"))
    if scale != 4:
        return None
    stand_in = models.SRVGGNetCompact(num_feat=4, num_conv=0, upscale=scale)
    path = scratch / "stand-in.pth"
    torch.save({"params_ema": stand_in.state_dict()}, path)
    count = [0]

    def tally(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        count[0] += inputs[0].shape[-2] * inputs[0].shape[-1]

    stand_in.register_forward_pre_hook(tally)
    stand_in_config = {**config, "weights": str(path), "device": "cpu"}
    run = contender(modules, side, stand_in_config, tiled=True, model=stand_in)
    image = photos(tuple(config["crop"]))[0]
    run(image)
    return count[0] / (image.shape[0] * image.shape[1])


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(run: Callable[[np.ndarray], np.ndarray], images: list[np.ndarray], device: str) -> tuple:
    """Seconds to upscale every image, and the outputs."""
    synchronize(device)
    start = time.perf_counter()
    outputs = [run(image) for image in images]
    synchronize(device)
    return time.perf_counter() - start, outputs


def max_level_difference(a: list[np.ndarray], b: list[np.ndarray]) -> int:
    """The largest absolute difference over all pixels of paired 8-bit images."""
    if any(x.shape != y.shape for x, y in zip(a, b, strict=True)):
        shapes = [(x.shape, y.shape) for x, y in zip(a, b, strict=True)]
        raise SystemExit(f"output shapes differ: {shapes}")
    return max(
        int(np.abs(x.astype(np.int32) - y.astype(np.int32)).max())
        for x, y in zip(a, b, strict=True)
    )


# -- peak memory, one child process per configuration -------------------------------------------


def rss_kib(field: str) -> int:
    """VmRSS or VmHWM of this process, KiB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def reset_peak_rss() -> bool:
    """Set the kernel's peak-RSS mark (VmHWM) to the current RSS; False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def trim_heap() -> None:
    """Hand freed malloc memory back to the system, so the run's needs show as RSS growth."""
    if platform.system() == "Linux":
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6").malloc_trim(0)


def memory_of(run: Callable[[], Any] | None, cuda: bool) -> dict[str, Any]:
    """What ``run`` needs beyond what this process holds when it starts: the rise of the peak
    RSS (None where the mark cannot be reset) and, on CUDA, of the peak allocation."""
    trim_heap()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        cuda_before = torch.cuda.memory_allocated()
    rss_before = rss_kib("VmRSS")
    reset = reset_peak_rss()
    if run is not None:
        run()
    result: dict[str, Any] = {"hwm_delta_kib": rss_kib("VmHWM") - rss_before if reset else None}
    if cuda:
        torch.cuda.synchronize()
        result["cuda_delta_bytes"] = torch.cuda.max_memory_allocated() - cuda_before
    return result


def child(config: dict[str, Any]) -> None:
    """Load one configuration, call it once on a small crop (the first call's one-off costs,
    e.g. ours converting the weights to channels_last), then once on the photos, and print the
    memory each call needed as one JSON line. Side "load" only loads."""
    torch.set_num_threads(config["threads"])
    modules = project_modules(Path(config["project"]))
    images = photos(tuple(config["crop"]))
    warmup = [image[: WARMUP_CROP[0], : WARMUP_CROP[1]] for image in images[:1]]
    device, cuda = config["device"], config["device"].startswith("cuda")
    first = run = None
    if config["side"] != "load":
        upscale = contender(modules, config["side"], config, config["tiled"])
        first, run = (
            (lambda: timed(upscale, warmup, device)),
            (lambda: timed(upscale, images, device)),
        )
    result = {"first_call": memory_of(first, cuda), "run": memory_of(run, cuda)}
    result["maxrss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps(result))


def child_memory(config: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", json.dumps(config)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def peak_memory(
    base: dict[str, Any], sides: list[str], modes: list[bool], jobs: int
) -> dict[str, Any]:
    """MiB each configuration needs beyond the loaded model, and how it was measured. Up to
    ``jobs`` children run at once: each measures only its own process."""
    configs = {f"{side} {mode_name(tiled)}": {**base, "side": side, "tiled": tiled}
               for side in sides for tiled in modes}  # fmt: skip
    cuda = base["device"].startswith("cuda")
    by_hwm = not cuda and reset_peak_rss()  # the parent's own mark: a harmless probe
    if not cuda and not by_hwm:
        configs["load"] = {**base, "side": "load", "tiled": False}
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        measured = dict(zip(configs, pool.map(child_memory, configs.values()), strict=True))
    results: dict[str, Any] = {}
    for key in configs:
        if key == "load":
            continue
        for call, suffix in (("run", ""), ("first_call", " first call")):
            if cuda:
                value = measured[key][call]["cuda_delta_bytes"] / MiB
            elif by_hwm:
                value = measured[key][call]["hwm_delta_kib"] / 1024
            elif call == "run":  # the whole child's peak, first call included
                value = (measured[key]["maxrss_kib"] - measured["load"]["maxrss_kib"]) / 1024
            else:
                continue
            results[key + suffix] = value
    results["method"] = (
        "cuda max_memory_allocated over the allocation before the run"
        if cuda
        else "VmHWM over the RSS before the call"
        if by_hwm
        else "ru_maxrss minus that of a load-only child"
    )
    return results


# -- the side-by-side run -----------------------------------------------------------------------


def mode_name(tiled: bool) -> str:
    return "tiled" if tiled else "untiled"


def bench_model(
    modules: dict[str, ModuleType], name: str, args: argparse.Namespace, scratch: Path
) -> dict[str, Any]:
    """Throughput, outputs' differences and peak memory of both sides, both modes, one model."""
    crop = crop_for(modules, name, vars(args))
    config = {
        "model": name,
        "weights": str(write_weights(modules, name, scratch)),
        "project": str(args.project),
        "crop": list(crop),
        **{key: getattr(args, key) for key in ("device", "tile", "tile_pad", "tile_overlap")},
        "pre_pad": args.pre_pad,
        "threads": args.threads,
    }
    images = photos(crop)
    warmup = [image[: WARMUP_CROP[0], : WARMUP_CROP[1]] for image in images[:1]]
    sides, modes = ["ours", "reference"], [False, True]
    runs = {
        (side, tiled): contender(modules, side, config, tiled) for side in sides for tiled in modes
    }
    for run in runs.values():
        timed(run, warmup, args.device)
    seconds: dict[tuple[str, bool], list[float]] = {key: [] for key in runs}
    outputs: dict[tuple[str, bool], list[np.ndarray]] = {}
    for repeat in range(args.repeats):
        for tiled in modes:
            order = sides if repeat % 2 == 0 else sides[::-1]
            for side in order:
                elapsed, out = timed(runs[side, tiled], images, args.device)
                seconds[side, tiled].append(elapsed)
                outputs.setdefault((side, tiled), out)
        print(f"  {name}: repeat {repeat + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    output_mp = sum(out.shape[0] * out.shape[1] for out in outputs["ours", False]) / 1e6
    result: dict[str, Any] = {
        "model": name,
        "crop": list(crop),
        "output_megapixels": output_mp,
        "seconds": {f"{side} {mode_name(tiled)}": v for (side, tiled), v in seconds.items()},
        "mp_per_s": {
            f"{side} {mode_name(tiled)}": output_mp / statistics.median(v)
            for (side, tiled), v in seconds.items()
        },
        "ours_vs_reference_untiled": max_level_difference(
            outputs["ours", False], outputs["reference", False]
        ),
        "tiled_vs_untiled": {
            side: max_level_difference(outputs[side, True], outputs[side, False]) for side in sides
        },
    }
    result["network_pixels_tiled"] = {
        side: network_pixels(modules, config, side, scratch) for side in sides
    }
    if args.memory:
        result["peak_mib"] = peak_memory(config, sides, modes, args.memory_jobs)
    return result


def ratio(ours: float, reference: float) -> str:
    return f"{ours / reference:.2f}" if reference else "-"


def paired_ratio(result: dict[str, Any], mode: str) -> float:
    """The median over repeats of ours' throughput over the reference's in the same repeat
    (the two ran back to back, so a burst of load elsewhere hits the pair, not one side)."""
    ours, reference = result["seconds"][f"ours {mode}"], result["seconds"][f"reference {mode}"]
    return statistics.median(r / o for o, r in zip(ours, reference, strict=True))


def table(results: list[dict[str, Any]]) -> list[str]:
    """One Markdown row per model and mode: ours | reference | ours/reference."""
    lines = [
        "| model | crop (input) | mode | MP/s ours | MP/s reference | ratio | peak MiB ours "
        "| peak MiB reference | ratio | network pixels per input pixel: ours / reference "
        "| max diff from untiled, levels: ours / reference |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for mode in ("untiled", "tiled"):
            ours, ref = result["mp_per_s"][f"ours {mode}"], result["mp_per_s"][f"reference {mode}"]
            row = [result["model"], "x".join(map(str, result["crop"])), mode]
            row += [f"{ours:.4f}", f"{ref:.4f}", f"{paired_ratio(result, mode):.2f}"]
            if "peak_mib" in result:
                mem_ours = result["peak_mib"][f"ours {mode}"]
                mem_ref = result["peak_mib"][f"reference {mode}"]
                row += [f"{mem_ours:.0f}", f"{mem_ref:.0f}", ratio(mem_ours, mem_ref)]
            else:
                row += ["-", "-", "-"]
            work = result.get("network_pixels_tiled", {})
            if mode == "untiled":
                row.append("1 / 1")
            elif work.get("ours") and work.get("reference"):
                row.append(f"{work['ours']:.2f} / {work['reference']:.2f}")
            else:
                row.append("-")
            diffs = result["tiled_vs_untiled"]
            row.append(f"{diffs['ours']} / {diffs['reference']}" if mode == "tiled" else "")
            lines.append("| " + " | ".join(row) + " |")
    return lines


def report(raw: dict[str, Any]) -> None:
    print()
    print(f"`{raw['command']}` ({raw['minutes']:.1f} min, device {raw['device']}, "
          f"{raw['threads']} threads, tile {raw['tile']} pad {raw['tile_pad']})")  # fmt: skip
    print()
    print("\n".join(table(raw["results"])))
    print()
    for result in raw["results"]:
        line = (
            f"{result['model']}: ours vs reference, both untiled: max diff "
            f"{result['ours_vs_reference_untiled']} levels"
        )
        peaks = result.get("peak_mib", {})
        if "ours untiled first call" in peaks:
            first = [peaks[f"{side} {mode} first call"] for side in ("ours", "reference")
                     for mode in ("untiled", "tiled")]  # fmt: skip
            line += (
                f"; first call on a {WARMUP_CROP[0]}x{WARMUP_CROP[1]} crop (one-off costs): ours "
                f"{first[0]:.0f}/{first[1]:.0f} MiB, reference {first[2]:.0f}/{first[3]:.0f} MiB "
                "(untiled/tiled)"
            )
        print(line)
    methods = {r["peak_mib"]["method"] for r in raw["results"] if "peak_mib" in r}
    if methods:
        print(
            f"peak memory: {', '.join(sorted(methods))}, in one child process per "
            "configuration, after its first call on a small crop"
        )


def crop_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not HEIGHTxWIDTH, e.g. 96x128") from None
    if h < 1 or w < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: both sides must be positive")
    return h, w


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODEL_NAMES), choices=MODEL_NAMES)
    parser.add_argument(
        "--repeats", type=int, help=f"timed runs per configuration ({FULL['repeats']})"
    )
    parser.add_argument("--tile", type=int, help=f"input pixels per tile side ({FULL['tile']})")
    parser.add_argument(
        "--tile-pad", type=int, help=f"context pixels per tile ({FULL['tile_pad']})"
    )
    parser.add_argument(
        "--tile-overlap", type=int, help="ours only: pixels tiles share (default: the contract's)"
    )
    parser.add_argument("--pre-pad", type=int, default=0, help="both sides (upstream CLI's: 0)")
    parser.add_argument("--rrdb-crop", type=crop_size, help="RRDBNet input, HxW (96x128)")
    parser.add_argument("--compact-crop", type=crop_size, help="SRVGGNetCompact input (192x256)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, help="torch intra-op threads (torch's default)")
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument(
        "--memory-jobs", type=int, help="peak-memory children run at once (1; --quick: 4)"
    )
    parser.add_argument(
        "--project", type=Path, help="a rendered superres project (default: render --preset)"
    )
    parser.add_argument("--preset", default=PRESET, help=f"rendered when no --project ({PRESET})")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--quick", action="store_true", help="tiny crops and tiles, one repeat")
    parser.add_argument("--report", type=Path, help="only print the tables of a --json file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.project is not None:
        args.project = args.project.resolve()
    defaults = QUICK if args.quick else FULL
    for key, value in defaults.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if min(args.repeats, args.tile, args.threads, args.memory_jobs) < 1:
        parser.error("--repeats, --tile, --threads and --memory-jobs must be >= 1")
    if args.tile_pad < 0 or args.pre_pad < 0:
        parser.error("--tile-pad and --pre-pad must be >= 0")
    if args.tile_pad >= args.tile or (args.tile_overlap or 0) >= args.tile:
        parser.error("--tile-pad and --tile-overlap must be smaller than --tile")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory(prefix="ganspec-superres-bench-") as scratch:
        if args.project is None:
            args.project = render(args.preset, Path(scratch))
        modules = project_modules(args.project)
        if args.tile_overlap is None and modules["contract"].SETTINGS.tile_overlap >= args.tile:
            overlap = modules["contract"].SETTINGS.tile_overlap
            raise SystemExit(f"--tile {args.tile} is not above the contract's overlap {overlap}")
        for name in args.models:
            results.append(bench_model(modules, name, args, Path(scratch)))
    raw = {
        "command": shlex.join(["python", "benchmarks/superres.py", *(argv or sys.argv[1:])]),
        "minutes": (time.perf_counter() - start) / 60,
        "cpus": os.cpu_count(),
        **{key: getattr(args, key) for key in ("device", "threads", "tile", "tile_pad", "pre_pad")},
        "results": results,
    }
    report(raw)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2))


if __name__ == "__main__":
    main()
