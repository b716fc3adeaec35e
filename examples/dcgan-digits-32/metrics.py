"""Sample-quality statistics, pure tensor math: the Fréchet distance (Heusel et al. 2017),
precision/recall (Kynkäänniemi et al. 2019), memorization and the class histogram."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

CHUNK = 1024  # rows of a distance matrix computed at once, to bound memory


def frechet_distance(a: Tensor, b: Tensor) -> float:
    """||mu_a - mu_b||^2 + tr(S_a) + tr(S_b) - 2 tr((S_a^1/2 S_b S_a^1/2)^1/2), in float64; the
    symmetric form has real eigenvalues, so no complex square root (or scipy) is needed."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least 2 samples on each side")
    a, b = a.double().flatten(1), b.double().flatten(1)
    cov_a, cov_b = torch.atleast_2d(torch.cov(a.T)), torch.atleast_2d(torch.cov(b.T))
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    middle = root_a @ cov_b @ root_a
    trace_root = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    mean_term = (a.mean(0) - b.mean(0)).square().sum()
    return float(mean_term + cov_a.trace() + cov_b.trace() - 2 * trace_root)


def nearest_distances(queries: Tensor, reference: Tensor, k: int = 1) -> Tensor:
    """Distance from each query to its k-th nearest reference point."""
    reference = reference.flatten(1).float()
    out = [
        torch.cdist(chunk.flatten(1).float(), reference).kthvalue(k, dim=1).values
        for chunk in queries.split(CHUNK)
    ]
    return torch.cat(out)


def manifold_share(points: Tensor, reference: Tensor, radii: Tensor) -> float:
    """Share of points inside at least one reference ball (reference[i], radii[i])."""
    reference = reference.flatten(1).float()
    inside = [
        (torch.cdist(chunk.flatten(1).float(), reference) <= radii[None]).any(dim=1)
        for chunk in points.split(CHUNK)
    ]
    return float(torch.cat(inside).float().mean())


def precision_recall(real: Tensor, fake: Tensor, k: int = 3) -> dict[str, float]:
    """Precision: the share of fakes on the real manifold (quality); recall: of reals on the
    fake one (coverage). A manifold: balls reaching each point's k-th nearest neighbour."""
    if len(real) <= k or len(fake) <= k:
        raise ValueError(f"precision/recall with k={k} needs more than {k} samples per set")
    real_radii = nearest_distances(real, real, k + 1)  # +1: each point is its own nearest
    fake_radii = nearest_distances(fake, fake, k + 1)
    return {
        "precision": manifold_share(fake, real, real_radii),
        "recall": manifold_share(real, fake, fake_radii),
    }


def memorization(fake: Tensor, train: Tensor, holdout: Tensor) -> dict[str, Any]:
    """Nearest-training-sample distances of generated vs held-out samples: a ratio well below
    1, or many near copies (closer than 99% of held-out samples), warns of copying."""
    fake_nn = nearest_distances(fake, train)
    holdout_nn = nearest_distances(holdout, train)
    threshold = torch.quantile(holdout_nn, 0.01)
    fake_median, holdout_median = float(fake_nn.median()), float(holdout_nn.median())
    return {
        "median_nn_generated": fake_median,
        "median_nn_holdout": holdout_median,
        "ratio": fake_median / holdout_median if holdout_median > 0 else None,
        "near_copies_percent": 100.0 * float((fake_nn < threshold).float().mean()),
    }


def class_histogram(predicted: Tensor, classes: int) -> dict[str, Any]:
    """Generated samples over the classes a classifier sees in them; a class is covered with a
    quarter of its uniform share at least (stray predictions do not hide a collapse)."""
    counts = torch.bincount(predicted, minlength=classes).double()
    share = counts / counts.sum()
    nonzero = share[share > 0]
    return {
        "counts": [int(c) for c in counts.tolist()],
        "classes_covered": int((share >= 0.25 / classes).sum()),
        "classes": classes,
        "kl_to_uniform": float((nonzero * (nonzero * classes).log()).sum()),
    }
