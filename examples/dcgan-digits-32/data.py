"""The real data: scikit-learn's 1,797 8x8 digits, resized to 1 x 32 x 32. Samples are (x, label)
pairs: x in data.range [-1, 1], label 0 (the GAN is unconditional)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

CHANNELS, HEIGHT, WIDTH = 1, 32, 32  # data.shape


def to_range(x: Tensor, value_range: list[float]) -> Tensor:
    """Map x from [0, 1] to data.range."""
    lo, hi = value_range
    return x * (hi - lo) + lo


def from_range(x: Tensor, value_range: list[float]) -> Tensor:
    """data.range back to [0, 1], clamped: what a picture of a sample shows."""
    lo, hi = value_range
    return ((x - lo) / (hi - lo)).clamp(0, 1)


def digit_arrays() -> tuple[Tensor, Tensor]:
    """scikit-learn's 8x8 digits resized to the shape, in [0, 1], with their true classes
    (evaluate.py's classifier needs them even when the GAN is unconditional)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1).expand(-1, CHANNELS, -1, -1).contiguous()
    return x, torch.tensor(bunch.target, dtype=torch.long)


def digits(cfg: dict[str, Any]) -> TensorDataset:
    images, classes = digit_arrays()
    labels = torch.zeros(len(classes), dtype=torch.long)  # the GAN is unconditional
    return TensorDataset(to_range(images, cfg["data"]["range"]), labels)


def split_indices(size: int, cfg: dict[str, Any]) -> tuple[list[int], list[int]]:
    """A seeded split into (train, holdout) indices; evaluate.py compares generated samples
    with the held-out ones. A fraction above 0 holds out and trains on one sample at least."""
    fraction = cfg["validation"]["holdout"]
    held = min(max(round(size * fraction), 1), size - 1) if fraction else 0
    seeded = torch.Generator().manual_seed(cfg["seed"] + 9_973)  # not training's RNG stream
    order = torch.randperm(size, generator=seeded)
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def build_dataset(cfg: dict[str, Any], part: str = "train") -> Subset:
    """The ``train`` or ``holdout`` part of the data."""
    dataset = digits(cfg)
    train, holdout = split_indices(len(dataset), cfg)
    return Subset(dataset, {"train": train, "holdout": holdout}[part])


class ResumableSampler(DistributedSampler):
    """A shuffle that depends only on (seed, epoch) and can start mid-epoch, so a resumed run
    sees the batches it would have seen; under torchrun each rank takes its share."""

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
    """data.batch_size samples a batch, split evenly across processes; incomplete batches are
    dropped (each must hold whole packs for D)."""
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
