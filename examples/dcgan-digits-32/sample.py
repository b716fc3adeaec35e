"""Draw samples from a trained generator into one picture.

Usage: python sample.py --checkpoint runs/NAME/last.pt --n 64 --out samples.png
"""

from __future__ import annotations

import argparse
import sys

import torch

from config import resolve_device
from models import load_generator, sample_latent
from plots import save_image_grid
from storage import CorruptFile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sample a trained generator")
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="auto|cpu|cuda|mps")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    try:
        model, cfg = load_generator(args.checkpoint, device)
    except CorruptFile as error:
        parser.exit(2, f"error: {error}\n")
    z = sample_latent(args.n, device, generator=torch.Generator().manual_seed(args.seed))
    with torch.no_grad():
        samples = model(z)
    save_image_grid(samples, args.out, cfg["data"]["range"])
    print(f"wrote {args.n} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
