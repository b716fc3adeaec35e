"""Score what a trained generator learned.

    python evaluate.py --checkpoint runs/NAME/last.pt [--samples N] [--json]
    python evaluate.py --checkpoint runs/NAME/last.pt --inception inception-2015-12-05.pt

2-D mixtures (ring8, grid25), PacGAN's protocol (Lin et al. 2018, Table 1): draw 2,500 samples;
a sample is high quality when it lies within 3 standard deviations of its nearest mode; a mode
is covered when at least one high-quality sample lands on it; the reverse KL divergence
compares the histogram of high-quality samples over modes with the uniform one.

Images: real samples are the training split and the held-out split (validation.holdout, never
trained on). In a feature space (features.py) the report gives the Fréchet distance of
generated vs held-out samples next to the same distance for real training vs held-out samples
(the floor a perfect generator reaches at these sample sizes), and precision/recall against
the training samples. For digits the features come from a classifier trained here, which
also gives the class histogram of generated samples (mode coverage over the 10 digits) and,
for a conditional GAN, how often a sample shows the digit it was asked for. Memorization is
checked in pixel space: nearest-training-sample distances of generated vs held-out samples.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader

from data import build_dataset, from_range
from features import DigitsFeatures, FeatureExtractor, inception_features, train_digits_classifier
from metrics import class_histogram, frechet_distance, memorization, precision_recall
from models import Generator, load_generator, sample_labels, sample_latent

MIXTURES = ("ring8", "grid25")
REAL_LIMIT = 10_000  # real samples per split used for image metrics (a seeded subset)
BATCH = 500


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
def generate(
    generator: Generator, cfg: dict[str, Any], n: int, seed: int, device: Any = "cpu"
) -> tuple[Tensor, Tensor | None]:
    """n samples (on the CPU) from fixed noise, with uniformly drawn labels for a conditional
    GAN. The noise comes from its own seeded generator: the global RNG is left alone."""
    rng = torch.Generator().manual_seed(seed)
    latent = sample_latent(n, "cpu", generator=rng)
    labels = sample_labels(n, "cpu", generator=rng)
    chunks = []
    for i, z in enumerate(latent.split(BATCH)):
        y = None if labels is None else labels[i * BATCH : (i + 1) * BATCH].to(device)
        chunks.append(generator(z.to(device), y).float().cpu())
    return torch.cat(chunks), labels


def real_images(cfg: dict[str, Any], part: str, seed: int) -> Tensor:
    """A split of the real data in [0, 1], at most REAL_LIMIT samples (a seeded subset).
    Never augmented (build_dataset leaves hflip to train.py): flips would draw from the
    training RNG."""
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


def choose_features(
    cfg: dict[str, Any], wanted: str, inception: str | None, dims: int | None = None
) -> FeatureExtractor:
    """The feature space for FD and precision/recall; ValueError says why none is available.
    ``dims``: the Inception feature size, validation.fid.dims unless given."""
    if wanted == "auto":
        fid = cfg["validation"].get("fid") or {}
        wanted = fid.get("features") or (
            "domain" if cfg["data"]["source"]["type"] == "digits" else "inception"
        )
    if wanted == "domain":
        if cfg["data"]["source"]["type"] != "digits":
            raise ValueError(
                "domain features exist for digits data only; for other images use Inception "
                "features (--features inception with --inception PATH or torch-fidelity)"
            )
        return train_digits_classifier(cfg, log=lambda text: print(text, file=sys.stderr))
    if dims is None:
        dims = (cfg["validation"].get("fid") or {}).get("dims", 2048)
    return inception_features(inception, dims)


def image_metrics(
    generator: Generator,
    cfg: dict[str, Any],
    samples: int | None,
    seed: int,
    features: str,
    inception: str | None,
) -> dict[str, Any]:
    """FD, precision/recall, class coverage (digits) and memorization for image data."""
    # The feature space first: a missing or wrong weights file is reported before any sample
    # is drawn. A weights file passed here gives the standard 2048-d FID, whatever size
    # training scored at; the result says which (feature_dims).
    try:
        extractor = choose_features(cfg, features, inception, 2048 if inception else None)
        unavailable = None
    except ValueError as error:
        if features != "auto":
            raise
        extractor, unavailable = None, str(error)
    train, holdout = real_images(cfg, "train", seed), held_out_images(cfg, seed)
    n = samples or len(train)  # as many as the real training samples: comparable FD bias
    fake, labels = generate(generator, cfg, n, seed)
    fake = from_range(fake, cfg["data"]["range"])
    result: dict[str, Any] = {
        "samples": n,
        "real_train": len(train),
        "real_holdout": len(holdout),
        "memorization": memorization(fake, train, holdout),
    }
    if extractor is None:
        result["features"], result["features_unavailable"] = None, unavailable
        return result
    f_train, f_holdout, f_fake = extractor(train), extractor(holdout), extractor(fake)
    generated_fd, baseline_fd = (
        frechet_distance(f_fake, f_holdout),
        frechet_distance(f_train, f_holdout),
    )
    result["features"], result["feature_dims"] = extractor.name, f_holdout.shape[1]
    result["frechet"] = {
        "generated_vs_holdout": generated_fd,
        "train_vs_holdout": baseline_fd,
        "ratio": generated_fd / baseline_fd if baseline_fd > 0 else None,
    }
    result["precision_recall"] = {
        "generated": precision_recall(f_train, f_fake),
        "holdout": precision_recall(f_train, f_holdout),
    }
    if isinstance(extractor, DigitsFeatures):
        predicted = extractor.classify(fake)
        result["classifier_holdout_accuracy"] = extractor.holdout_accuracy
        result["classes"] = class_histogram(predicted, 10)
        if labels is not None:
            result["label_agreement"] = float((predicted == labels).float().mean())
    return result


class Scorer:
    """validation.fid during training: every few epochs, the Fréchet distance of generated
    vs held-out samples (next to the real floor) for images, PacGAN's metrics for the 2-D
    mixtures. Real features are computed once; the noise is fixed, so scores compare."""

    def __init__(self, cfg: dict[str, Any], inception: str | None = None) -> None:
        """ValueError when the configured feature space is not available here."""
        self.cfg, fid = cfg, cfg["validation"]["fid"]
        self.samples, self.seed = fid["samples"], cfg["seed"]
        source = cfg["data"]["source"]["type"]
        if source in MIXTURES:
            from data import mixture_modes  # a 2-D mixture project's data.py has them

            self.modes: tuple[Tensor, float] | None = mixture_modes()
            return
        self.modes = None
        self.extractor = choose_features(cfg, fid["features"], inception)
        self.holdout = self.extractor(held_out_images(cfg, self.seed))
        train = self.extractor(real_images(cfg, "train", self.seed)[: self.samples])
        self.floor = frechet_distance(train, self.holdout)

    def __call__(self, generator: Generator, device: Any) -> dict[str, Any]:
        was_training = generator.training
        generator.eval()
        try:
            fake, _ = generate(generator, self.cfg, self.samples, self.seed, device)
        finally:
            generator.train(was_training)
        if self.modes is not None:
            result = mode_metrics(fake, *self.modes)
            del result["counts"]
            return result
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
    features: str = "auto",
    inception: str | None = None,
) -> dict[str, Any]:
    """Metrics for a checkpoint; ValueError when they cannot be computed (and why)."""
    generator, cfg = load_generator(checkpoint)
    source = cfg["data"]["source"]["type"]
    head = {"source": source, "checkpoint": checkpoint}
    if source in MIXTURES:
        n = samples or 2500
        points, _ = generate(generator, cfg, n, seed)
        from data import mixture_modes  # a 2-D mixture project's data.py has them

        means, std = mixture_modes()
        return {**head, **mode_metrics(points, means, std)}
    if len(cfg["data"]["shape"]) != 3:
        raise ValueError(f"evaluate.py scores images and the 2-D mixtures {MIXTURES}, not {source}")
    return {**head, **image_metrics(generator, cfg, samples, seed, features, inception)}


def describe(result: dict[str, Any]) -> str:
    """The report as a few readable lines."""
    if "modes" in result:
        kl = result["reverse_kl"]
        return (
            f"{result['source']}: {result['modes_covered']}/{result['modes']} modes covered, "
            f"{result['high_quality_percent']:.1f}% high quality, reverse KL "
            f"{'n/a (no high-quality sample)' if kl is None else f'{kl:.3f}'} "
            f"({result['samples']} samples)"
        )
    lines = [
        f"{result['source']}: {result['samples']} generated vs {result['real_train']} training "
        f"and {result['real_holdout']} held-out real samples"
    ]
    if result["features"] is None:
        lines.append(f"  no feature-space metrics: {result['features_unavailable']}")
    else:
        fd, pr = result["frechet"], result["precision_recall"]
        ratio = "n/a" if fd["ratio"] is None else f"{fd['ratio']:.2f}x"
        lines.append(
            f"  Fréchet distance ({result['features']} features): {fd['generated_vs_holdout']:.3f} "
            f"generated vs held-out; real floor {fd['train_vs_holdout']:.3f} (ratio {ratio})"
        )
        lines.append(
            f"  precision {pr['generated']['precision']:.3f} recall {pr['generated']['recall']:.3f}"
            f" (held-out real: {pr['holdout']['precision']:.3f} / {pr['holdout']['recall']:.3f})"
        )
    if "classes" in result:
        classes = result["classes"]
        lines.append(
            f"  digit classes covered {classes['classes_covered']}/10, counts {classes['counts']}"
            f", KL to uniform {classes['kl_to_uniform']:.3f} (classifier held-out accuracy "
            f"{result['classifier_holdout_accuracy']:.1%})"
        )
    if "label_agreement" in result:
        lines.append(
            f"  samples showing the digit they were asked for: {result['label_agreement']:.1%}"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="e.g. runs/NAME/last.pt")
    parser.add_argument(
        "--samples",
        type=int,
        default=None,
        help="default: 2500 points, or as many images as the training split",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--features",
        choices=["auto", "domain", "inception"],
        default="auto",
        help="feature space for images; auto: validation.fid.features, else domain for "
        "digits, else inception",
    )
    parser.add_argument(
        "--inception", default=None, help="TorchScript InceptionV3 file (inception-2015-12-05.pt)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if args.samples is not None and args.samples < 4:
        parser.error("--samples must be at least 4")
    try:
        result = evaluate(args.checkpoint, args.samples, args.seed, args.features, args.inception)
    except (ValueError, FileNotFoundError) as error:
        print(f"evaluate.py: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result) if args.json else describe(result))
    kl = result.get("reverse_kl")
    return 0 if kl is None or math.isfinite(kl) else 1


if __name__ == "__main__":
    sys.exit(main())
