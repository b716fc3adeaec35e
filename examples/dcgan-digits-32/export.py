"""Export the trained generator with torch.export: one .pt2 file that runs without this code.

    python export.py --checkpoint runs/NAME/last.pt --out generator.pt2

The file is reloaded and checked against the eager model on fixed inputs before we trust it.
Load it elsewhere with ``torch.export.load("generator.pt2").module()(z)`` (plus labels for a
conditional GAN); the batch size is free.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from models import Generator, load_generator, sample_labels, sample_latent
from storage import CorruptFile


def example_inputs(cfg: dict[str, Any], n: int, seed: int = 0) -> tuple[Tensor, ...]:
    """Fixed latents (and labels for a conditional GAN) to trace and to compare with."""
    generator = torch.Generator().manual_seed(seed)
    z = sample_latent(n, generator=generator)
    labels = sample_labels(n, generator=generator)
    return (z,) if labels is None else (z, labels)


def plain(model: Generator) -> nn.Module:
    """A copy in eval mode with spectral norm folded into plain weights: at inference it is
    a constant rescaling, and the exported graph stays simple."""
    model = copy.deepcopy(model).eval()
    for module in model.modules():
        if parametrize.is_parametrized(module, "weight"):
            parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    return model


def export_generator(
    model: Generator, cfg: dict[str, Any], path: str | Path, atol: float = 1e-5
) -> float:
    """Export, save, reload and compare with eager on fixed inputs; returns the max abs
    difference and raises if it exceeds ``atol``."""
    model = plain(model)
    inputs = example_inputs(cfg, 4)
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.export.export(model, inputs, dynamic_shapes=tuple({0: batch} for _ in inputs))
    torch.export.save(program, str(path))
    loaded = torch.export.load(str(path)).module()
    difference = 0.0
    with torch.no_grad():
        for n, seed in ((4, 1), (3, 2)):  # also a batch size the trace never saw
            check = example_inputs(cfg, n, seed)
            difference = max(difference, (loaded(*check) - model(*check)).abs().max().item())
    if difference > atol:
        raise RuntimeError(f"exported generator differs from eager by {difference:.3g}")
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="torch.export the trained generator")
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--out", default="generator.pt2")
    parser.add_argument("--no-ema", action="store_true", help="export G's raw weights")
    args = parser.parse_args(argv)
    try:
        model, cfg = load_generator(args.checkpoint, use_ema=not args.no_ema)
    except CorruptFile as error:
        parser.exit(2, f"error: {error}\n")
    difference = export_generator(model, cfg, args.out)
    print(f"exported {args.out}; max abs difference to eager: {difference:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
