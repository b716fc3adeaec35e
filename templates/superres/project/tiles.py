"""Tiled inference that leaves no seams, with model memory bounded by the tile size.

Why: a whole photo through RRDBNet needs gigabytes of activations, so upstream's
``RealESRGANer`` cuts the input into tiles, runs each with ``tile_pad`` pixels of context and
pastes the cropped results side by side. Where the context is shorter than the network's
receptive field, the two sides of a cut disagree and users see seams. Here neighbouring tiles
overlap by ``tile_overlap`` input pixels and are cross-faded with linear ramps
(``sum(value * weight) / sum(weight)``, divided once at the end), so:

- with ``tile_pad`` at least the network's receptive radius (``receptive_radius``), every
  output pixel that any tile contributes was computed with its full context, so the blend of
  equal values is the untiled result to float tolerance;
- with a shorter pad the disagreement is spread over the overlap instead of stepping at a cut.

Peak model memory is that of one ``(tile + 2 * tile_pad)``-sided forward whatever the image
size; only the output accumulator grows with the image, as upstream's output does (the blend
weights' sum is separable: two 1-D arrays, not a third output-sized one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Peak memory of upscale.upscale_array per OUTPUT pixel, measured for general-x4v3 (fp32,
# CPU, tile 64): the peak RSS of a child process minus that of one that only built the model,
# its slope between 256x256 and 512x512 inputs: 17 bytes at outscale 4, 23 at outscale 3.5
# (35 and 49 before the in-place rounding and the 1-D weight sums), over a fixed 30-40 MB
# (one tile's activations, the kernels' first use). The floor: this module's float32 RGB
# accumulator (12 bytes per native-scale pixel), the integer result (3 bytes, 6 at 16 bits),
# and for another outscale one resized float plane (4 bytes).


@dataclass(frozen=True)
class Tile:
    """One tile's input rectangle, ``[top, bottom) x [left, right)`` in input pixels, and how
    many pixels it shares with its neighbour on each side (0 at the image border)."""

    top: int
    bottom: int
    left: int
    right: int
    overlap_top: int = 0
    overlap_bottom: int = 0
    overlap_left: int = 0
    overlap_right: int = 0


def axis_spans(length: int, tile: int, overlap: int, align: int = 1) -> list[tuple[int, int]]:
    """``[start, end)`` spans covering ``0..length``: ``tile`` pixels each from 0, stepping
    ``tile - overlap`` (rounded down to the alignment grid, one block at least), the last one
    ending at ``length``, shorter where the steps do not land there. So neighbours share
    ``overlap`` pixels (more only where the alignment rounds the step), and the network does
    upstream's work plus the overlaps, no more: a last tile padded to full size would cost up
    to a whole extra tile per row. Starts are multiples of ``align`` (pixel_unshuffle's block
    size) so each tile folds pixels as the whole image does.
    """
    if tile <= 0 or length <= tile:
        return [(0, length)]
    if not 0 <= overlap < tile:
        raise ValueError(f"tile_overlap must be in [0, tile); got {overlap} with tile {tile}")
    step = max(align, (tile - overlap) // align * align)
    spans = []
    start = 0
    while True:
        end = min(start + tile, length)
        spans.append((start, end))
        if end == length:
            return spans
        start += step


def plan_tiles(height: int, width: int, tile: int, overlap: int, align: int = 1) -> list[Tile]:
    """The tiles covering a ``height x width`` input, row by row (see ``axis_spans``);
    ``tile`` 0 or an image that fits one tile gives one tile, the whole image."""
    rows = axis_spans(height, tile, overlap, align)
    cols = axis_spans(width, tile, overlap, align)
    row_overlaps = _neighbour_overlaps(rows)
    col_overlaps = _neighbour_overlaps(cols)
    return [
        Tile(top, bottom, left, right, *row_overlaps[i], *col_overlaps[j])
        for i, (top, bottom) in enumerate(rows)
        for j, (left, right) in enumerate(cols)
    ]


def _neighbour_overlaps(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """For each span, the pixels it shares with the previous and with the next span."""
    result = []
    for i, (start, end) in enumerate(spans):
        before = max(0, spans[i - 1][1] - start) if i > 0 else 0
        after = max(0, end - spans[i + 1][0]) if i + 1 < len(spans) else 0
        result.append((before, after))
    return result


def ramp(size: int, before: int, after: int) -> Tensor:
    """Blend weights along one side of a tile's output, ``size`` pixels: rising linearly over
    the first ``before`` pixels and falling over the last ``after``, 1 elsewhere. Weights are
    sampled at pixel centres, ``(i + 0.5) / n``, so they are never 0 and two tiles crossing
    over the same ``n`` pixels sum to exactly 1."""
    weight = torch.ones(size)
    position = torch.arange(size, dtype=torch.float32) + 0.5
    if before > 0:
        weight = torch.minimum(weight, position / before)
    if after > 0:
        weight = torch.minimum(weight, (size - position) / after)
    return weight


def alignment(model: nn.Module) -> int:
    """The side length the model's input must divide by: RRDBNet's pixel_unshuffle factor
    (2 for x2, 4 for x1), else 1."""
    return int(getattr(model, "unshuffle", 1))


def pad_bottom_right(x: Tensor, pad_h: int, pad_w: int) -> Tensor:
    """``x`` (N, C, H, W) with ``pad_h`` rows added at the bottom and ``pad_w`` columns at the
    right: reflected, as upstream pads, or replicated where the image is too small to reflect
    (reflection needs fewer pad pixels than the side has)."""
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < x.shape[2] and pad_w < x.shape[3] else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def pad_to_multiple(x: Tensor, multiple: int) -> Tensor:
    """``x`` (N, C, H, W) padded at the bottom and right to sides divisible by ``multiple``
    (upstream's mod_pad), see ``pad_bottom_right``."""
    return pad_bottom_right(x, -x.shape[2] % multiple, -x.shape[3] % multiple)


def tiled_forward(
    model: nn.Module,
    x: Tensor,
    scale: int,
    tile: int,
    tile_pad: int,
    tile_overlap: int,
) -> Tensor:
    """``model(x)`` for ``x`` (1, C, H, W), computed tile by tile and blended: (1, C', H*scale,
    W*scale). ``tile`` 0, or an image that fits one tile, is a single forward.

    Each tile is ``tile`` input pixels a side (rounded up to the model's alignment), runs with
    ``tile_pad`` context pixels on every side (clipped at the image border) and has that context
    cropped off its output; overlapping cores are cross-faded by ``ramp`` weights. The
    accumulators are float32 whatever the model's dtype.
    """
    if tile < 0 or tile_pad < 0 or tile_overlap < 0:
        raise ValueError("tile, tile_pad and tile_overlap must not be negative")
    align = alignment(model)
    height, width = x.shape[2], x.shape[3]
    x = pad_to_multiple(x, align)
    padded_h, padded_w = x.shape[2], x.shape[3]
    if tile == 0 or (padded_h <= tile and padded_w <= tile):
        out = model(x)
        return out[:, :, : height * scale, : width * scale]

    tile = math.ceil(tile / align) * align
    tile_pad = math.ceil(tile_pad / align) * align  # context starts on the image's block grid
    rows = axis_spans(padded_h, tile, tile_overlap, align)
    cols = axis_spans(padded_w, tile, tile_overlap, align)
    # A tile's weight is its row ramp times its column ramp and the tiles form a grid, so the
    # weights summed over all tiles are the row ramps' sum times the column ramps' sum: two
    # 1-D accumulators instead of an output-sized one.
    row_sum = _ramp_sum(rows, scale).to(x.device)
    col_sum = _ramp_sum(cols, scale).to(x.device)
    total: Tensor | None = None
    for t in plan_tiles(padded_h, padded_w, tile, tile_overlap, align):
        top, left = max(t.top - tile_pad, 0), max(t.left - tile_pad, 0)
        bottom, right = min(t.bottom + tile_pad, padded_h), min(t.right + tile_pad, padded_w)
        out = model(x[:, :, top:bottom, left:right])
        core_h, core_w = (t.bottom - t.top) * scale, (t.right - t.left) * scale
        dy, dx = (t.top - top) * scale, (t.left - left) * scale
        core = out[:, :, dy : dy + core_h, dx : dx + core_w].float()
        weight = (
            ramp(core_h, t.overlap_top * scale, t.overlap_bottom * scale)[:, None]
            * ramp(core_w, t.overlap_left * scale, t.overlap_right * scale)[None, :]
        ).to(x.device)
        if total is None:
            total = torch.zeros(
                1, core.shape[1], padded_h * scale, padded_w * scale, device=x.device
            )
        rows_out = slice(t.top * scale, t.bottom * scale)
        cols_out = slice(t.left * scale, t.right * scale)
        total[:, :, rows_out, cols_out] += core * weight
    assert total is not None  # plan_tiles returns at least one tile
    total /= row_sum[:, None]
    total /= col_sum
    return total[:, :, : height * scale, : width * scale]


def _ramp_sum(spans: list[tuple[int, int]], scale: int) -> Tensor:
    """The blend ramps of one axis's spans (see ``ramp``) summed over the output's pixels:
    the per-axis factor of the tiles' total weight."""
    overlaps = _neighbour_overlaps(spans)
    total = torch.zeros(spans[-1][1] * scale)
    for (start, end), (before, after) in zip(spans, overlaps, strict=True):
        total[start * scale : end * scale] += ramp(
            (end - start) * scale, before * scale, after * scale
        )
    return total


def receptive_radius(model: nn.Module) -> int:
    """How many input pixels away an output pixel can still see: the context ``tile_pad``
    needs for tiled output to equal untiled output. SRVGGNetCompact: ``num_conv + 2``;
    RRDBNet: ``(2 + 15 * len(body) + 3) * unshuffle``; TypeError for anything else.

    SRVGGNetCompact: one pixel per 3x3 conv (``num_conv + 2`` of them). RRDBNet: the longest
    path runs through conv_first, every dense block's five convs and conv_body at the trunk's
    resolution (``unshuffle`` input pixels per trunk pixel, plus up to one fold block), then
    four convs at x2 and x4 of the trunk (1.25 trunk pixels): a slight overestimate.
    """
    if hasattr(model, "num_conv"):
        return int(model.num_conv) + 2
    if hasattr(model, "body") and hasattr(model, "conv_first"):
        trunk = 2 + 15 * len(model.body)
        return (trunk + 3) * alignment(model)
    raise TypeError(f"unknown architecture {type(model).__name__}")


@torch.inference_mode()
def tiling_error(
    model: nn.Module, x: Tensor, scale: int, tile: int, tile_pad: int, tile_overlap: int
) -> float:
    """The largest absolute difference between the tiled and the untiled output for ``x``
    (model units, [0, 1] images): what the benchmark and health check report."""
    whole = tiled_forward(model, x, scale, 0, 0, 0).float()
    tiled = tiled_forward(model, x, scale, tile, tile_pad, tile_overlap)
    return (tiled - whole).abs().max().item()
