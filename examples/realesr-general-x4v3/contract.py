"""The spec's contract: the model, its weights, and how images go in and come out.

Rendered by ganspec 0.1.0 from the general_sr spec. Every other module reads its
numbers from here; upscale.py's flags override the ``Settings`` fields for one run. Relative
paths below start at this project's folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

PROJECT = Path(__file__).resolve().parent  # relative paths below start here


def project_path(path: str) -> Path:
    """A path of this contract as the project resolves it: relative ones start at PROJECT."""
    return PROJECT / path


# SRVGGNetCompact, 1,213,296 parameters: general images, small and fast, denoise adjustable.
MODEL = "realesr-general-x4v3"
SCALE = 4  # the network's native enlargement of each side


@dataclass(frozen=True)
class WeightsFile:
    """A released weights file: where it lives and what it must hash to before torch.load."""

    path: str  # relative paths start at the project folder
    size: int  # bytes
    sha256: str
    url: str  # where users download it; nothing here downloads


WEIGHTS = WeightsFile(
    path="../../specs/weights/realesr-general-x4v3.pth",
    size=4_885_111,
    sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
    url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
)
# Deep network interpolation (upstream's dni): the loaded weights are
# DENOISE_STRENGTH * WEIGHTS + (1 - DENOISE_STRENGTH) * WEAK_DENOISE_WEIGHTS, tensor by tensor.
WEAK_DENOISE_WEIGHTS: WeightsFile | None = WeightsFile(
    path="../../specs/weights/realesr-general-wdn-x4v3.pth",
    size=4_885_111,
    sha256="1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca",
    url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-wdn-x4v3.pth",
)
DENOISE_STRENGTH: float | None = 0.5

ChannelOrder = Literal["bgr", "rgb"]
AlphaMode = Literal["model", "resize", "refuse"]
Precision = Literal["fp32", "fp16", "bf16"]
Device = Literal["auto", "cpu", "cuda", "mps"]
BitDepth = Literal["same", "8", "16"]
OutputFormat = Literal["png", "jpg", "webp", "npy"]


@dataclass(frozen=True)
class Settings:
    """How one image is upscaled. Defaults are the spec's; upscale.py's flags override them."""

    # Of arrays handed to upscale_array (files are read as OpenCV's BGR).
    channel_order: ChannelOrder = "bgr"
    # model: alpha through the network as gray; resize: linear; refuse: the image fails.
    alpha: AlphaMode = "model"
    # keep: a 1-channel input comes back 1-channel; color: as 3 channels.
    grayscale: Literal["keep", "color"] = "keep"
    # Final enlargement; != SCALE: native x SCALE through the network, then a Lanczos resize.
    outscale: float = 4.0
    # Input pixels per tile side; 0: the whole image in one pass.
    tile: int = 512
    # Context pixels around each tile, run through the network and cut off.
    tile_pad: int = 10
    # Input pixels neighbouring tiles share, blended with linear weights (tiled == untiled
    # once tile_pad reaches the network's receptive radius: 34 here).
    tile_overlap: int = 16
    # Reflect padding at the bottom and right before the network, cut after.
    pre_pad: int = 0
    precision: Precision = "fp32"
    device: Device = "auto"  # auto: cuda, then mps, then cpu


SETTINGS = Settings()

# scikit-learn's china.jpg and flower.jpg, read straight from its package folder (offline).
INPUT = "sklearn-photos"
INPUT_SUFFIXES = (".bmp", ".jpeg", ".jpg", ".png", ".tif", ".tiff", ".webp")
# The bit depth inputs may have; another fails the image.
INPUT_BIT_DEPTH: Literal["8", "16", "any"] = "any"

OUTPUT_DIR = "results"
OUTPUT_FORMAT: OutputFormat = "png"
# china.jpg -> results/china_out.png
OUTPUT_SUFFIX = "_out"
# same: 16-bit in, 16-bit out (decided by the dtype, never by the brightest pixel).
BIT_DEPTH: BitDepth = "same"
JPEG_QUALITY = 95
# True: an output already there is left alone and counted as skipped.
SKIP_EXISTING = True
