"""Export the trained generator with torch.export: one .pt2 file that runs without this code.

    python export.py --checkpoint runs/NAME/last.pt --out generator.pt2

Load it with ``torch.export.load("generator.pt2").module()(z)``; the batch size is free.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch
from torch import Tensor

from models import Generator, load_generator, sample_latent
from storage import CorruptFile


def example_inputs(n: int, seed: int) -> tuple[Tensor, ...]:
    generator = torch.Generator().manual_seed(seed)
    return (sample_latent(n, generator=generator),)


def export_generator(model: Generator, path: str | Path, atol: float = 1e-5) -> float:
    """Export and save, then reload and compare with eager on a batch size the trace never saw:
    returns the max abs difference, RuntimeError above ``atol``."""
    model = copy.deepcopy(model).eval()
    inputs = example_inputs(4, seed=0)
    batch = torch.export.Dim("batch", min=1, max=65536)
    program = torch.export.export(model, inputs, dynamic_shapes=tuple({0: batch} for _ in inputs))
    torch.export.save(program, str(path))
    loaded = torch.export.load(str(path)).module()
    check = example_inputs(3, seed=1)
    with torch.no_grad():
        difference = (loaded(*check) - model(*check)).abs().max().item()
    if difference > atol:
        raise RuntimeError(f"exported generator differs from eager by {difference:.3g}")
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="torch.export the trained generator")
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--out", default="generator.pt2")
    args = parser.parse_args(argv)
    try:
        model, _ = load_generator(args.checkpoint)
    except CorruptFile as error:
        parser.exit(2, f"error: {error}\n")
    difference = export_generator(model, args.out)
    print(f"exported {args.out}; max abs difference to eager: {difference:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
