"""The real data: scikit-learn's 1,797 8x8 digits, resized to 1 x 32 x 32.

Each sample is a pair ``(x, label)``: x in data.range, [-1, 1];
label 0, as the GAN is unconditional (batches keep one structure).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

CHANNELS, HEIGHT, WIDTH = 1, 32, 32  # data.shape
HOLDOUT_SEED = 9_973  # added to the seed, so the split does not reuse the training RNG stream


# --- value ranges ----------------------------------------------------------------------------


def to_range(x: Tensor, value_range: list[float] | None) -> Tensor:
    """Map x from [0, 1] to the data range; no range means the data is used as it is."""
    if value_range is None:
        return x
    lo, hi = value_range
    return x * (hi - lo) + lo


def from_range(x: Tensor, value_range: list[float] | None) -> Tensor:
    """The inverse of ``to_range``, clamped to [0, 1]: what a picture of a sample shows."""
    if value_range is not None:
        lo, hi = value_range
        x = (x - lo) / (hi - lo)
    return x.clamp(0, 1)


# --- the data source -------------------------------------------------------------------------


def digit_arrays() -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 8x8 digits (values 0..16) resized bilinearly to the shape, in
    [0, 1], with their true class labels (evaluate.py's classifier needs them even when the
    GAN is unconditional)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1).expand(-1, CHANNELS, -1, -1).contiguous()
    return x, torch.tensor(bunch.target, dtype=torch.long)


def digits(cfg: dict[str, Any]) -> Dataset:
    """The digits in data.range; the GAN is unconditional, so every label is 0."""
    images, classes = digit_arrays()
    labels = torch.zeros(len(classes), dtype=torch.long)
    return TensorDataset(to_range(images, cfg["data"]["range"]), labels)


# --- the held-out split ----------------------------------------------------------------------


def split_indices(size: int, cfg: dict[str, Any]) -> tuple[list[int], list[int]]:
    """A fixed, seeded split of ``size`` real samples into (train, holdout) indices.

    validation.holdout of the data is never trained on: evaluate.py measures generated
    samples against it, and a generator that copies its training set shows up there. Any
    fraction above 0 holds out at least one sample and trains on at least one.
    """
    fraction = cfg["validation"]["holdout"]
    held = min(round(size * fraction), size - 1) if fraction else 0
    if fraction and size > 1:
        held = max(held, 1)
    order = torch.randperm(
        size, generator=torch.Generator().manual_seed(cfg["seed"] + HOLDOUT_SEED)
    )
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def build_dataset(cfg: dict[str, Any], part: str = "train") -> Dataset:
    """The data's ``train`` part or its ``holdout`` part."""
    if part not in ("train", "holdout"):
        raise ValueError(f"part must be 'train' or 'holdout', not {part!r}")
    dataset = digits(cfg)
    train, holdout = split_indices(len(dataset), cfg)  # type: ignore[arg-type]
    if part == "holdout":
        return Subset(dataset, holdout)
    return Subset(dataset, train) if holdout else dataset


# --- batches ---------------------------------------------------------------------------------


class ResumableSampler(DistributedSampler):
    """DistributedSampler whose order depends only on (seed, epoch) and that can start in
    the middle of an epoch, so a resumed run sees exactly the batches it would have seen.

    With one process it is a plain seeded shuffle; under torchrun each rank takes its share.
    """

    start = 0  # samples of this rank's share already used in the current epoch

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        super().set_epoch(epoch)
        self.start = start

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(list(super().__iter__())[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start


def build_loader(
    cfg: dict[str, Any], dataset: Dataset, rank: int = 0, world_size: int = 1, workers: int = 0
) -> DataLoader:
    """Batches of data.batch_size samples in total, split evenly across processes.

    Incomplete batches are dropped: D packs ``pack`` samples into one, so every batch must
    stay a multiple of pack.
    """
    batch, pack = cfg["data"]["batch_size"], cfg["discriminator"]["pack"]
    if batch % (world_size * pack):
        raise ValueError(
            f"batch_size {batch} must split into {world_size} process(es) of whole packs of {pack}"
        )
    sampler = ResumableSampler(
        dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=cfg["seed"], drop_last=True
    )
    return DataLoader(
        dataset,
        batch_size=batch // world_size,
        sampler=sampler,
        drop_last=True,
        num_workers=workers,
        pin_memory=torch.cuda.is_available(),
        generator=torch.Generator().manual_seed(cfg["seed"]),  # keeps the global RNG untouched
    )
