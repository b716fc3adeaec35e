"""The analysed image spec: the parsed spec, both networks' shape traces and the footprint,
which rules check and render and explain read."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ganspec.footprint import Footprint, estimate
from ganspec.shapes import Shape, Trace, trace
from ganspec.spec.image import ImageSpec
from ganspec.spec.layers import LayerOptions, op_of

# Ops that move values around without computing new ones: an activation before them is still
# the network's output activation.
NETWORKS = ("generator", "discriminator")
_PASS_THROUGH = frozenset({"reshape", "flatten", "upsample", "pixel_shuffle"})


@dataclass
class ImageContext:
    """An image spec once analysed: what every image rule checks, and what render and
    explain read (the traces are computed once, on first use)."""

    spec: ImageSpec

    @property
    def data_shape(self) -> Shape:
        return self.spec.data.shape.dims

    @property
    def discriminator_input(self) -> Shape:
        """D sees ``pack`` samples concatenated along channels (or features)."""
        dims = self.data_shape
        return (dims[0] * self.spec.discriminator.pack, *dims[1:])

    @property
    def latent_shape(self) -> Shape:
        return (self.spec.generator.latent_dim,)

    @cached_property
    def generator_trace(self) -> Trace:
        return trace(self.spec.generator.layers, self.latent_shape)

    @cached_property
    def discriminator_trace(self) -> Trace:
        return trace(self.spec.discriminator.layers, self.discriminator_input)

    def unlisted(self) -> None:
        """Findings counted but never made into diagnostics: an image spec has none (a
        tabular spec's data scan counts what it does not word)."""
        return None

    @cached_property
    def footprint(self) -> Footprint | None:
        """Memory of one training step; None while a trace is incomplete."""
        return estimate(self.spec, self.generator_trace, self.discriminator_trace)

    def forward_batch(self, network: str) -> int:
        """Samples one forward pass sees: G makes a batch, D scores it in packs."""
        batch = self.spec.data.batch_size
        return batch if network == "generator" else max(1, batch // self.spec.discriminator.pack)


def output_layer(layers: list[LayerOptions]) -> tuple[int, LayerOptions]:
    """The layer whose activation is the network's output activation, and its index."""
    for index in range(len(layers) - 1, -1, -1):
        layer = layers[index]
        if layer.act != "none" or op_of(layer) not in _PASS_THROUGH:
            return index, layer
    return len(layers) - 1, layers[-1]


def first_weighted_layer(layers: list[LayerOptions]) -> tuple[int, LayerOptions] | None:
    for index, layer in enumerate(layers):
        if op_of(layer) in ("linear", "conv", "conv_transpose"):
            return index, layer
    return None


def last_weighted_layer(layers: list[LayerOptions]) -> tuple[int, LayerOptions] | None:
    for index in range(len(layers) - 1, -1, -1):
        if op_of(layers[index]) in ("linear", "conv", "conv_transpose"):
            return index, layers[index]
    return None


def batch_at_most(limit: int, pack: int) -> int:
    """The batch size to suggest under ``limit``: the largest power of two that ``pack``
    divides, else the largest multiple of ``pack``; 0 when not even one pack fits."""
    if limit < pack:
        return 0
    power = 1 << (limit.bit_length() - 1)
    while power >= pack and power % pack:
        power >>= 1
    return power if power >= pack else limit - limit % pack
