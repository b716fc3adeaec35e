"""The image-GAN spec: four surfaces (data, discriminator, generator, training) and the
validation protocol that proves the model learned."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, model_validator

from ganspec.spec.common import (
    Band,
    Count,
    Flag,
    Identifier,
    Number,
    RuleCode,
    StrictModel,
)
from ganspec.spec.layers import Layer

# --- surface 1: data -------------------------------------------------------------------------


class DigitsSource(StrictModel):
    """scikit-learn's bundled 8x8 digits (1,797 images, 10 classes), resized to the shape."""

    type: Literal["digits"]


class Ring8Source(StrictModel):
    """Eight 2-D Gaussians on the unit circle, std 0.01 (PacGAN's ring)."""

    type: Literal["ring8"]


class Grid25Source(StrictModel):
    """25 2-D Gaussians at {-4,-2,0,2,4}^2, std 0.05 (PacGAN's grid)."""

    type: Literal["grid25"]


class SampleImagesSource(StrictModel):
    """Random crops of scikit-learn's two bundled colour photos: real RGB data, no download."""

    type: Literal["sample_images"]


class FolderSource(StrictModel):
    """Images of any common format under a folder; class sub-folders give labels."""

    type: Literal["folder"]
    path: Annotated[str, Field(min_length=1, max_length=4096)] = Field(
        description="Folder with the images (relative to the rendered project)."
    )


class TorchvisionSource(StrictModel):
    """A torchvision dataset by class name (needs torchvision installed and the data local)."""

    type: Literal["torchvision"]
    name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,63}$")] = Field(
        description="Dataset class in torchvision.datasets, e.g. CIFAR10."
    )
    root: Annotated[str, Field(min_length=1, max_length=4096)] = "data"


class SyntheticSource(StrictModel):
    """Random data of the declared shape and range: for plumbing checks, not for learning."""

    type: Literal["synthetic"]


Source = Annotated[
    DigitsSource
    | Ring8Source
    | Grid25Source
    | SampleImagesSource
    | FolderSource
    | TorchvisionSource
    | SyntheticSource,
    Field(discriminator="type"),
]

# Classes a source's labels can take: a count, None for "as many as the data has", and
# sources missing here carry no labels at all.
SOURCE_CLASSES: dict[str, int | None] = {
    "digits": 10,
    "folder": None,  # as many as there are class sub-folders
    "torchvision": None,
    "synthetic": None,
}
VECTOR_SOURCES = frozenset({"ring8", "grid25"})
# Samples each built-in source holds before the holdout split (the rendered data.py makes
# them; tests/test_rules.py checks these against it). folder and torchvision are unknown
# until the files are read.
SOURCE_SIZES: dict[str, int] = {
    "digits": 1_797,  # scikit-learn's load_digits
    "sample_images": 4_096,  # data.py's SAMPLE_IMAGE_CROPS
    "ring8": 100_000,  # data.py's POINTS
    "grid25": 100_000,
    "synthetic": 1_024,  # data.py's SYNTHETIC
}

Augment = Literal["hflip", "translation", "color", "cutout"]


class DataShape(StrictModel):
    """Per-sample shape: ``features`` for vector data, or ``channels, height, width``."""

    features: Count | None = None
    channels: Count | None = None
    height: Count | None = None
    width: Count | None = None

    @model_validator(mode="after")
    def _one_layout(self) -> DataShape:
        image = (self.channels, self.height, self.width)
        if self.features is not None and any(v is not None for v in image):
            raise ValueError("give either features, or channels/height/width, not both")
        if self.features is None and any(v is None for v in image):
            raise ValueError("give features, or all three of channels, height and width")
        return self

    @property
    def dims(self) -> tuple[int, ...]:
        if self.features is not None:
            return (self.features,)
        return (self.channels, self.height, self.width)  # type: ignore[return-value]

    @property
    def is_image(self) -> bool:
        return self.features is None


class Data(StrictModel):
    """Surface 1. Defines the tensor every other surface must match."""

    source: Source
    shape: DataShape
    range: Band | None = Field(
        None,
        description="Value range images are normalised to; must match G's final activation. "
        "Omit for 2-D point data, which is used as generated.",
    )
    batch_size: Count
    classes: Count | None = Field(
        None, description="Number of label classes, for conditional GANs."
    )
    augment: list[Augment] = Field(
        default_factory=list,
        description="hflip on real data; translation/color/cutout DiffAugment-style, applied "
        "to real and fake alike.",
    )


