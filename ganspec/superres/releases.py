"""The Real-ESRGAN releases ganspec knows: architecture, scale, file size and sha256.

Pure data, no torch: ``ganspec validate`` checks a weights file against these before anything
loads it, and the render writes the entry of the spec's model into the project's contract.py.
Sizes and hashes: the files on github.com/xinntao/Real-ESRGAN/releases (RealESRGAN_x2plus's
sha256 and size are the values several independent projects publish for v0.2.1's file; its size
also equals x4plus's plus the 9 * 64 * 3 * 3 extra float32 weights of its first conv).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

RELEASES_URL = "https://github.com/xinntao/Real-ESRGAN/releases/download"


@dataclass(frozen=True)
class Release:
    name: str  # the release's file stem, also the key of the rendered models.MODELS
    arch: Literal["RRDBNet", "SRVGGNetCompact"]
    scale: int
    params: int  # parameters of the released network
    size: int  # bytes of the .pth file
    sha256: str
    tag: str  # the GitHub release holding the file
    blocks: int  # RRDB blocks (RRDBNet) or body convs (SRVGGNetCompact)
    purpose: str

    @property
    def filename(self) -> str:
        return f"{self.name}.pth"

    @property
    def url(self) -> str:
        return f"{RELEASES_URL}/{self.tag}/{self.filename}"


RELEASES: dict[str, Release] = {
    release.name: release
    for release in (
        Release(
            "RealESRGAN_x4plus",
            "RRDBNet",
            4,
            16_697_987,
            67_040_989,
            "4fa0d38905f75ac06eb49a7951b426670021be3018265fd191d2125df9d682f1",
            "v0.1.0",
            23,
            "photos and general images",
        ),
        Release(
            "RealESRGAN_x4plus_anime_6B",
            "RRDBNet",
            4,
            4_467_779,
            17_938_799,
            "f872d837d3c90ed2e05227bed711af5671a6fd1c9f7d7e91c911a61f155e99da",
            "v0.2.2.4",
            6,
            "anime and cel-shaded illustrations",
        ),
        Release(
            "RealESRGAN_x2plus",
            "RRDBNet",
            2,
            16_703_171,
            67_061_725,
            "49fafd45f8fd7aa8d31ab2a22d14d91b536c34494a5cfe31eb5d89c2fa266abb",
            "v0.2.1",
            23,
            "photos, x2",
        ),
        Release(
            "realesr-general-x4v3",
            "SRVGGNetCompact",
            4,
            1_213_296,
            4_885_111,
            "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292",
            "v0.2.5.0",
            32,
            "general images, small and fast, denoise adjustable",
        ),
    )
}

# The weak-denoise twin of realesr-general-x4v3, blended with it by ``denoise_strength``.
WEAK_DENOISE = Release(
    "realesr-general-wdn-x4v3",
    "SRVGGNetCompact",
    4,
    1_213_296,
    4_885_111,
    "1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca",
    "v0.2.5.0",
    32,
    "realesr-general-x4v3 trained without denoising",
)
DENOISABLE = "realesr-general-x4v3"
MODEL_NAMES = tuple(RELEASES)
