"""Real data: a Dataset of ``(x, label)`` pairs with x shaped like data.shape.

Images are made in [0, 1] and then mapped linearly to ``data.range`` (e.g. [-1, 1] to match a
tanh generator). 2-D point clouds are used as generated. ``label`` is the class index as a long
tensor, or 0 for an unconditional GAN, so every batch has the same structure.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset, TensorDataset

from config import CODE_DIR, data_dims, is_image

IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SAMPLE_IMAGE_CROPS = 4096  # fixed crops of scikit-learn's two photos
POINTS = 100_000  # samples drawn from the 2-D Gaussian mixtures
SYNTHETIC = 1024  # random samples for plumbing checks
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


# --- images ----------------------------------------------------------------------------------


def to_channels(image: Image.Image, channels: int) -> Image.Image:
    """Convert a picture to the spec's channel count (grayscale, RGB or RGBA)."""
    mode = {1: "L", 3: "RGB", 4: "RGBA"}.get(channels, "L")
    return image.convert(mode)


def fit(image: Image.Image, height: int, width: int) -> Image.Image:
    """Resize so the picture just covers height x width (the short side matches), then crop
    the centre: the aspect ratio is kept and nothing is padded."""
    scale = max(height / image.height, width / image.width)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    image = image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return image.crop((left, top, left + width, top + height))


def to_tensor(image: Image.Image, channels: int) -> Tensor:
    """A PIL picture as a uint8 (C, H, W) tensor with exactly ``channels`` channels."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    x = torch.from_numpy(array.copy()).permute(2, 0, 1)
    if x.shape[0] != channels:  # e.g. 2 or 5 channels: repeat the grayscale picture
        x = x[:1].expand(channels, -1, -1).contiguous()
    return x


class ImageTensors(Dataset):
    """Images held in memory, uint8 (4x smaller than float) or float in [0, 1]."""

    def __init__(self, images: Tensor, labels: Tensor, value_range: list[float] | None) -> None:
        self.images, self.labels, self.value_range = images, labels, value_range

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x = self.images[index]
        x = x.float().div(255) if x.dtype == torch.uint8 else x.float()
        return to_range(x, self.value_range), self.labels[index]


class PictureDataset(Dataset):
    """Pictures decoded on access (a folder, a torchvision dataset), fitted to the shape."""

    def __init__(self, items: Any, cfg: dict[str, Any]) -> None:
        """``items`` is indexable and yields (picture or path, class index)."""
        self.items = items
        self.channels, self.height, self.width = data_dims(cfg)
        self.value_range = cfg["data"]["range"]
        self.conditional = cfg["data"]["classes"] is not None

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        picture, label = self.items[index]
        if not isinstance(picture, Image.Image):
            picture = Image.open(picture)
        picture = fit(to_channels(picture, self.channels), self.height, self.width)
        x = to_tensor(picture, self.channels).float().div(255)
        label = int(label) if self.conditional else 0
        return to_range(x, self.value_range), torch.tensor(label, dtype=torch.long)


class RandomHFlip(Dataset):
    """Flip each real image left-right with probability 1/2 (the ``hflip`` augment).

    The coin comes from torch's global RNG, which checkpoints save, so a resumed run flips
    the same images as an uninterrupted one (with the default of no loader workers).
    """

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        x, label = self.dataset[index]
        if torch.rand(()) < 0.5:
            x = x.flip(-1)
        return x, label


# --- sources ---------------------------------------------------------------------------------


def digit_arrays(cfg: dict[str, Any]) -> tuple[Tensor, Tensor]:
    """scikit-learn's 1,797 8x8 digits (values 0..16) resized bilinearly to the shape, in
    [0, 1], with their true class labels (evaluate.py's classifier needs them even when the
    GAN is unconditional)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    channels, height, width = data_dims(cfg)
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
    x = x.clamp(0, 1).expand(-1, channels, -1, -1).contiguous()
    return x, torch.tensor(bunch.target, dtype=torch.long)