# --- surfaces 2 and 3: networks --------------------------------------------------------------


class Init(StrictModel):
    """Weight initialisation. DCGAN: normal with std 0.02 (BatchNorm weights ~ N(1, 0.02))."""

    scheme: Literal["normal", "xavier_uniform", "xavier_normal", "kaiming_normal", "orthogonal"]
    std: Annotated[Number, Field(gt=0, le=10)] = Field(0.02, description="For scheme normal.")


class Generator(StrictModel):
    """Surface 3. Maps a latent vector (and labels) to one sample of exactly data.shape."""

    latent_dim: Count
    latent: Literal["normal", "uniform"] = "normal"
    layers: Annotated[list[Layer], Field(min_length=1, max_length=200)]
    init: Init | None = Field(None, description="Omit for PyTorch's default init.")
    spectral_norm: Flag = Field(False, description="Default for every weighted layer.")


class Discriminator(StrictModel):
    """Surface 2. Maps a (packed) sample to one value per sample, or a declared patch map."""

    layers: Annotated[list[Layer], Field(min_length=1, max_length=200)]
    output: Literal["logits", "probability", "critic"] = Field(
        description="logits: raw scores for BCE-with-logits style losses; probability: ends in "
        "sigmoid; critic: unbounded scores for Wasserstein/hinge losses."
    )
    spectral_norm: Flag = Field(False, description="Default for every weighted layer.")
    pack: Annotated[Count, Field(le=64)] = Field(
        1, description="PacGAN packing: D judges this many samples concatenated together."
    )
    patch: Annotated[list[Count], Field(min_length=2, max_length=2)] | None = Field(
        None, description="Declared H x W of a patch discriminator's output map."
    )
    init: Init | None = None


# --- surface 4: training ---------------------------------------------------------------------


class Optimizer(StrictModel):
    type: Literal["adam", "adamw", "rmsprop", "sgd"]
    lr: Annotated[Number, Field(gt=0, le=10)]
    betas: tuple[Annotated[Number, Field(ge=0, lt=1)], Annotated[Number, Field(ge=0, lt=1)]] = (
        Field((0.9, 0.999), description="Adam betas; PyTorch's default is (0.9, 0.999).")
    )
    weight_decay: Annotated[Number, Field(ge=0, le=1)] = 0.0
    momentum: Annotated[Number, Field(ge=0, lt=1)] = 0.0


class Optimizers(StrictModel):
    generator: Optimizer
    discriminator: Optimizer


class InstanceNoise(StrictModel):
    std: Annotated[Number, Field(gt=0, le=10)]
    decay_steps: Count = Field(description="Linear decay of the noise std to 0 over these steps.")


Loss = Literal["minimax", "nonsaturating", "wgan", "wgan-gp", "hinge", "lsgan"]
WASSERSTEIN_LOSSES = frozenset({"wgan", "wgan-gp"})
PROBABILITY_LOSSES = frozenset({"minimax", "nonsaturating"})
LOSS_DESCRIPTION = (
    "minimax: D minimises BCE on real and fake; G minimises log(1 - D(G(z))), the original "
    "saturating game (its gradient vanishes while D rejects the fakes). nonsaturating: same D; "
    "G minimises -log D(G(z)), i.e. BCE against real labels, which is what code written with "
    "nn.BCELoss() does. wgan: critic with weight clipping. wgan-gp: critic with a gradient "
    "penalty. hinge: hinge D loss, G minimises -D(G(z)). lsgan: least squares."
)


