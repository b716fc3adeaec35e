"""Differentiable augmentation (DiffAugment, Zhao et al. 2020).

The same random transforms are applied to real AND generated images right before D sees
them. Because they are differentiable, G's gradients flow through them, and because D never
sees an unaugmented image it cannot learn that augmentations mark real data: with little
data, D then memorises less and G does not learn to produce the augmentations.
Written for images in [-1, 1] (the DiffAugment convention), as in the paper's code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def diff_augment(x: Tensor, policy: Sequence[str]) -> Tensor:
    """Apply each named augmentation of ``policy`` in order; an empty policy is a no-op."""
    if not policy:
        return x
    if x.dim() != 4:
        raise ValueError("DiffAugment works on image batches (N, C, H, W)")
    for name in policy:
        for transform in AUGMENTATIONS[name]:
            x = transform(x)
    return x.contiguous()


def _per_sample(x: Tensor) -> Tensor:
    """One uniform [0, 1) number per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device)


def rand_brightness(x: Tensor) -> Tensor:
    return x + (_per_sample(x) - 0.5)


def rand_saturation(x: Tensor) -> Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_per_sample(x) * 2) + mean


def rand_contrast(x: Tensor) -> Tensor:
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_per_sample(x) + 0.5) + mean


def rand_translation(x: Tensor, ratio: float = 0.125) -> Tensor:
    """Shift each image by up to ``ratio`` of its size, filling with zeros."""
    n, _, h, w = x.shape
    shift_h, shift_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-shift_h, shift_h + 1, size=[n, 1, 1], device=x.device)
    dx = torch.randint(-shift_w, shift_w + 1, size=[n, 1, 1], device=x.device)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(h, device=x.device),
        torch.arange(w, device=x.device),
        indexing="ij",
    )
    # Index into a copy padded by one zero pixel: out-of-range positions read the padding.
    rows = torch.clamp(rows + dy + 1, 0, h + 1)
    cols = torch.clamp(cols + dx + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return padded.permute(0, 2, 3, 1).contiguous()[batch, rows, cols].permute(0, 3, 1, 2)


def rand_cutout(x: Tensor, ratio: float = 0.5) -> Tensor:
    """Zero one random square of ``ratio`` times the image size in each image."""
    n, _, h, w = x.shape
    cut_h, cut_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    offset_y = torch.randint(0, h + (1 - cut_h % 2), size=[n, 1, 1], device=x.device)
    offset_x = torch.randint(0, w + (1 - cut_w % 2), size=[n, 1, 1], device=x.device)
    batch, rows, cols = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(cut_h, device=x.device),
        torch.arange(cut_w, device=x.device),
        indexing="ij",
    )
    rows = torch.clamp(rows + offset_y - cut_h // 2, min=0, max=h - 1)
    cols = torch.clamp(cols + offset_x - cut_w // 2, min=0, max=w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[batch, rows, cols] = 0
    return x * mask.unsqueeze(1)


AUGMENTATIONS: dict[str, list[Callable[[Tensor], Tensor]]] = {
    "color": [rand_brightness, rand_saturation, rand_contrast],
    "translation": [rand_translation],
    "cutout": [rand_cutout],
}


def policy_of(augment: Sequence[str]) -> list[str]:
    """The DiffAugment part of data.augment (``hflip`` is applied to real data only)."""
    return [name for name in augment if name in AUGMENTATIONS]
