"""GS6xx: the rendered project. A name pip can install safely, and a size a machine can train."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec import project_names
from ganspec.footprint import GB, LARGEST_DEVICE_GB, Footprint, NetworkCost, format_bytes
from ganspec.footprint import format_count as count
from ganspec.image.context import ImageContext, batch_at_most
from ganspec.rules.registry import ALL_KINDS, Finding, rule
from ganspec.shapes import describe
from ganspec.spec.image import Training
from ganspec.spec.layers import op_of

DEFAULT_BUDGET = Training.model_fields["memory_budget"].default


@rule(
    "GS601",
    "invalid-project-name",
    "error",
    summary="The spec's name does not make a valid project name once rendered: it starts or "
    "ends with an underscore, which becomes a hyphen in pyproject.toml.",
    why="PEP 508 project names start and end with a letter or digit; `pip install -e .` "
    "refuses the rendered project outright.",
    example='name: _faces   # renders name = "-faces" in pyproject.toml',
    fix="Drop the leading and trailing underscores (the message suggests a name).",
    kinds=ALL_KINDS,
)
def valid_project_name(ctx: ImageContext) -> Iterator[Finding]:
    name = ctx.spec.name
    if not project_names.is_project_name(name):
        suggestion = project_names.suggest(name, ctx.spec.kind)
        yield Finding(
            ("name",),
            f"name {name!r} renders the project name "
            f"{project_names.rendered_name(name)!r}, which PEP 508 rejects",
            f"name: {suggestion}",
        )


@rule(
    "GS602",
    "name-shadows-a-package",
    "error",
    summary="The spec's name is the name of an installed or well-known Python distribution "
    "(pip, click, torch, numpy, ganspec, ...), a standard-library module, or one of the "
    "rendered project's own modules (data, train, models, ...).",
    why="The name becomes the distribution name in the rendered pyproject.toml, and "
    "`pip install -e .` replaces any installed distribution with the same normalised name: "
    "`name: click` uninstalls click and breaks every tool that needs it, ganspec included.",
    example="name: click",
    fix="Pick a name of your own; the message suggests one (e.g. click_gan).",
    kinds=ALL_KINDS,
)
def name_is_free(ctx: ImageContext) -> Iterator[Finding]:
    name = ctx.spec.name
    if not project_names.is_project_name(name):
        return  # GS601 says what is wrong, and its suggestion is free too
    taken = project_names.collision(name, ctx.spec.kind)
    if taken:
        suggestion = project_names.suggest(name, ctx.spec.kind)
        yield Finding(
            ("name",),
            f"name {name!r} is {taken}: `pip install -e .` of the rendered project "
            f"({project_names.rendered_name(name)}) would replace or shadow it",
            f"name: {suggestion}",
        )


def _biggest(footprint: Footprint) -> tuple[NetworkCost, int]:
    """The network and layer index that cost the most: where a fix helps most."""
    network = max(footprint.networks, key=lambda n: n.total_bytes)
    return network, network.largest_layer().index


def _breakdown(footprint: Footprint) -> str:
    parts = []
    for network in footprint.networks:
        parts.append(
            f"{network.name} {format_bytes(network.total_bytes)}: "
            f"{count(network.parameters)} parameters, "
            f"{format_bytes(network.state_bytes)} weights/grads/optimizer, "
            f"{format_bytes(network.activation_bytes)} activations"
        )
    return "; ".join(parts)


def _advice(ctx: ImageContext, footprint: Footprint, limit: float) -> str:
    """Shrink the costliest layer, or the batch size that fits when activations dominate."""
    network, index = _biggest(footprint)
    layer = getattr(ctx.spec, network.name).layers[index]
    cost = network.layer_bytes(network.largest_layer())
    shrink = (
        f"shrink {network.name}.layers[{index}] ({op_of(layer)}: {describe(layer)}; "
        f"{format_bytes(cost)})"
    )
    batch = ctx.spec.data.batch_size
    pack = ctx.spec.discriminator.pack
    state = sum(n.state_bytes for n in footprint.networks)
    per_sample = sum(n.activation_bytes for n in footprint.networks) / batch
    fits = batch_at_most(int((limit - state) // per_sample), pack) if per_sample else 0
    if 2 * pack <= fits < batch:
        return f"data.batch_size: {fits}, or {shrink}"
    return shrink


@rule(
    "GS603",
    "memory-over-budget",
    "warning",
    summary="Training is estimated to need more memory than training.memory_budget (default "
    f"{DEFAULT_BUDGET:g} GB, one consumer GPU), or the in-memory data set alone exceeds it.",
    why="The estimate adds both networks' weights, gradients and optimizer state (Adam keeps "
    "two more copies; an EMA of G one more) and the activations one step keeps for backward "
    "at data.batch_size; `ganspec validate --explain` prints it per network. Past the "
    "budget the run fails with CUDA out of memory, or swaps and gets killed on a CPU.",
    example="generator:\n  layers:\n    - {linear: 50000, act: relu}\n"
    "    - {linear: 50000, act: relu}   # 2.5 billion weights: 40 GB with Adam",
    fix="Use the computed fix (a smaller layer or batch size), or set "
    "training.memory_budget to the memory you have (in GB).",
)
def memory_budget(ctx: ImageContext) -> Iterator[Finding]:
    footprint = ctx.footprint
    if footprint is None:
        return
    budget = ctx.spec.training.memory_budget
    total = footprint.total_bytes
    if budget * GB < total <= LARGEST_DEVICE_GB * GB:
        network, index = _biggest(footprint)
        yield Finding(
            (network.name, "layers", index),
            f"training needs about {format_bytes(total)} ({_breakdown(footprint)}), above "
            f"training.memory_budget {budget:g} GB",
            _advice(ctx, footprint, budget * GB) + f", or training.memory_budget: "
            f"{-(-total // GB)}",
        )
    data = footprint.data_bytes
    if data is not None and data > budget * GB:
        source = ctx.spec.data.source.type
        yield Finding(
            ("data", "shape"),
            f"the {source} data set is held in memory at this shape: "
            f"{format_bytes(data)}, above training.memory_budget {budget:g} GB",
            "a smaller data.shape, or source: folder (pictures are decoded per batch)",
        )


@rule(
    "GS604",
    "memory-beyond-any-device",
    "error",
    summary=f"Training is estimated to need more than {LARGEST_DEVICE_GB} GB, the memory of the "
    "largest single accelerator (an NVIDIA H200).",
    why="The rendered project trains each network whole on one device per process; no GPU "
    "holds it, so the first step dies with an out-of-memory error (or the machine swaps "
    "until the kernel kills it). The estimate is weights, gradients, optimizer state and "
    "the activations of one step, as GS603 and `validate --explain` show them.",
    example="data: {shape: {channels: 3, height: 4096, width: 4096}, batch_size: 64}\n"
    "generator:\n  layers: [..., {conv_transpose: 64, kernel: 4, stride: 2, padding: 1}, ...]",
    fix="Use the computed fix: shrink the layer it names or the batch size.",
)
def memory_anywhere(ctx: ImageContext) -> Iterator[Finding]:
    footprint = ctx.footprint
    if footprint is None or footprint.total_bytes <= LARGEST_DEVICE_GB * GB:
        return
    network, index = _biggest(footprint)
    yield Finding(
        (network.name, "layers", index),
        f"training needs about {format_bytes(footprint.total_bytes)} "
        f"({_breakdown(footprint)}), more than the {LARGEST_DEVICE_GB} GB of any single "
        "accelerator",
        _advice(ctx, footprint, LARGEST_DEVICE_GB * GB),
    )
