"""Pictures of a run, drawn with Pillow alone: sample grids and loss curves."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from data import from_range

WHITE, GRAY, BLACK = (255, 255, 255), (150, 150, 150), (0, 0, 0)
BLUE, RED = (31, 119, 180), (214, 39, 40)


def _save(image: Image.Image, path: str | os.PathLike[str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def save_image_grid(
    images: Tensor, path: str | os.PathLike[str], value_range: list[float], nrow: int | None = None
) -> None:
    """Tile a batch (N, C, H, W) into one PNG, ``nrow`` per row (default: nearly square)."""
    images = from_range(images.detach().float().cpu(), value_range)
    n, channels, height, width = images.shape
    nrow, pad = nrow or math.ceil(math.sqrt(n)), 2
    rows = math.ceil(n / nrow)
    grid = torch.zeros(channels, rows * (height + pad) + pad, nrow * (width + pad) + pad)
    for i, image in enumerate(images):
        top, left = (i // nrow) * (height + pad) + pad, (i % nrow) * (width + pad) + pad
        grid[:, top : top + height, left : left + width] = image
    array = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    _save(Image.fromarray(array[:, :, 0] if channels == 1 else array), path)


def save_loss_curve(
    steps: Sequence[int], curves: dict[str, Sequence[float]], path: str | os.PathLike[str]
) -> None:
    """Loss curves against the step, one colour each, with the value range labelled."""
    image = Image.new("RGB", (800, 400), WHITE)
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 60, 790, 24, 376
    values = np.array([v for vs in curves.values() for v in vs], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        draw.text((left, top), "no finite losses to plot", fill=BLACK)
        return _save(image, path)
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    first, last = steps[0], max(steps[-1], steps[0] + 1)
    draw.rectangle((left, top, right, bottom), outline=GRAY)
    draw.text((4, top - 6), f"{hi:.3g}", fill=BLACK)
    draw.text((4, bottom - 6), f"{lo:.3g}", fill=BLACK)
    draw.text((left, bottom + 6), f"step {first}", fill=BLACK)
    draw.text((right - 70, bottom + 6), f"step {last}", fill=BLACK)
    x_scale, y_scale = (right - left) / (last - first), (bottom - top) / (hi - lo)
    for i, (name, ys) in enumerate(curves.items()):
        colour = (BLUE, RED)[i % 2]
        line = [
            (left + (s - first) * x_scale, bottom - (y - lo) * y_scale)
            for s, y in zip(steps, ys, strict=True)
            if math.isfinite(y)
        ]
        if len(line) > 1:
            draw.line(line, fill=colour, width=1)
        draw.text((left + 10 + 90 * i, 6), name, fill=colour)
    _save(image, path)