class Training(StrictModel):
    """Surface 4. Who updates when, and by how much."""

    loss: Loss = Field(description=LOSS_DESCRIPTION)
    d_steps_per_g_step: Annotated[Count, Field(le=100)] = 1
    gradient_penalty: Annotated[Number, Field(gt=0, le=1000)] | None = Field(
        None, description="WGAN-GP penalty weight (the paper uses 10)."
    )
    r1: Annotated[Number, Field(gt=0, le=10_000)] | None = Field(
        None,
        description="R1 penalty gamma (Mescheder et al. 2018): D pays gamma/2 * E||grad D(x)||^2 "
        "on real data, which lets training settle on sharp modes instead of circling them.",
    )
    r1_every: Annotated[Count, Field(le=1000)] = Field(
        1,
        description="Lazy R1 (Karras et al. 2020, StyleGAN2): apply the R1 penalty on every "
        "n-th D update only, scaled by n so its average weight is unchanged. The penalty's "
        "double backward is the costliest part of a D step; n = 4 to 16 saves most of it.",
    )
    weight_clip: Annotated[Number, Field(gt=0, le=10)] | None = Field(
        None, description="Original WGAN critic weight clipping (the paper uses 0.01)."
    )
    label_smoothing: Annotated[Number, Field(ge=0, le=0.5)] = Field(
        0.0,
        description="One-sided label smoothing, as the amount taken off the real label: 0.1 "
        "makes real targets 0.9 (the value code written with nn.BCELoss() puts in its real "
        "labels).",
    )
    instance_noise: InstanceNoise | None = None
    ema: Annotated[Number, Field(gt=0, lt=1)] | None = Field(
        None, description="Decay of an exponential moving average of G's weights."
    )
    optimizers: Optimizers
    lr_schedule: Literal["constant", "linear", "cosine"] = Field(
        "constant",
        description="Learning rates over the run: constant, or decayed to 0 at its last step "
        "(linearly or along a half cosine), so samples settle instead of jittering around "
        "the modes.",
    )
    epochs: Annotated[Count, Field(le=100_000)]
    checkpoint_every: Count | None = Field(None, description="Epochs between checkpoints.")
    keep_checkpoints: Annotated[Count, Field(le=1000)] = 3
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    amp: Literal["off", "bf16", "fp16"] = "off"
    compile: Flag = False
    memory_budget: Annotated[Number, Field(gt=0, le=1_000_000)] = Field(
        16.0,
        description="Memory (GB) one training process may use: validate estimates weights, "
        "gradients, optimizer state and activations and warns above it (GS603). The default "
        "is one consumer GPU (or a laptop's RAM).",
    )


# --- the validation protocol -----------------------------------------------------------------

LogField = Literal[
    "loss_g", "loss_d", "d_real", "d_fake", "grad_norm_g", "grad_norm_d", "seconds_per_step"
]


class Fid(StrictModel):
    every: Count = Field(description="Epochs between scores.")
    samples: Annotated[Count, Field(le=1_000_000)]
    features: Literal["inception", "domain"] = Field(
        description="inception: InceptionV3 pool features; domain: a small classifier trained on "
        "the data (works offline)."
    )
    dims: Literal[64, 192, 768, 2048] = Field(
        2048, description="InceptionV3 feature size (for features: inception)."
    )


class Validation(StrictModel):
    """The protocol that proves the model learned."""

    sample_grid_every: Count | None = Field(1, description="Epochs between sample grids.")
    grid_size: Annotated[Count, Field(le=1024)] = 64
    log_every: Count = Field(50, description="Steps between log lines.")
    log: list[LogField] = Field(
        default_factory=lambda: ["loss_g", "loss_d", "d_real", "d_fake"],
    )
    d_fake_healthy: tuple[Number, Number] | None = Field(
        None, description="Band of mean D(fake) probability considered healthy, e.g. [0.3, 0.7]."
    )
    on_nan: Literal["stop_and_save_last_good", "stop", "continue"] | None = Field(
        None, description="What a NaN/Inf loss does."
    )
    fid: Fid | None = None
    holdout: Annotated[Number, Field(ge=0, le=0.5)] = Field(
        0.1,
        description="Share of the real data kept out of training (a fixed, seeded split): "
        "evaluate.py compares generated samples with it and checks for memorization.",
    )


# --- the root --------------------------------------------------------------------------------


class ImageSpec(StrictModel):
    """A GAN over images (or 2-D point clouds): four surfaces and the validation protocol."""

    ganspec: Literal[1] = Field(description="Spec format version.")
    name: Identifier = Field(description="Becomes the rendered package name.")
    kind: Literal["image"]
    description: Annotated[str, Field(max_length=2000)] = ""
    seed: Annotated[StrictInt, Field(ge=0, lt=2**32)] = 0
    ignore: list[RuleCode] = Field(
        default_factory=list, description="Rule codes to silence, e.g. [GS305]."
    )
    data: Data
    discriminator: Discriminator
    generator: Generator
    training: Training
    validation: Validation
