"""This spec's own contract, checked on its network with seeded random weights (no download)
and tiny images: realesr-general-x4v3, its release file and the numbers in contract.py.

Code that is the same for every spec (tiling, image files, weights checks, export) is tested
in ganspec's own suite, once; these tests use this project's network and settings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from torch import nn

import contract
import images
import models
import upscale
import weights

RELEASE_PARAMETERS = 1_213_296  # of the released realesr-general-x4v3.pth
RELEASE_SIZE = 4_885_111  # bytes
RELEASE_SHA256 = "8dc7edb9ac80ccdc30c3a5dca6616509367f05fbc184ad95b731f05bece96292"
# The contract's settings on the CPU in fp32 (the tests' device), everything else as specified.
SETTINGS = dataclasses.replace(contract.SETTINGS, device="cpu", precision="fp32")
# About 1,213,296 multiply-adds per input pixel: keep the images small.
HEIGHT, WIDTH = 12, 16


@pytest.fixture(scope="module")
def network() -> nn.Module:
    """The spec's network with seeded random weights, loaded through the release format."""
    return weights.random_model(seed=0).eval()


def image(
    channels: int, dtype: type = np.uint8, seed: int = 0, size: tuple[int, int] = (HEIGHT, WIDTH)
) -> np.ndarray:
    top = np.iinfo(dtype).max
    shape = size if channels == 1 else (*size, channels)
    rng = np.random.default_rng(seed)
    return rng.integers(0, top, size=shape, endpoint=True).astype(dtype)


@pytest.mark.surface("generator")
def test_the_network_is_the_releases() -> None:
    """SRVGGNetCompact for realesr-general-x4v3: the release's parameter count and native x4."""
    network = models.build(contract.MODEL)
    assert sum(p.numel() for p in network.parameters()) == RELEASE_PARAMETERS
    assert models.scale_of(network) == contract.SCALE == 4


@pytest.mark.surface("generator")
def test_the_weights_file_is_the_release_file_by_size_and_sha256() -> None:
    """weights.py checks the file against the release's size and hash before loading it."""
    assert (contract.WEIGHTS.size, contract.WEIGHTS.sha256) == (RELEASE_SIZE, RELEASE_SHA256)
    assert contract.WEIGHTS.url.endswith("/realesr-general-x4v3.pth")
    assert contract.DENOISE_STRENGTH == 0.5
    assert contract.WEAK_DENOISE_WEIGHTS is not None
    assert (
        contract.WEAK_DENOISE_WEIGHTS.sha256
        == "1641f8c4464b9f097c9fdda5589273713f67cf59f3d909e0bd688f0cee269dca"
    )


@pytest.mark.surface("generator")
def test_random_weights_in_the_release_format_load_strictly(tmp_path: Path) -> None:
    """Saved as {"params_ema": state_dict}, hashed, verified and loaded strictly: same outputs."""
    original = weights.random_model(seed=3).eval()
    path = tmp_path / "realesr-general-x4v3.pth"
    weights.save_release(original, path)
    loaded = weights.load_model(weights=weights.describe(path), weak=None, strength=None)
    x = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        assert torch.equal(loaded(x), original(x))


@pytest.mark.surface("generator")
def test_a_file_that_is_not_the_release_is_refused(tmp_path: Path) -> None:
    """A file at the contract's path with other bytes is refused before torch.load sees it."""
    path = weights.resolve(contract.WEIGHTS)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\0" * 64)
    with pytest.raises(weights.WeightsError, match=r"truncated|not the release"):
        weights.load_model()


@pytest.mark.surface("generator")
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_output_is_the_input_times_outscale_with_its_dtype_and_channels(
    network: nn.Module, channels: int, dtype: type
) -> None:
    """Output H x 4.0 by W x 4.0 (rounded half up), the input's dtype and channels.

    The dtype is decided by the dtype, not by the pixel values; gray images stay gray."""
    result = upscale.upscale_array(network, image(channels, dtype), SETTINGS)
    height, width = upscale.output_size(HEIGHT, WIDTH, 4.0)
    wanted = 1 if channels == 1 else channels
    assert result.dtype == dtype
    assert result.shape[:2] == (height, width)
    assert (1 if result.ndim == 2 else result.shape[2]) == wanted


@pytest.mark.surface("data pipeline")
def test_arrays_are_bgr_in_and_bgr_out(network: nn.Module) -> None:
    """Arrays are BGR in and BGR out, as the contract says.

    The same pixels in the other order give the same result in the other order."""
    pixels = image(3, seed=1)
    other = "rgb" if SETTINGS.channel_order == "bgr" else "bgr"
    ours = upscale.upscale_array(network, pixels, SETTINGS)
    theirs = upscale.upscale_array(
        network, pixels[:, :, ::-1].copy(), dataclasses.replace(SETTINGS, channel_order=other)
    )
    assert np.array_equal(ours, theirs[:, :, ::-1])
    assert contract.SETTINGS.channel_order == "bgr"


@pytest.mark.surface("generator")
def test_tiles_with_the_contracts_pad_and_overlap_leave_no_seam(network: nn.Module) -> None:
    """Tiles with the contract's pad and overlap give the untiled result within one 8-bit level.

    Tiles smaller than the image, with 10 pixels of context and 16 of blended overlap."""
    tile = max(SETTINGS.tile_pad, SETTINGS.tile_overlap) + 8
    pixels = image(3, seed=2, size=(tile + 4, tile + 8))  # two tiles a side: a seam to blend
    whole = upscale.upscale_array(network, pixels, dataclasses.replace(SETTINGS, tile=0))
    tiled = upscale.upscale_array(network, pixels, dataclasses.replace(SETTINGS, tile=tile))
    assert np.abs(whole.astype(int) - tiled.astype(int)).max() <= 1


@pytest.mark.surface("data pipeline")
def test_the_cli_writes_the_contracts_output(tmp_path: Path) -> None:
    """`upscale.py FOLDER --out DIR --random-weights`: <stem>_out.png, output = input x outscale."""
    source = tmp_path / "in"
    source.mkdir()
    cv2.imwrite(str(source / "photo.png"), image(3))
    out = tmp_path / "out"
    code = upscale.main(
        [
            str(source),
            "--out",
            str(out),
            "--random-weights",
            "--device",
            "cpu",
            "--precision",
            "fp32",
        ]
    )
    assert code == 0
    written = out / "photo_out.png"
    result = images.read_image(written)
    assert result.shape[:2] == upscale.output_size(HEIGHT, WIDTH, 4.0)
    assert [p.name for p in out.iterdir()] == [written.name]  # nothing else, no temporary file
