"""GS4xx: the data contract. What the data pipeline hands every other surface."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec.image.context import NETWORKS, ImageContext, batch_at_most
from ganspec.rules.registry import Finding, rule
from ganspec.spec.image import SOURCE_CLASSES, SOURCE_SIZES, VECTOR_SOURCES, ImageSpec
from ganspec.spec.layers import op_of


def _embeddings(ctx: ImageContext, network: str) -> list[tuple[int, int]]:
    """(layer index, class count) of every embedding layer in a network."""
    layers = getattr(ctx.spec, network).layers
    return [(i, layer.embedding) for i, layer in enumerate(layers) if op_of(layer) == "embedding"]


@rule(
    "GS401",
    "class-count-mismatch",
    "error",
    summary="A conditional spec whose class count disagrees between data, generator and "
    "discriminator.",
    why="An embedding with fewer rows than there are labels raises an index error on the "
    "first batch holding the larger labels; more rows waste capacity and hide a wrong dataset.",
    example="data: {classes: 10}\ngenerator:\n  layers: [{embedding: 9, dim: 50}, ...]",
    fix="Use data.classes as the embedding count in both networks.",
)
def class_counts_agree(ctx: ImageContext) -> Iterator[Finding]:
    classes = ctx.spec.data.classes
    if classes is None:
        return
    for network in NETWORKS:
        for index, count in _embeddings(ctx, network):
            if count != classes:
                yield Finding(
                    (network, "layers", index, "embedding"),
                    f"{network} embeds {count} classes, data has {classes}",
                    f"embedding: {classes}",
                )


@rule(
    "GS402",
    "conditioning-incomplete",
    "error",
    summary="Labels are embedded without data.classes, or data has classes but one network "
    "never sees the label.",
    why="A conditional GAN only learns p(x | y) when both networks receive y; a generator "
    "conditioned on labels its discriminator ignores learns nothing from them.",
    example="data: {classes: 10}\ngenerator: {layers: [{embedding: 10, dim: 50}, ...]}\n"
    "discriminator: {layers: [{conv: 64, ...}]}   # no embedding",
    fix="Add an {embedding: N, dim: D} layer to both networks, with data.classes: N.",
)
def conditioning_complete(ctx: ImageContext) -> Iterator[Finding]:
    classes = ctx.spec.data.classes
    for network in NETWORKS:
        embedded = _embeddings(ctx, network)
        if embedded and classes is None:
            yield Finding(
                (network, "layers", embedded[0][0]),
                "an embedding layer needs labels, but data.classes is not set",
                f"data.classes: {embedded[0][1]}",
            )
        elif classes is not None and not embedded:
            yield Finding(
                (network, "layers"),
                f"data has {classes} classes but the {network} never sees the label",
                f"add {{embedding: {classes}, dim: ...}} to the {network}",
            )


@rule(
    "GS403",
    "pack-divides-batch",
    "error",
    summary="The batch size is not divisible by the discriminator's PacGAN pack.",
    why="Packing concatenates groups of `pack` samples; a remainder either raises in view() "
    "or silently drops samples every step.",
    example="data: {batch_size: 100}\ndiscriminator: {pack: 3}",
    fix="Choose batch_size as a multiple of pack.",
)
def pack_divides_batch(ctx: ImageContext) -> Iterator[Finding]:
    pack = ctx.spec.discriminator.pack
    batch = ctx.spec.data.batch_size
    if batch % pack:
        yield Finding(
            ("data", "batch_size"),
            f"batch_size {batch} is not a multiple of pack {pack}",
            f"batch_size: {max(pack, batch - batch % pack)}",
        )


@rule(
    "GS404",
    "source-shape",
    "error",
    summary="The data source cannot produce the declared shape: ring8/grid25 are 2-D points "
    "(features: 2); image sources need channels/height/width.",
    why="The data pipeline is the contract every other surface is checked against; a shape "
    "the source cannot deliver makes every other check meaningless.",
    example="data:\n  source: {type: ring8}\n  shape: {channels: 1, height: 32, width: 32}",
    fix="shape: {features: 2} for ring8/grid25; channels/height/width for images.",
)
def source_matches_shape(ctx: ImageContext) -> Iterator[Finding]:
    data = ctx.spec.data
    source = data.source.type
    if source in VECTOR_SOURCES and data.shape.dims != (2,):
        yield Finding(
            ("data", "shape"),
            f"{source} yields 2-D points but shape is {data.shape.dims}",
            "shape: {features: 2}",
        )
    elif source not in VECTOR_SOURCES and source != "synthetic" and not data.shape.is_image:
        yield Finding(
            ("data", "shape"),
            f"{source} yields images but shape declares features",
            "shape: {channels: ..., height: ..., width: ...}",
        )


@rule(
    "GS405",
    "augment-vector-data",
    "error",
    summary="Image augmentations (flip, translation, color, cutout) on feature-vector data.",
    why="They are defined on C x H x W images; on 2-D points they either raise or silently "
    "change the distribution being learned.",
    example="data:\n  source: {type: ring8}\n  shape: {features: 2}\n  augment: [hflip]",
    fix="augment: [] for vector data.",
)
def augment_needs_images(ctx: ImageContext) -> Iterator[Finding]:
    data = ctx.spec.data
    if data.augment and not data.shape.is_image:
        yield Finding(("data", "augment"), "augmentations need image data", "augment: []")


@rule(
    "GS406",
    "source-has-no-labels",
    "error",
    summary="data.classes is set for a source that has no labels, or disagrees with the "
    "source's own class count (digits has 10).",
    why="The conditioning contract starts at the data: labels that do not exist, or a wrong "
    "count, make every embedding downstream wrong.",
    example="data:\n  source: {type: digits}\n  classes: 5",
    fix="Use the source's class count (digits: 10), or a labelled source (digits, folder with "
    "class sub-folders, torchvision).",
)
def source_labels(ctx: ImageContext) -> Iterator[Finding]:
    data = ctx.spec.data
    if data.classes is None:
        return
    source = data.source.type
    if source not in SOURCE_CLASSES:
        yield Finding(("data", "classes"), f"{source} data has no labels", "remove classes")
        return
    known = SOURCE_CLASSES[source]
    if known is not None and known != data.classes:
        yield Finding(
            ("data", "classes"),
            f"{source} has {known} classes, not {data.classes}",
            f"classes: {known}",
        )


@rule(
    "GS407",
    "image-range-missing",
    "error",
    summary="Image data without data.range.",
    why="The range is the contract between the data pipeline and G's output activation; "
    "without it, pixels in [0, 255] or [0, 1] meet a tanh generator.",
    example="data:\n  source: {type: digits}\n  shape: {channels: 1, height: 32, width: 32}",
    fix="range: [-1, 1] (with a tanh generator).",
)
def image_range(ctx: ImageContext) -> Iterator[Finding]:
    data = ctx.spec.data
    if data.shape.is_image and data.range is None:
        yield Finding(("data",), "image data needs a range", "range: [-1, 1]")


def training_samples(spec: ImageSpec) -> tuple[int, int] | None:
    """(samples in the source, samples held out) for a source of known size, as the rendered
    data.py's split_indices takes them; None for folder and torchvision."""
    size = SOURCE_SIZES.get(spec.data.source.type)
    if size is None:
        return None
    fraction = spec.validation.holdout
    held = min(round(size * fraction), size - 1) if fraction else 0
    if fraction and size > 1:
        held = max(held, 1)
    return size, held


