"""The rendered superres tiles.py, the same for every spec and tested once here on one render
(tests/superres_project.py): the plan covers the image with tiles stepping tile - overlap, the
blend is exact when the context covers the receptive field, seams shrink below upstream's
cropping when it does not, and the network never sees more than a padded tile."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor, nn

from tests.superres_project import modules

models, tiles = modules("models", "tiles")

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")


class ConvStack(nn.Module):
    """``depth`` random 3x3 convs then nearest x``scale``: receptive radius exactly ``depth``."""

    def __init__(self, depth: int, scale: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(*(nn.Conv2d(3, 3, 3, 1, 1) for _ in range(depth)))
        self.scale = scale
        self.seen: list[tuple[int, int]] = []

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((x.shape[2], x.shape[3]))
        return nn.functional.interpolate(self.convs(x), scale_factor=self.scale, mode="nearest")


def upstream_tiled(model: nn.Module, x: Tensor, scale: int, tile: int, pad: int) -> Tensor:
    """RealESRGANer.tile_process (realesrgan 0.3.0): tiles on a ``tile`` grid, each run with
    ``pad`` context, cropped and pasted without blending. The reference for seams."""
    _, _, height, width = x.shape
    out = torch.zeros(1, 3, height * scale, width * scale)
    for y in range(math.ceil(height / tile)):
        for x_ in range(math.ceil(width / tile)):
            top, left = y * tile, x_ * tile
            bottom, right = min(top + tile, height), min(left + tile, width)
            top_p, left_p = max(top - pad, 0), max(left - pad, 0)
            bottom_p, right_p = min(bottom + pad, height), min(right + pad, width)
            result = model(x[:, :, top_p:bottom_p, left_p:right_p])
            dy, dx = (top - top_p) * scale, (left - left_p) * scale
            out[:, :, top * scale : bottom * scale, left * scale : right * scale] = result[
                :, :, dy : dy + (bottom - top) * scale, dx : dx + (right - left) * scale
            ]
    return out


@pytest.mark.parametrize("align", [1, 2, 4])
def test_spans_cover_the_axis_with_aligned_tiles_that_overlap_as_asked(align: int) -> None:
    """From 0 to the end, starts on the alignment grid, neighbours sharing at least
    ``overlap`` pixels (so no gaps), every span but the last full size, and no more tiles than
    stepping by ``tile - overlap`` needs: every axis length to 300, for tiles and overlaps of
    several sizes."""
    for length, tile, overlap in itertools.product(
        range(1, 301), [1, 3, 8, 16, 37, 64], [0, 1, 2, 5, 15, 30]
    ):
        if overlap < tile:
            check_spans(length, tile, overlap, align)


def check_spans(length: int, tile: int, overlap: int, align: int) -> None:
    tile = math.ceil(tile / align) * align
    length = math.ceil(length / align) * align
    spans = tiles.axis_spans(length, tile, overlap, align)
    assert spans[0][0] == 0
    assert spans[-1][1] == length
    if length <= tile:
        assert spans == [(0, length)]
        return
    for (start, end), (next_start, _) in itertools.pairwise(spans):
        assert next_start > start  # no duplicate tiles
        # shares at least the overlap (so no gap either); starts differ by one block at least
        assert end - next_start >= min(overlap, tile - align)
    for start, end in spans[:-1]:
        assert end - start == tile
    assert all(start % align == 0 for start, _ in spans)
    step = max(align, (tile - overlap) // align * align)
    assert len(spans) == math.ceil((length - tile) / step) + 1  # the fewest that cover it


def test_plan_is_one_tile_when_tile_is_zero_or_the_image_fits() -> None:
    assert tiles.plan_tiles(30, 40, 0, 0) == [tiles.Tile(0, 30, 0, 40)]
    assert tiles.plan_tiles(30, 40, 40, 8) == [tiles.Tile(0, 30, 0, 40)]


def test_plan_records_overlaps_with_neighbours_only() -> None:
    """A 2 x 2 grid: each tile shares pixels on its inner sides, none at the image border."""
    plan = tiles.plan_tiles(28, 28, 16, 4)
    assert [(t.top, t.bottom, t.left, t.right) for t in plan] == [
        (0, 16, 0, 16),
        (0, 16, 12, 28),
        (12, 28, 0, 16),
        (12, 28, 12, 28),
    ]
    assert plan[0].overlap_right == 4 and plan[0].overlap_bottom == 4
    assert plan[0].overlap_left == 0 and plan[0].overlap_top == 0
    assert plan[3].overlap_left == 4 and plan[3].overlap_top == 4


def test_two_ramps_crossing_over_the_same_pixels_sum_to_one() -> None:
    left = tiles.ramp(16, 0, 6)
    right = tiles.ramp(16, 6, 0)
    assert torch.allclose(left[-6:] + right[:6], torch.ones(6))
    assert (left > 0).all() and (right > 0).all()
    assert torch.equal(left[:10], torch.ones(10))


@pytest.mark.parametrize("depth", [0, 1, 3])
@torch.inference_mode()
def test_tiled_equals_untiled_when_the_pad_covers_the_receptive_field(depth: int) -> None:
    """Any image size and grid: with ``tile_pad`` = the radius, tiled == untiled to float
    tolerance, and the model never sees more than ``tile + 2 * tile_pad`` pixels a side."""
    torch.manual_seed(0)
    model = ConvStack(depth, scale=2).eval()
    for (height, width), tile, overlap in itertools.product(
        [(1, 1), (5, 40), (17, 33), (40, 29)], [7, 16], [0, 3]
    ):
        x = torch.rand(1, 3, height, width)
        whole = model(x)
        model.seen.clear()
        tiled = tiles.tiled_forward(model, x, 2, tile, depth, overlap)
        assert tiled.shape == whole.shape
        assert torch.allclose(tiled, whole, atol=1e-5), (height, width, tile, overlap)
        assert all(h <= tile + 2 * depth and w <= tile + 2 * depth for h, w in model.seen)


@torch.inference_mode()
def test_a_short_pad_is_not_exact() -> None:
    """The contract above is not vacuous: with less context than the radius, tiles differ."""
    torch.manual_seed(0)
    model = ConvStack(3, scale=2).eval()
    x = torch.rand(1, 3, 30, 30)
    assert tiles.tiling_error(model, x, 2, 10, 1, 2) > 1e-3


def trained_like(model: nn.Module) -> nn.Module:
    """general-x4v3 with He-initialised convs (PReLU slope 0.25), zero biases and a small last
    conv: like trained weights, the signal reaches the whole receptive field and the residual
    is a few percent of the image. (PyTorch's default init shrinks it at every layer, so far
    context has no effect and any tiling looks exact.)"""
    with torch.no_grad():
        convs = [layer for layer in model.body if isinstance(layer, nn.Conv2d)]
        for conv in convs:
            nn.init.kaiming_normal_(conv.weight, a=0.25)
            conv.bias.zero_()
        convs[-1].weight.mul_(0.05)
    return model


@torch.inference_mode()
def test_general_x4v3_tiled_equals_untiled_with_a_pad_of_its_radius() -> None:
    """SRVGGNetCompact general-x4v3 (32 + 2 convs: radius 34): a 40 x 52 image in 16-pixel
    tiles with 34 pixels of context gives the untiled result to float tolerance; with 10
    (the contract's default pad) it does not, so the weights do reach that far."""
    torch.manual_seed(0)
    model = trained_like(models.build("realesr-general-x4v3").eval())
    assert tiles.receptive_radius(model) == 34
    x = torch.rand(1, 3, 40, 52)
    error = tiles.tiling_error(model, x, 4, 16, 34, 4)
    assert error < 1e-5, error  # measured 1.2e-7
    assert tiles.tiling_error(model, x, 4, 16, 10, 4) > 1e-4  # measured 7.5e-3


@pytest.mark.parametrize("scale", [2, 1])
@torch.inference_mode()
def test_rrdbnet_x2_and_x1_tile_on_their_fold_grid(scale: int) -> None:
    """RRDBNet folds 2 x 2 (x2) or 4 x 4 (x1) pixel blocks first: odd image sizes are padded to
    a multiple and cropped back, and tiles start on the fold grid, so with enough context the
    tiled result equals the untiled one."""
    torch.manual_seed(0)
    model = models.RRDBNet(num_block=1, scale=scale).eval()
    x = torch.rand(1, 3, 27, 21)
    whole = tiles.tiled_forward(model, x, scale, 0, 0, 0)
    assert whole.shape == (1, 3, 27 * scale, 21 * scale)
    pad = tiles.receptive_radius(model)
    error = tiles.tiling_error(model, x, scale, 10, pad, 3)
    assert error < 1e-5, error


@torch.inference_mode()
def test_blended_seams_are_closer_to_untiled_than_upstream_cropping() -> None:
    """RRDBNet-6 with 2 pixels of context (far below its radius): the blended tiles are much
    closer to the untiled output than upstream's cropped tiles (measured 1.0e-3 vs 1.4e-2)."""
    torch.manual_seed(0)
    model = models.build("RealESRGAN_x4plus_anime_6B").eval()
    x = torch.rand(1, 3, 24, 24)
    whole = model(x)
    ours = (tiles.tiled_forward(model, x, 4, 12, 2, 4) - whole).abs().max().item()
    upstream = (upstream_tiled(model, x, 4, 12, 2) - whole).abs().max().item()
    assert ours < upstream / 3, (ours, upstream)
