"""What the image project's data.py and augment.py hold for one spec: its data source's loader
and only the helpers that loader needs, labels only for a conditional GAN, hflip only when the
spec flips, and DiffAugment only with the transforms its policy names. Decided here, so the
templates only place code. augment.py.j2 renders empty without a DiffAugment policy, so the
project has no augment.py then."""

from __future__ import annotations

import textwrap
from typing import Any

from ganspec.spec.image import SOURCE_SIZES, VECTOR_SOURCES, ImageSpec

# data.source.type -> the data.py function that builds the whole source as a Dataset.
LOADERS: dict[str, str] = {
    "digits": "digits",
    "sample_images": "sample_images",
    "ring8": "mixture_points",
    "grid25": "mixture_points",
    "folder": "folder",
    "torchvision": "torchvision_dataset",
    "synthetic": "synthetic",
}
# Sources decoded from PIL pictures, and those fitted to the shape on access.
PIL_SOURCES = frozenset({"sample_images", "folder", "torchvision"})
PICTURE_FILE_SOURCES = frozenset({"folder", "torchvision"})
TENSOR_SOURCES = frozenset({"digits", "ring8", "grid25", "synthetic"})  # a TensorDataset
PIL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}  # other channel counts repeat a grayscale picture
# DiffAugment policies (applied to real and fake before D) -> augment.py's transforms, in order.
DIFF_AUGMENT: dict[str, list[str]] = {
    "color": ["rand_brightness", "rand_saturation", "rand_contrast"],
    "translation": ["rand_translation"],
    "cutout": ["rand_cutout"],
}


def diff_augment_policy(spec: ImageSpec) -> list[str]:
    """The DiffAugment part of data.augment, in its order (``hflip`` flips real data only;
    GS405 refuses augmentations of vector data)."""
    if not spec.data.shape.is_image:
        return []
    return [name for name in spec.data.augment if name in DIFF_AUGMENT]


def _summary(spec: ImageSpec) -> str:
    """The module docstring's first line: what the data is."""
    data, shape = spec.data, " x ".join(str(d) for d in spec.data.shape.dims)
    if data.source.type == "digits":
        return f"scikit-learn's {SOURCE_SIZES['digits']:,} 8x8 digits, resized to {shape}"
    if data.source.type == "sample_images":
        return (
            f"{SOURCE_SIZES['sample_images']:,} seeded {shape} crops of scikit-learn's two "
            "bundled photos"
        )
    if data.source.type == "ring8":
        return f"{SOURCE_SIZES['ring8']:,} 2-D points from PacGAN's ring of 8 Gaussians"
    if data.source.type == "grid25":
        return f"{SOURCE_SIZES['grid25']:,} 2-D points from PacGAN's grid of 25 Gaussians"
    if data.source.type == "folder":
        return f"the pictures under data.source.path, fitted to {shape}"
    if data.source.type == "torchvision":
        return f"a torchvision dataset from local files (data.source), fitted to {shape}"
    return f"{SOURCE_SIZES['synthetic']:,} seeded random samples of {shape}, for plumbing checks"


def _doc(spec: ImageSpec) -> str:
    """data.py's docstring: what the data is and what an ``(x, label)`` pair holds."""
    data = spec.data
    if data.source.type in VECTOR_SOURCES or data.range is None:
        x = "x as generated"
    else:
        x = f"x in data.range [{data.range[0]:g}, {data.range[1]:g}]"
    label = "its class" if data.classes is not None else "0 (the GAN is unconditional)"
    text = f"The real data: {_summary(spec)}. Samples are (x, label) pairs: {x}, label {label}."
    return textwrap.fill(text, 94)


def _shape_constants(spec: ImageSpec) -> str:
    """data.shape as the module constants the loaders use."""
    if spec.data.shape.is_image:
        return "CHANNELS, HEIGHT, WIDTH = {}, {}, {}".format(*spec.data.shape.dims)
    return f"FEATURES = {spec.data.shape.features}"


def _to_tensor(channels: int) -> str:
    """The expression that turns a PIL picture in the mode of ``channels`` into (C, H, W)."""
    array = "torch.from_numpy(np.array(image))"
    if channels in (3, 4):
        return f"{array}.permute(2, 0, 1)"
    if channels == 1:
        return f"{array}.unsqueeze(0)"
    return f"{array}.expand(CHANNELS, -1, -1).contiguous()  # the grey picture, repeated"


def data_context(spec: ImageSpec) -> dict[str, Any]:
    """The data.py / augment.py choices for this spec (see the templates for where each goes)."""
    data = spec.data
    source, image = data.source.type, data.shape.is_image
    mixture = source in VECTOR_SOURCES
    labels = data.classes is not None
    channels = data.shape.channels or 1
    policy = diff_augment_policy(spec)
    normal = data.range is None and not image  # synthetic vectors with no range
    return {
        "data_source": source,
        "data_loader": LOADERS[source],
        "data_doc": _doc(spec),
        "data_labels": labels,
        "data_mixture": mixture,
        "data_tensor_dataset": source in TENSOR_SOURCES,
        "data_shape_constants": None if mixture else _shape_constants(spec),
        "data_shape_names": "CHANNELS, HEIGHT, WIDTH" if image else "FEATURES",
        "data_class_constant": labels and source in ("folder", "synthetic"),
        "data_pil": source in PIL_SOURCES,
        "data_pil_mode": PIL_MODES.get(channels, "L"),
        "data_to_tensor": _to_tensor(channels),
        "data_to_range": not mixture and not normal,
        "data_picture_files": source in PICTURE_FILE_SOURCES,
        "data_synthetic_normal": normal,
        "data_synthetic_draw": "from a standard normal" if normal else "inside the range",
        "data_hflip": "hflip" in data.augment and image,
        "diff_augment_policy": policy,
        "diff_augment_steps": [step for name in policy for step in DIFF_AUGMENT[name]],
    }
