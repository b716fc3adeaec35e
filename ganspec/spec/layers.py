"""Layer lists: each layer is a mapping with exactly one op key (``conv: 64``) plus options.

The op key carries the op's main number (output channels, features, kernel or factor), so a
layer reads the way people write architectures: ``{conv: 64, kernel: 4, stride: 2}``.
Normalisation, activation and dropout follow the op in that order (``order: act_norm`` puts the
activation before the norm); spectral norm wraps the op's weights.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from ganspec.spec.common import (
    Count,
    ErrorAt,
    Flag,
    NonNegative,
    Number,
    Probability,
    StrictModel,
)

Norm = Literal["none", "batch", "instance", "layer"]
Activation = Literal["none", "relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu", "elu"]
Order = Literal["norm_act", "act_norm"]


class LayerOptions(StrictModel):
    """What may follow any op: norm -> act -> dropout (or act -> norm -> dropout), and spectral
    norm on its weights."""

    norm: Norm = Field("none", description="Normalisation applied after the op.")
    affine: Flag = Field(
        True,
        description="Whether the norm learns a per-channel scale and shift (PyTorch's affine, "
        "elementwise_affine for layer norm). `affine: false` is the bare normalisation, e.g. "
        "InstanceNorm2d's own default in WGAN critics; it needs a norm on the layer.",
    )
    act: Activation = Field("none", description="Activation applied after the norm.")
    leaky_slope: Annotated[Number, Field(gt=0, lt=1)] = Field(
        0.2, description="Negative slope for leaky_relu (DCGAN uses 0.2)."
    )
    order: Order = Field(
        "norm_act",
        description="Where the norm goes: `norm_act` (op -> norm -> act, DCGAN's order) or "
        "`act_norm` (op -> act -> norm, e.g. a Linear -> LeakyReLU -> BatchNorm1d block); "
        "stating it needs both a norm and an activation on the layer.",
    )
    dropout: Probability = Field(0.0, description="Dropout probability after the activation.")
    spectral_norm: Flag | None = Field(
        None, description="Wrap this layer's weights in spectral norm; default: the network's."
    )

    @model_validator(mode="after")
    def _affine_needs_a_norm(self) -> LayerOptions:
        if not self.affine and self.norm == "none":
            raise ErrorAt(
                "affine: false says the norm learns no scale and shift, but the layer has no "
                "norm; add norm: batch, instance or layer, or remove affine",
                "affine",
            )
        return self

    @model_validator(mode="after")
    def _order_needs_a_norm_and_an_act(self) -> LayerOptions:
        if self.order == "act_norm" and (self.norm == "none" or self.act == "none"):
            missing = "norm" if self.norm == "none" else "act"
            raise ErrorAt(
                "order: act_norm puts the activation before the norm, but the layer has no "
                f"{missing}; add {missing}: ... or remove order",
                "order",
            )
        return self


class Linear(LayerOptions):
    linear: Count = Field(description="Output features of a fully connected layer.")
    bias: Flag = True


class Reshape(LayerOptions):
    reshape: Annotated[list[Count], Field(min_length=1, max_length=3)] = Field(
        description="Target shape per sample, e.g. [512, 4, 4] (C x H x W) or [128] (features)."
    )


class Flatten(LayerOptions):
    flatten: Literal[True] = Field(description="Flatten C x H x W into one feature vector.")


class Conv(LayerOptions):
    conv: Count = Field(description="Output channels of a Conv2d.")
    kernel: Count = Field(description="Square kernel size.")
    stride: Count = 1
    padding: NonNegative = 0
    dilation: Count = 1
    groups: Count = 1
    bias: Flag = True


class ConvTranspose(LayerOptions):
    conv_transpose: Count = Field(description="Output channels of a ConvTranspose2d.")
    kernel: Count = Field(description="Square kernel size.")
    stride: Count = 1
    padding: NonNegative = 0
    output_padding: NonNegative = Field(
        0, description="Extra rows/cols added on one side; must be < stride or dilation."
    )
    dilation: Count = 1
    groups: Count = 1
    bias: Flag = True


class Upsample(LayerOptions):
    upsample: Annotated[Number, Field(gt=0, le=64)] = Field(
        description="Scale factor; output size is floor(size * scale), as in nn.Upsample."
    )
    mode: Literal["nearest", "bilinear"] = "nearest"


class PixelShuffle(LayerOptions):
    pixel_shuffle: Count = Field(description="Upscale factor r: C x H x W -> C/r^2 x rH x rW.")


class AvgPool(LayerOptions):
    avg_pool: Count = Field(description="Pooling window (kernel) size.")
    stride: Count | None = Field(None, description="Defaults to the kernel size, as in PyTorch.")
    padding: NonNegative = 0
    ceil_mode: Flag = False


class MaxPool(LayerOptions):
    max_pool: Count = Field(description="Pooling window (kernel) size.")
    stride: Count | None = Field(None, description="Defaults to the kernel size, as in PyTorch.")
    padding: NonNegative = 0
    dilation: Count = 1
    ceil_mode: Flag = False


class GlobalAvgPool(LayerOptions):
    global_avg_pool: Literal[True] = Field(
        description="Average over H x W and flatten: C x H x W -> C features."
    )


class Embedding(LayerOptions):
    embedding: Count = Field(description="Number of classes whose labels are embedded.")
    dim: Count = Field(
        description="Embedding size. Concatenated to features (F -> F+dim) or, on an image, "
        "broadcast over H x W as dim extra channels (C -> C+dim)."
    )


LAYER_TYPES: dict[str, type[LayerOptions]] = {
    "linear": Linear,
    "reshape": Reshape,
    "flatten": Flatten,
    "conv": Conv,
    "conv_transpose": ConvTranspose,
    "upsample": Upsample,
    "pixel_shuffle": PixelShuffle,
    "avg_pool": AvgPool,
    "max_pool": MaxPool,
    "global_avg_pool": GlobalAvgPool,
    "embedding": Embedding,
}
OP_KEYS = tuple(LAYER_TYPES)
WEIGHTED_OPS = frozenset({"linear", "conv", "conv_transpose", "embedding"})


def op_of(layer: Any) -> str | None:
    """The op key of a raw layer mapping or a parsed layer; None unless exactly one is present."""
    if isinstance(layer, LayerOptions):
        return next(op for op, cls in LAYER_TYPES.items() if isinstance(layer, cls))
    if isinstance(layer, dict):
        found = [key for key in OP_KEYS if key in layer]
        return found[0] if len(found) == 1 else None
    return None


Layer = Annotated[
    Annotated[Linear, Tag("linear")]
    | Annotated[Reshape, Tag("reshape")]
    | Annotated[Flatten, Tag("flatten")]
    | Annotated[Conv, Tag("conv")]
    | Annotated[ConvTranspose, Tag("conv_transpose")]
    | Annotated[Upsample, Tag("upsample")]
    | Annotated[PixelShuffle, Tag("pixel_shuffle")]
    | Annotated[AvgPool, Tag("avg_pool")]
    | Annotated[MaxPool, Tag("max_pool")]
    | Annotated[GlobalAvgPool, Tag("global_avg_pool")]
    | Annotated[Embedding, Tag("embedding")],
    Discriminator(
        op_of,
        custom_error_type="layer_op",
        custom_error_message="a layer needs exactly one op key",
    ),
]
