"""What every rule check receives: the parsed spec and both networks' shape traces."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ganspec.shapes import Shape, Trace, trace
from ganspec.spec.image import ImageSpec
from ganspec.spec.layers import LayerOptions, op_of

# Ops that move values around without computing new ones: an activation before them is still
# the network's output activation.
NETWORKS = ("generator", "discriminator")
_PASS_THROUGH = frozenset({"reshape", "flatten", "upsample", "pixel_shuffle"})


@dataclass
class RuleContext:
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
