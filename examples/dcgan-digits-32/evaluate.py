"""Score what a trained generator learned.

    python evaluate.py --checkpoint runs/NAME/last.pt [--samples N] [--json]

Real samples are the training split and the held-out split (validation.holdout, never trained
on). Memorization is checked in pixel space: nearest-training-sample distances of generated vs
held-out samples.

In a feature space (features.py) the report gives the Fréchet distance of generated vs
held-out samples next to the same distance for real training vs held-out samples (the floor a
perfect generator reaches at these sample sizes), and precision/recall against the training
samples.

The features come from a digits classifier trained here, which also gives the class histogram
of generated samples (mode coverage over the 10 digits).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from data import build_dataset, from_range
from features import DigitsFeatures, train_digits_classifier
from metrics import class_histogram, frechet_distance, memorization, precision_recall
from models import Generator, load_generator, sample_latent

REAL_LIMIT = 10_000  # real samples per split used for image metrics (a seeded subset)
BATCH = 500


@torch.no_grad()
def generate(
    generator: Generator, cfg: dict[str, Any], n: int, seed: int, device: Any = "cpu"
) -> Tensor:
    """n samples (on the CPU) from fixed noise. The noise comes from its own seeded generator:
    the global RNG is left alone."""
    latent = sample_latent(n, "cpu", generator=torch.Generator().manual_seed(seed))
    return torch.cat([generator(z.to(device)).float().cpu() for z in latent.split(BATCH)])


def real_images(cfg: dict[str, Any], part: str, seed: int) -> Tensor:
    """A split of the real data in [0, 1], at most REAL_LIMIT samples (a seeded subset).
    build_dataset never augments (train.py flips its own training split)."""
    dataset = build_dataset(cfg, part)
    if len(dataset) > REAL_LIMIT:  # type: ignore[arg-type]
        rng = torch.Generator().manual_seed(seed)
        keep = torch.randperm(len(dataset), generator=rng)[:REAL_LIMIT].tolist()  # type: ignore[arg-type]
        dataset = torch.utils.data.Subset(dataset, keep)
    loader = DataLoader(dataset, batch_size=BATCH)
    images = [x for x, _ in loader]
    if not images:
        return torch.empty(0, 0)
    return from_range(torch.cat(images), cfg["data"]["range"])


def held_out_images(cfg: dict[str, Any], seed: int) -> Tensor:
    """The held-out split (as real_images); ValueError when it is too small to compare with."""
    holdout = real_images(cfg, "holdout", seed)
    if len(holdout) < 4:
        raise ValueError(
            f"{len(holdout)} held-out real samples: set validation.holdout (e.g. 0.1) in "
            "config.yaml and train again, so there is unseen real data to compare with"
        )
    return holdout


def feature_metrics(
    extractor: DigitsFeatures,
    train: Tensor,
    holdout: Tensor,
    fake: Tensor,
) -> dict[str, Any]:
    """Fréchet distance of generated vs held-out samples next to the real floor (training vs
    held-out), and precision/recall against the training samples."""
    f_train, f_holdout, f_fake = extractor(train), extractor(holdout), extractor(fake)
    generated_fd, baseline_fd = (
        frechet_distance(f_fake, f_holdout),
        frechet_distance(f_train, f_holdout),
    )
    return {
        "features": extractor.name,
        "feature_dims": f_holdout.shape[1],
        "frechet": {
            "generated_vs_holdout": generated_fd,
            "train_vs_holdout": baseline_fd,
            "ratio": generated_fd / baseline_fd if baseline_fd > 0 else None,
        },
        "precision_recall": {
            "generated": precision_recall(f_train, f_fake),
            "holdout": precision_recall(f_train, f_holdout),
        },
    }


class Scorer:
    """validation.fid during training: every few epochs, the Fréchet distance of generated vs
    held-out samples next to the real floor. Real features are computed once; the noise is
    fixed, so scores compare."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg, self.samples, self.seed = cfg, cfg["validation"]["fid"]["samples"], cfg["seed"]
        self.extractor = train_digits_classifier(cfg)
        self.holdout = self.extractor(held_out_images(cfg, self.seed))
        train = self.extractor(real_images(cfg, "train", self.seed)[: self.samples])
        self.floor = frechet_distance(train, self.holdout)

    def __call__(self, generator: Generator, device: Any) -> dict[str, Any]:
        was_training = generator.training
        generator.eval()
        try:
            fake = generate(generator, self.cfg, self.samples, self.seed, device)
        finally:
            generator.train(was_training)
        fake = from_range(fake, self.cfg["data"]["range"])
        fd = frechet_distance(self.extractor(fake), self.holdout)
        return {
            "fd": fd,
            "feature_dims": self.holdout.shape[1],
            "fd_floor": self.floor,
            "fd_ratio": fd / self.floor if self.floor else None,
        }


def evaluate(
    checkpoint: str,
    samples: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """FD, precision/recall, digit coverage and memorization for a checkpoint; ValueError
    when they cannot be computed (and why)."""
    generator, cfg = load_generator(checkpoint)
    train, holdout = real_images(cfg, "train", seed), held_out_images(cfg, seed)
    n = samples or len(train)  # as many as the real training samples: comparable FD bias
    fake = generate(generator, cfg, n, seed)
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
    """The report as a few readable lines."""
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
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="default: as many as the training split",
    )
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
