"""Score what a trained generator learned.

    python evaluate.py --checkpoint runs/NAME/last.pt [--samples N] [--json]

Memorization in pixel space: nearest-training-sample distances of generated vs held-out
samples (validation.holdout, never trained on).
Fréchet distance of generated vs held-out samples next to the real floor (training vs
held-out), and precision/recall against the training samples, in a digits classifier's features.
The classifier also gives the digit histogram of generated samples.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch
from torch import Tensor

from data import build_dataset, from_range
from features import DigitsFeatures, train_digits_classifier
from metrics import class_histogram, frechet_distance, memorization, precision_recall
from models import Generator, load_generator, sample_latent

REAL_LIMIT = 10_000  # real samples per split used for image metrics (a seeded subset)
BATCH = 500


@torch.no_grad()
def generate(generator: Generator, n: int, seed: int, device: Any = "cpu") -> Tensor:
    """n samples on the CPU from fixed noise drawn from its own seeded RNG (the global one is
    left alone)."""
    latent = sample_latent(n, generator=torch.Generator().manual_seed(seed))
    was_training = generator.training
    generator.eval()
    fake = torch.cat([generator(z.to(device)).float().cpu() for z in latent.split(BATCH)])
    generator.train(was_training)  # the Scorer samples mid-training
    return fake


def real_images(cfg: dict[str, Any], part: str, seed: int) -> Tensor:
    """A split of the real data in [0, 1], at most REAL_LIMIT samples (a seeded subset)."""
    dataset = build_dataset(cfg, part)
    keep = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    images = [dataset[i][0] for i in keep[:REAL_LIMIT].tolist()]
    if len(images) < 4:
        raise ValueError(
            f"{len(images)} {part} real samples: set validation.holdout (e.g. 0.1) in "
            "config.yaml and train again, so there is unseen real data to compare with"
        )
    return from_range(torch.stack(images), cfg["data"]["range"])


def feature_metrics(
    extractor: DigitsFeatures, train: Tensor, holdout: Tensor, fake: Tensor
) -> dict[str, Any]:
    """Fréchet distance of generated vs held-out samples next to the real floor (training vs
    held-out), and precision/recall against the training samples."""
    f_train, f_holdout, f_fake = extractor(train), extractor(holdout), extractor(fake)
    generated, floor = frechet_distance(f_fake, f_holdout), frechet_distance(f_train, f_holdout)
    return {
        "features": extractor.name,
        "feature_dims": f_holdout.shape[1],
        "frechet": {
            "generated_vs_holdout": generated,
            "train_vs_holdout": floor,
            "ratio": generated / floor if floor > 0 else None,
        },
        "precision_recall": {
            "generated": precision_recall(f_train, f_fake),
            "holdout": precision_recall(f_train, f_holdout),
        },
    }


class Scorer:
    """validation.fid during training: the Fréchet distance of fixed noise's samples vs the
    held-out ones, next to the real floor (real features computed once)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg, self.samples, self.seed = cfg, cfg["validation"]["fid"]["samples"], cfg["seed"]
        self.extractor = train_digits_classifier(cfg)
        self.holdout = self.extractor(real_images(cfg, "holdout", self.seed))
        train = self.extractor(real_images(cfg, "train", self.seed)[: self.samples])
        self.floor = frechet_distance(train, self.holdout)

    def __call__(self, generator: Generator, device: Any) -> dict[str, Any]:
        fake = generate(generator, self.samples, self.seed, device)
        fd = frechet_distance(
            self.extractor(from_range(fake, self.cfg["data"]["range"])), self.holdout
        )
        return {
            "fd": fd,
            "feature_dims": self.holdout.shape[1],
            "fd_floor": self.floor,
            "fd_ratio": fd / self.floor if self.floor else None,
        }


def evaluate(checkpoint: str, samples: int | None = None, seed: int = 0) -> dict[str, Any]:
    """The report for a checkpoint; ValueError when it cannot be computed (and why)."""
    generator, cfg = load_generator(checkpoint)
    train, holdout = real_images(cfg, "train", seed), real_images(cfg, "holdout", seed)
    n = samples or len(train)  # as many as the real training samples: comparable FD bias
    fake = generate(generator, n, seed)
    fake = from_range(fake, cfg["data"]["range"])
    result: dict[str, Any] = {
        "source": cfg["data"]["source"]["type"],
        "checkpoint": checkpoint,
        "samples": n,
        "real_train": len(train),
        "real_holdout": len(holdout),
        "memorization": memorization(fake, train, holdout),
    }
    extractor = train_digits_classifier(cfg, log=lambda text: print(text, file=sys.stderr))
    result.update(feature_metrics(extractor, train, holdout, fake))
    predicted = extractor.classify(fake)
    result["classifier_holdout_accuracy"] = extractor.holdout_accuracy
    result["classes"] = class_histogram(predicted, 10)
    return result


def describe(result: dict[str, Any]) -> str:
    lines = [
        f"{result['source']}: {result['samples']} generated vs {result['real_train']} training "
        f"and {result['real_holdout']} held-out real samples"
    ]
    lines += describe_features(result)
    classes = result["classes"]
    lines.append(
        f"  digit classes covered {classes['classes_covered']}/10, counts {classes['counts']}"
        f", KL to uniform {classes['kl_to_uniform']:.3f} (classifier held-out accuracy "
        f"{result['classifier_holdout_accuracy']:.1%})"
    )
    memo = result["memorization"]
    ratio = "n/a" if memo["ratio"] is None else f"{memo['ratio']:.2f}"
    lines.append(
        "  memorization: median distance to the nearest training image "
        f"{memo['median_nn_generated']:.3f} generated vs {memo['median_nn_holdout']:.3f} "
        f"held-out (ratio {ratio}); "
        f"{memo['near_copies_percent']:.1f}% near copies (about 1% is normal)"
    )
    return "\n".join(lines)


def describe_features(result: dict[str, Any]) -> list[str]:
    fd, pr = result["frechet"], result["precision_recall"]
    ratio = "n/a" if fd["ratio"] is None else f"{fd['ratio']:.2f}x"
    return [
        f"  Fréchet distance ({result['features']} features): {fd['generated_vs_holdout']:.3f} "
        f"generated vs held-out; real floor {fd['train_vs_holdout']:.3f} (ratio {ratio})",
        f"  precision {pr['generated']['precision']:.3f} recall {pr['generated']['recall']:.3f}"
        f" (held-out real: {pr['holdout']['precision']:.3f} / {pr['holdout']['recall']:.3f})",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument("--samples", type=int, help="default: as many as the training split")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.samples is not None and args.samples < 4:
        parser.error("--samples must be at least 4")
    try:
        result = evaluate(args.checkpoint, args.samples, args.seed)
    except (ValueError, FileNotFoundError) as error:
        print(f"evaluate.py: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else describe(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
