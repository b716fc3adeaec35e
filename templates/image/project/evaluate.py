"""Score what a trained generator learned.

    python evaluate.py --checkpoint runs/NAME/last.pt [--samples 2500] [--json]

For the 2-D mixtures (ring8, grid25) this is PacGAN's protocol (Lin et al. 2018, Table 1):
draw 2,500 samples; a sample is high quality when it lies within 3 standard deviations of its
nearest mode; a mode is covered when at least one high-quality sample lands on it; the reverse
KL divergence compares the histogram of high-quality samples over modes with the uniform one.
Image metrics (Fréchet distance, class coverage, precision/recall) are not in this version:
for image data the script says so and exits with code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import torch
from torch import Tensor

from data import mixture_modes
from models import load_generator, sample_labels, sample_latent

MIXTURES = ("ring8", "grid25")


def mode_metrics(points: Tensor, means: Tensor, std: float) -> dict[str, Any]:
    """Modes covered, share of high-quality samples and reverse KL to uniform over modes."""
    distances = torch.cdist(points.double(), means.double())
    nearest, mode = distances.min(dim=1)
    high_quality = nearest <= 3 * std
    counts = torch.bincount(mode[high_quality], minlength=len(means)).double()
    total = counts.sum().item()
    reverse_kl = None
    if total:
        share = counts[counts > 0] / total
        reverse_kl = float((share * (share * len(means)).log()).sum())
    return {
        "samples": len(points),
        "modes": len(means),
        "modes_covered": int((counts > 0).sum()),
        "high_quality_percent": 100.0 * high_quality.double().mean().item(),
        "reverse_kl": reverse_kl,
        "counts": [int(c) for c in counts.tolist()],
    }


@torch.no_grad()
def evaluate(checkpoint: str, samples: int = 2500, seed: int = 0) -> dict[str, Any]:
    """Metrics for a checkpoint; raises ValueError for data this version cannot score."""
    generator, cfg = load_generator(checkpoint)
    source = cfg["data"]["source"]["type"]
    if source not in MIXTURES:
        raise ValueError(
            f"evaluate.py scores the 2-D mixtures ({', '.join(MIXTURES)}) in this version; "
            f"image metrics for {source} data (Fréchet distance, class coverage) are not "
            "implemented yet"
        )
    rng = torch.Generator().manual_seed(seed)
    latent = sample_latent(samples, cfg, "cpu", generator=rng)
    points = generator(latent, sample_labels(samples, cfg, "cpu", generator=rng))
    means, std = mixture_modes(source)
    return {"source": source, "checkpoint": checkpoint, **mode_metrics(points, means, std)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--samples", type=int, default=2500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    try:
        result = evaluate(args.checkpoint, args.samples, args.seed)
    except ValueError as error:
        print(f"evaluate.py: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
        return 0
    kl = result["reverse_kl"]
    print(
        f"{result['source']}: {result['modes_covered']}/{result['modes']} modes covered, "
        f"{result['high_quality_percent']:.1f}% high quality, reverse KL "
        f"{'n/a (no high-quality sample)' if kl is None else f'{kl:.3f}'} "
        f"({result['samples']} samples)"
    )
    return 0 if kl is None or math.isfinite(kl) else 1


if __name__ == "__main__":
    sys.exit(main())