def digits(cfg: dict[str, Any]) -> Dataset:
    images, labels = digit_arrays(cfg)
    return ImageTensors(images, _labels(cfg, labels), cfg["data"]["range"])


@functools.cache
def _sample_image_crops(channels: int, height: int, width: int, seed: int) -> Tensor:
    """Cut a fixed, seeded set of crops once per process: they are the whole data set."""
    from sklearn.datasets import load_sample_images

    photos = [to_channels(Image.fromarray(p), channels) for p in load_sample_images().images]
    rng = np.random.default_rng(seed)
    crops = torch.empty(SAMPLE_IMAGE_CROPS, channels, height, width, dtype=torch.uint8)
    for i in range(SAMPLE_IMAGE_CROPS):
        photo = photos[rng.integers(len(photos))]
        # Crop height between a quarter of the photo and all of it; width keeps the aspect.
        crop_h = int(rng.integers(photo.height // 4, photo.height + 1))
        crop_w = min(photo.width, max(1, round(crop_h * width / height)))
        top = int(rng.integers(0, photo.height - crop_h + 1))
        left = int(rng.integers(0, photo.width - crop_w + 1))
        box = (left, top, left + crop_w, top + crop_h)
        crop = photo.resize((width, height), Image.Resampling.BILINEAR, box, reducing_gap=2.0)
        crops[i] = to_tensor(crop, channels)
    return crops


def sample_images(cfg: dict[str, Any]) -> Dataset:
    """Random crops of scikit-learn's two bundled photos: real RGB data with no download."""
    crops = _sample_image_crops(*data_dims(cfg), cfg["seed"])
    labels = torch.zeros(len(crops), dtype=torch.long)
    return ImageTensors(crops, labels, cfg["data"]["range"])


def gaussian_mixture(means: Tensor, std: float, seed: int) -> Dataset:
    """POINTS samples from equally weighted 2-D Gaussians (PacGAN's ring and grid)."""
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(len(means), (POINTS,), generator=generator)
    points = means[which] + std * torch.randn(POINTS, 2, generator=generator)
    return TensorDataset(points, torch.zeros(POINTS, dtype=torch.long))


def mixture_modes(source: str) -> tuple[Tensor, float]:
    """Means and std of PacGAN's 2-D mixtures: the ring of 8 (std 0.01) and the 5x5 grid
    (std 0.05). evaluate.py scores generated points against the same modes."""
    if source == "ring8":
        angles = torch.arange(8) * (2 * torch.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], dim=1), 0.01
    if source == "grid25":
        axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
        return torch.cartesian_prod(axis, axis), 0.05
    raise ValueError(f"{source} is not a 2-D mixture source")


def ring8(cfg: dict[str, Any]) -> Dataset:
    return gaussian_mixture(*mixture_modes("ring8"), cfg["seed"])


def grid25(cfg: dict[str, Any]) -> Dataset:
    return gaussian_mixture(*mixture_modes("grid25"), cfg["seed"])


def folder(cfg: dict[str, Any]) -> Dataset:
    """Every picture under the folder, recursively; with data.classes set, the sorted class
    sub-folders give the labels (the first sub-folder is class 0)."""
    root = Path(cfg["data"]["source"]["path"]).expanduser()
    if not root.is_absolute():
        root = CODE_DIR / root
    if not root.is_dir():
        raise RuntimeError(f"data folder {root} does not exist: put the training images there")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not files:
        raise RuntimeError(f"no images ({', '.join(sorted(IMAGE_EXTENSIONS))}) under {root}")
    if cfg["data"]["classes"] is None:
        return PictureDataset([(path, 0) for path in files], cfg)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(classes) > cfg["data"]["classes"]:
        raise ValueError(
            f"{root} has {len(classes)} class folders but data.classes is {cfg['data']['classes']}"
        )
    index = {name: i for i, name in enumerate(classes)}
    items = [(p, index[p.relative_to(root).parts[0]]) for p in files if p.parent != root]
    return PictureDataset(items, cfg)


def torchvision_dataset(cfg: dict[str, Any]) -> Dataset:
    """A dataset class from torchvision.datasets, read from local files only."""
    try:
        import torchvision
    except ImportError as error:
        raise RuntimeError(
            "data.source.type 'torchvision' needs torchvision: pip install torchvision"
        ) from error
    source = cfg["data"]["source"]
    name, root = source["name"], source.get("root", "data")
    root = str(root if Path(root).is_absolute() else CODE_DIR / root)
    dataset_class = getattr(torchvision.datasets, name, None)
    if dataset_class is None:
        raise RuntimeError(f"torchvision.datasets has no dataset called {name!r}")
    try:
        try:
            dataset = dataset_class(root=root, download=False)
        except TypeError:  # a few datasets (LSUN) take no download argument
            dataset = dataset_class(root=root)
    except (RuntimeError, FileNotFoundError, OSError) as error:
        raise RuntimeError(
            f"torchvision dataset {name} was not found under {root}. This project never "
            f"downloads: fetch it once elsewhere with torchvision.datasets.{name}("
            f"root='{root}', download=True) and copy the files there."
        ) from error
    return PictureDataset(dataset, cfg)


def synthetic(cfg: dict[str, Any]) -> Dataset:
    """Seeded random samples inside the range: checks the plumbing, teaches nothing."""
    generator = torch.Generator().manual_seed(cfg["seed"])
    dims, value_range = data_dims(cfg), cfg["data"]["range"]
    if value_range is None and not is_image(cfg):
        x = torch.randn(SYNTHETIC, *dims, generator=generator)
    else:
        x = to_range(torch.rand(SYNTHETIC, *dims, generator=generator), value_range)
    classes = cfg["data"]["classes"]
    labels = torch.randint(classes or 1, (SYNTHETIC,), generator=generator)
    return TensorDataset(x, labels)


def _labels(cfg: dict[str, Any], labels: Tensor) -> Tensor:
    """The real class labels for a conditional GAN, zeros for an unconditional one."""
    if cfg["data"]["classes"] is None:
        return torch.zeros(len(labels), dtype=torch.long)
    return labels.long()


SOURCES = {
    "digits": digits,
    "sample_images": sample_images,
    "ring8": ring8,
    "grid25": grid25,
    "folder": folder,
    "torchvision": torchvision_dataset,
    "synthetic": synthetic,
}


def split_indices(size: int, cfg: dict[str, Any]) -> tuple[list[int], list[int]]:
    """A fixed, seeded split of ``size`` real samples into (train, holdout) indices.

    validation.holdout of the data is never trained on: evaluate.py measures generated
    samples against it, and a generator that copies its training set shows up there.
    """
    fraction = cfg["validation"].get("holdout", 0.0)
    held = min(round(size * fraction), size - 1) if fraction else 0
    if fraction and size > 1:
        held = max(held, 1)
    order = torch.randperm(
        size, generator=torch.Generator().manual_seed(cfg["seed"] + HOLDOUT_SEED)
    )
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())


def build_dataset(cfg: dict[str, Any], part: str = "train") -> Dataset:
    """The real data set named by data.source: its ``train`` part (with ``hflip`` when asked
    for) or its ``holdout`` part (never augmented)."""
    kind = cfg["data"]["source"]["type"]
    if kind not in SOURCES:
        raise ValueError(f"unknown data source {kind!r}; known: {', '.join(SOURCES)}")
    if part not in ("train", "holdout"):
        raise ValueError(f"part must be 'train' or 'holdout', not {part!r}")
    dataset = SOURCES[kind](cfg)
    train, holdout = split_indices(len(dataset), cfg)  # type: ignore[arg-type]
    if part == "holdout":
        return Subset(dataset, holdout)
    if holdout:
        dataset = Subset(dataset, train)
    if "hflip" in cfg["data"]["augment"] and is_image(cfg):
        dataset = RandomHFlip(dataset)
    return dataset


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
    stay a multiple of pack. Loader workers make resuming inexact (their flips are not saved).
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
