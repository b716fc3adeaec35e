"""What training a spec costs in memory, estimated from the shape traces in pure Python.

The figure is the peak of one training step in one process: weights, gradients and optimizer
state of both networks (and G's EMA copy), plus the activations autograd keeps for backward.
Allocator slack, cuDNN workspaces and fused kernels move the real peak by tens of percent;
the estimate is for telling 200 MB from 200 GB before a run, not for packing a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

from ganspec.shapes import Trace
from ganspec.spec.image import SOURCE_SIZES, ImageSpec, Optimizer
from ganspec.spec.layers import WEIGHTED_OPS, LayerOptions, op_of

GB = 10**9
# One H200 (141 GB), the largest single accelerator on sale: a run that needs more cannot be
# trained by the rendered project (one process per device) on any machine.
LARGEST_DEVICE_GB = 141
FLOAT = 4  # bytes of a float32 weight, gradient, optimizer slot or activation
HALF = 2  # bytes of an activation under amp (bf16 or fp16)
LABEL = 8  # bytes of an int64 class label
# How data.py holds each in-memory source: bytes per value (digits and synthetic data are
# float32 tensors, sample_images crops uint8); folder and torchvision decode on access.
SOURCE_VALUE_BYTES = {"digits": 4, "sample_images": 1, "ring8": 4, "grid25": 4, "synthetic": 4}


def optimizer_slots(optimizer: Optimizer) -> int:
    """Float tensors the optimizer keeps per parameter: Adam's two moments, RMSprop's square
    average (and momentum buffer), SGD's momentum buffer."""
    if optimizer.type in ("adam", "adamw"):
        return 2
    momentum = 1 if optimizer.momentum > 0 else 0
    return momentum + (1 if optimizer.type == "rmsprop" else 0)


