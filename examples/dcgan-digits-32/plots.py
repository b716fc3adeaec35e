"""Pictures of a run, drawn with Pillow alone: sample grids and loss curves.

No torchvision or matplotlib: the project keeps its dependencies to what training needs.
"""

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


def grid_columns(n: int, classes: int | None) -> int | None:
    """Columns of a nearly square grid; for labels cycling through ``classes``, a multiple
    of it, so each column shows one class."""
    if not classes or classes > n:
        return None
    return classes * max(1, math.ceil(math.sqrt(n)) // classes)


def save_image_grid(
    images: Tensor,
    path: str | os.PathLike[str],
    value_range: list[float] | None,
    nrow: int | None = None,
    padding: int = 2,
) -> None:
    """Tile a batch (N, C, H, W) into one PNG, nearly square, with a 2-pixel gap."""
    images = from_range(images.detach().float().cpu(), value_range)
    n, channels, height, width = images.shape
    if channels not in (1, 3):  # show what a picture can: the first (or first three) channels
        images = images[:, :3] if channels > 3 else images[:, :1]
        channels = images.shape[1]
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid_h, grid_w = rows * (height + padding) + padding, nrow * (width + padding) + padding
    grid = torch.zeros(channels, grid_h, grid_w)
    for i in range(n):
        top = (i // nrow) * (height + padding) + padding
        left = (i % nrow) * (width + padding) + padding
        grid[:, top : top + height, left : left + width] = images[i]
    array = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    _save(Image.fromarray(array[:, :, 0] if channels == 1 else array), path)


def save_loss_curve(
    steps: Sequence[int],
    curves: dict[str, Sequence[float]],
    path: str | os.PathLike[str],
    width: int = 800,
    height: int = 400,
) -> None:
    """Plot loss curves against the step, one colour each, with the value range labelled."""
    image = Image.new("RGB", (width, height), WHITE)
    draw = ImageDraw.Draw(image)
    left, right, top, bottom = 60, width - 10, 24, height - 24
    values = np.array([v for vs in curves.values() for v in vs], dtype=float)
    values = values[np.isfinite(values)]
    if len(steps) == 0 or len(values) == 0:
        draw.text((left, top), "no finite losses to plot", fill=BLACK)
        _save(image, path)
        return
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    first, last = steps[0], max(steps[-1], steps[0] + 1)
    draw.rectangle((left, top, right, bottom), outline=GRAY)
    draw.text((4, top - 6), f"{hi:.3g}", fill=BLACK)
    draw.text((4, bottom - 6), f"{lo:.3g}", fill=BLACK)
    draw.text((left, bottom + 6), f"step {first}", fill=BLACK)
    draw.text((right - 70, bottom + 6), f"step {last}", fill=BLACK)
    for i, (name, ys) in enumerate(curves.items()):
        colour = (BLUE, RED, (44, 160, 44), (148, 103, 189))[i % 4]
        line = [
            (
                left + (s - first) / (last - first) * (right - left),
                bottom - (y - lo) / (hi - lo) * (bottom - top),
            )
            for s, y in zip(steps, ys, strict=True)
            if math.isfinite(y)
        ]
        if len(line) > 1:
            draw.line(line, fill=colour, width=1)
        draw.text((left + 10 + 90 * i, 6), name, fill=colour)
    _save(image, path)