@rule(
    "GS408",
    "batch-larger-than-data",
    "error",
    summary="data.batch_size is larger than the training set (the source's samples minus the "
    "validation.holdout share).",
    why="The loader drops incomplete batches (D's packs need whole batches), so an epoch has "
    "no batch at all: training stops before its first step. Samples per source: "
    + ", ".join(f"{source} {size:,}" for source, size in SOURCE_SIZES.items())
    + " (folder and torchvision: unknown until read).",
    example="data:\n  source: {type: digits}   # 1,797 images, 180 held out\n  batch_size: 2048",
    fix="A batch size no larger than the training set (the message computes one), or a "
    "smaller validation.holdout.",
)
def batch_fits_data(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    sizes = training_samples(spec)
    if sizes is None:
        return
    size, held = sizes
    train = size - held
    batch = spec.data.batch_size
    if batch > train:
        source = spec.data.source.type
        heldout = f", {held:,} held out by validation.holdout" if held else ""
        yield Finding(
            ("data", "batch_size"),
            f"batch_size {batch:,} is larger than the {train:,} training samples ({source} "
            f"holds {size:,}{heldout}): no batch is ever complete, so no step runs",
            f"batch_size: {batch_at_most(train, spec.discriminator.pack)}",
        )


@rule(
    "GS409",
    "generator-never-steps",
    "error",
    summary="The whole run has fewer D updates than d_steps_per_g_step: epochs x batches per "
    "epoch (the training set over batch_size) never completes one G step.",
    why="G is updated once per d_steps_per_g_step D updates; a run that ends first trains D "
    "alone and saves an untrained generator, with nothing to say so.",
    example="data: {source: {type: synthetic}, batch_size: 512}   # 1 batch per epoch\n"
    "training: {d_steps_per_g_step: 5, epochs: 3}",
    fix="More epochs, a smaller batch_size or fewer D steps per G step (the message computes "
    "each).",
)
def generator_steps(ctx: ImageContext) -> Iterator[Finding]:
    spec = ctx.spec
    sizes = training_samples(spec)
    if sizes is None:
        return
    size, held = sizes
    batches = (size - held) // spec.data.batch_size
    training = spec.training
    k, epochs = training.d_steps_per_g_step, training.epochs
    if batches and epochs * batches < k:
        yield Finding(
            ("training", "d_steps_per_g_step"),
            f"{epochs} epoch(s) of {batches} batch(es) make {epochs * batches} D update(s), "
            f"fewer than the {k} D steps per G step: G is never updated",
            f"epochs: {-(-k // batches)}, or d_steps_per_g_step: {epochs * batches}",
        )
