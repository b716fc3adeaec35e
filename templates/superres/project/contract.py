"""The spec's contract for this project: the model, its weights, and how images go in and out.

SAMPLE rendered for the realesr-general-x4v3 preset (ganspec renders this file from the spec;
contract.py.j2 produces exactly these names). Every other module reads its numbers from here;
the CLI flags of upscale.py override the ``Settings`` fields for one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MODEL = "realesr-general-x4v3"  # a key of models.MODELS
SCALE = 4  # the network's native enlargement of each side


@dataclass(frozen=True)
class WeightsFile:
    """A released weights file: where it lives and what it must hash to before torch.load."""

    path: str  # relative paths start at the project folder
    size: int  # bytes
    sha256: str
    url: str  # where users download it; nothing here downloads


WEIGHTS = WeightsFile(
    path="weights/realesr-general-x4v3.pth",
    size=4_885_111,
    sha256="8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
    url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-x4v3.pth",
)
# Deep network interpolation (upstream's dni): the loaded weights are
# DENOISE_STRENGTH * WEIGHTS + (1 - DENOISE_STRENGTH) * WEAK_DENOISE_WEIGHTS, tensor by tensor.
# Both are None for a spec without a denoise strength.
WEAK_DENOISE_WEIGHTS: WeightsFile | None = WeightsFile(
    path="weights/realesr-general-wdn-x4v3.pth",
    size=4_885_111,
    sha256="1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca",
    url="https://github.com/xinntao/Real-ESRGAN/releases/download/v0.2.5.0/realesr-general-wdn-x4v3.pth",
)
DENOISE_STRENGTH: float | None = 0.5

ChannelOrder = Literal["bgr", "rgb"]
AlphaMode = Literal["model", "resize"]
Precision = Literal["fp32", "fp16", "bf16"]
Device = Literal["auto", "cpu", "cuda", "mps"]
BitDepth = Literal["same", "8", "16"]
OutputFormat = Literal["png", "jpg", "webp", "npy"]


@dataclass(frozen=True)
class Settings:
    """How one image is upscaled. Defaults are the spec's; upscale.py's flags override them."""

    channel_order: ChannelOrder = "bgr"  # of arrays handed to upscale_array (files: OpenCV's BGR)
    alpha: AlphaMode = "model"  # "model": alpha through the network as gray; "resize": linear
    grayscale: Literal["keep", "color"] = "keep"  # a 1-channel input comes back 1-channel, or 3
    outscale: float = 4.0  # final enlargement; != SCALE: native x SCALE, then a Lanczos resize
    tile: int = 256  # input pixels per tile side; 0: the whole image in one pass
    tile_pad: int = 10  # context pixels around each tile, run through the network and discarded
    tile_overlap: int = 16  # input pixels neighbouring tiles share, blended linearly (no seams)
    pre_pad: int = 0  # reflect-padding at the bottom/right before the network, cropped after
    precision: Precision = "fp32"
    device: Device = "auto"  # auto: cuda, then mps, then cpu


SETTINGS = Settings()

# Input: a file or a folder (not recursive), or "sklearn-photos": scikit-learn's china.jpg and
# flower.jpg read straight from its package folder (offline).
INPUT = "sklearn-photos"
INPUT_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")

OUTPUT_DIR = "results"
OUTPUT_FORMAT: OutputFormat = "png"
OUTPUT_SUFFIX = "_out"  # china.jpg -> results/china_out.png
BIT_DEPTH: BitDepth = "same"  # "same": 16-bit in, 16-bit out (by dtype, never by max value)
JPEG_QUALITY = 95
SKIP_EXISTING = True  # an output already there is left alone and counted as skipped
