"""Draw samples from a trained generator into one picture.

    python sample.py --checkpoint runs/NAME/last.pt --n 64 --out samples.png
    python sample.py --checkpoint runs/NAME/last.pt --labels 3       # conditional: class 3
    python sample.py --checkpoint runs/NAME/last.pt --labels 0 1 2   # cycle through classes

Images become a grid; 2-D point data a scatter plot of generated over real points.
"""

from __future__ import annotations

import argparse
import sys

import torch

from config import is_image, resolve_device
from data import build_dataset
from models import load_generator, sample_latent
from plots import grid_columns, save_image_grid, save_scatter
from storage import CorruptFile


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="sample a trained generator")
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--n", type=int, default=64, help="number of samples")
    parser.add_argument("--out", default="samples.png")
    parser.add_argument(
        "--labels",
        type=int,
        nargs="*",
        default=None,
        help="class labels to cycle through (default: all classes)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="auto|cpu|cuda|mps")
    parser.add_argument("--no-ema", action="store_true", help="use G's raw weights")
    args = parser.parse_args(argv)

    device = resolve_device(args.device)
    try:
        model, cfg = load_generator(args.checkpoint, device, use_ema=not args.no_ema)
    except CorruptFile as error:
        parser.exit(2, f"error: {error}\n")
    z = sample_latent(args.n, device, generator=torch.Generator().manual_seed(args.seed))
    classes = cfg["data"]["classes"]
    labels, cycle = None, 0
    if classes:
        chosen = torch.tensor(args.labels or list(range(classes)))
        if chosen.min() < 0 or chosen.max() >= classes:
            parser.error(f"labels must lie in 0..{classes - 1}")
        cycle = len(chosen)
        labels = chosen[torch.arange(args.n) % cycle].to(device)
    elif args.labels:
        parser.error("this GAN is unconditional: it takes no --labels")
    with torch.no_grad():
        samples = model(z, labels)
    if is_image(cfg):
        nrow = grid_columns(args.n, cycle) if cycle > 1 else None  # a class per column
        save_image_grid(samples, args.out, cfg["data"]["range"], nrow=nrow)
    else:
        dataset = build_dataset(cfg)
        real = torch.stack([dataset[i][0] for i in range(min(2000, len(dataset)))])
        save_scatter(samples, args.out, real)
    print(f"wrote {args.n} samples to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