def op_weights(layer: LayerOptions, in_shape: tuple[int, ...]) -> int:
    """Values in the op's weight matrix (no bias): what spectral norm re-normalises."""
    op = op_of(layer)
    channels = in_shape[0]
    if op == "linear":
        return channels * layer.linear
    if op == "conv":
        return layer.conv * (channels // layer.groups) * layer.kernel**2
    if op == "conv_transpose":
        return channels * (layer.conv_transpose // layer.groups) * layer.kernel**2
    if op == "embedding":
        return layer.embedding * layer.dim
    return 0


def layer_parameters(layer: LayerOptions, in_shape: tuple[int, ...], out: tuple[int, ...]) -> int:
    """Trainable parameters of one layer as models.py builds it: the op, then its norm."""
    count = op_weights(layer, in_shape)
    if op_of(layer) in ("linear", "conv", "conv_transpose") and layer.bias:
        count += out[0] if op_of(layer) != "linear" else layer.linear
    if layer.norm != "none" and layer.affine:  # a learnt scale and shift per channel/feature
        count += 2 * out[0]
    return count


def saved_values(layer: LayerOptions, out: tuple[int, ...]) -> int:
    """Values per sample autograd keeps for one layer: the op's output, and one tensor of the
    same size for each of norm, activation and dropout (its mask) that follow it."""
    modules = 1 + (layer.norm != "none") + (layer.act != "none") + (layer.dropout > 0)
    return modules * prod(out)


@dataclass(frozen=True)
class LayerCost:
    index: int
    parameters: int
    values: int  # activation values per sample
    normalised_weights: int = 0  # spectral norm's W / sigma, made anew by every forward


@dataclass(frozen=True)
class NetworkCost:
    """One network's share of a training step's peak memory."""

    name: str
    layers: tuple[LayerCost, ...]
    input_values: int  # per sample
    samples: int  # samples (packs, for D) whose activations one step keeps
    forwards: int  # forward passes one step keeps for backward
    bytes_per_parameter: int  # weight + gradient + optimizer slots (+ EMA copy)
    bytes_per_value: int  # of an activation

    @property
    def parameters(self) -> int:
        return sum(layer.parameters for layer in self.layers)

    @property
    def state_bytes(self) -> int:
        return self.parameters * self.bytes_per_parameter

    @property
    def activation_bytes(self) -> int:
        values = self.input_values + sum(layer.values for layer in self.layers)
        weights = sum(layer.normalised_weights for layer in self.layers)
        return self.samples * values * self.bytes_per_value + self.forwards * weights * FLOAT

    @property
    def total_bytes(self) -> int:
        return self.state_bytes + self.activation_bytes

    def layer_bytes(self, layer: LayerCost) -> int:
        return (
            layer.parameters * self.bytes_per_parameter
            + self.samples * layer.values * self.bytes_per_value
            + self.forwards * layer.normalised_weights * FLOAT
        )

    def largest_layer(self) -> LayerCost:
        return max(self.layers, key=self.layer_bytes)


@dataclass(frozen=True)
class Footprint:
    generator: NetworkCost
    discriminator: NetworkCost
    data_bytes: int | None  # the in-memory data set (host memory); None when not known

    @property
    def networks(self) -> tuple[NetworkCost, NetworkCost]:
        return (self.generator, self.discriminator)

    @property
    def total_bytes(self) -> int:
        """Device memory of one training step: both networks' state and activations."""
        return self.generator.total_bytes + self.discriminator.total_bytes


def _spectral(layer: LayerOptions, network_default: bool) -> bool:
    chosen = network_default if layer.spectral_norm is None else layer.spectral_norm
    return chosen and op_of(layer) in WEIGHTED_OPS


def _network(
    name: str,
    layers: list[LayerOptions],
    spectral: bool,
    result: Trace,
    samples: int,
    forwards: int,
    bytes_per_parameter: int,
    bytes_per_value: int,
) -> NetworkCost:
    costs = tuple(
        LayerCost(
            row.index,
            layer_parameters(layers[row.index], row.in_shape, row.out_shape),
            saved_values(layers[row.index], row.out_shape),
            op_weights(layers[row.index], row.in_shape)
            if _spectral(layers[row.index], spectral)
            else 0,
        )
        for row in result.rows
    )
    return NetworkCost(
        name,
        costs,
        prod(result.input_shape),
        samples,
        forwards,
        bytes_per_parameter,
        bytes_per_value,
    )


def data_bytes(spec: ImageSpec) -> int | None:
    """Host memory of the data set data.py loads into memory, labels included."""
    source = spec.data.source.type
    if source not in SOURCE_VALUE_BYTES:
        return None
    size = SOURCE_SIZES[source]
    return size * (prod(spec.data.shape.dims) * SOURCE_VALUE_BYTES[source] + LABEL)


def estimate(spec: ImageSpec, generator: Trace, discriminator: Trace) -> Footprint | None:
    """The footprint of one training step; None while a trace is incomplete (a shape error
    already says why)."""
    if not (generator.complete and discriminator.complete):
        return None
    training = spec.training
    batch = spec.data.batch_size
    packs = max(1, batch // spec.discriminator.pack)
    penalty = training.loss == "wgan-gp" or training.gradient_penalty or training.r1
    activation = HALF if training.amp != "off" else FLOAT
    optimizers = training.optimizers
    g_slots = 2 + optimizer_slots(optimizers.generator) + (1 if training.ema else 0)
    d_slots = 2 + optimizer_slots(optimizers.discriminator)
    # G keeps its graph for the batch it generates; D scores real and fake packs, and a
    # penalty adds a forward with create_graph and its double backward on as many again.
    d_samples = 2 * packs + (2 * packs if penalty else 0)
    d_forwards = 2 + (1 if penalty else 0)
    return Footprint(
        _network(
            "generator",
            spec.generator.layers,
            spec.generator.spectral_norm,
            generator,
            batch,
            1,
            g_slots * FLOAT,
            activation,
        ),
        _network(
            "discriminator",
            spec.discriminator.layers,
            spec.discriminator.spectral_norm,
            discriminator,
            d_samples,
            d_forwards,
            d_slots * FLOAT,
            activation,
        ),
        data_bytes(spec),
    )


def format_bytes(count: float) -> str:
    """Decimal units, as memory is sold: 1.2 GB is 1.2e9 bytes."""
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if count < 1000 or unit == "PB":
            break
        count /= 1000
    if count >= 1000:
        return f"{count:.1e} PB"
    return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"


def format_count(count: int) -> str:
    """A parameter count people can read: 3,576,704 or 12.5 billion."""
    if count < 10**7:
        return f"{count:,}"
    for scale, word in ((10**12, "trillion"), (10**9, "billion"), (10**6, "million")):
        if count >= scale:
            value = count / scale
            return f"{value:.3g} {word}" if value < 1000 else f"{value:.2e} {word}"
    return f"{count:,}"  # pragma: no cover - every count >= 10**7 has a scale
