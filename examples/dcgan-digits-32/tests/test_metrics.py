"""The held-out split evaluate.py compares with: fixed, disjoint, complete, never trained on.

(The metrics' math is the same for every spec: ganspec's own suite tests it once.)"""

from __future__ import annotations

from typing import Any

from torch.utils.data import Subset

from data import build_dataset, split_indices


def test_holdout_split_is_fixed_disjoint_and_complete(cfg: dict[str, Any]) -> None:
    """One seed gives the same split every time, another seed another; every index lies in
    exactly one part."""
    cfg["validation"]["holdout"] = 0.2
    train, holdout = split_indices(1000, cfg)
    assert len(holdout) == 200 and not set(train) & set(holdout)
    assert sorted(train + holdout) == list(range(1000))
    assert split_indices(1000, cfg) == (train, holdout)
    cfg["seed"] += 1
    assert split_indices(1000, cfg)[1] != holdout


def test_training_never_sees_the_held_out_samples(cfg: dict[str, Any]) -> None:
    """The training and held-out datasets share no sample and together hold them all."""
    cfg["data"]["augment"] = []
    cfg["validation"]["holdout"] = 0.25
    train, holdout = build_dataset(cfg, "train"), build_dataset(cfg, "holdout")
    assert isinstance(train, Subset) and isinstance(holdout, Subset)
    assert not set(train.indices) & set(holdout.indices)
    whole = len(train.dataset)  # type: ignore[arg-type]
    assert len(train) + len(holdout) == whole and len(holdout) == round(0.25 * whole)
