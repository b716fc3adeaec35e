"""The generator and the discriminator, built from the layer lists in config.yaml.

A layer is a mapping whose op key comes first, e.g. ``{conv: 64, kernel: 4, stride: 2,
norm: batch, act: leaky_relu}``. It becomes the op, then its norm, activation and dropout, as
separate modules in one flat list, so ``print(model)`` reads like the config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm

from checkpoints import read_checkpoint
from config import data_dims

WEIGHTED_OPS = {"linear", "conv", "conv_transpose", "embedding"}
OPS = WEIGHTED_OPS | {
    "reshape",
    "flatten",
    "upsample",
    "pixel_shuffle",
    "avg_pool",
    "max_pool",
    "global_avg_pool",
}


class Reshape(nn.Module):
    """Reshape each sample, keeping the batch dimension: (N, 512*4*4) -> (N, 512, 4, 4)."""

    def __init__(self, shape: list[int]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class LabelEmbedding(nn.Module):
    """Embed the class label and concatenate it to the input: as ``dim`` extra features on
    vectors, or as ``dim`` extra channels, constant over H x W, on images."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(num_classes, dim)

    def forward(self, x: Tensor, labels: Tensor | None) -> Tensor:
        if labels is None:
            raise ValueError("this network is conditional: pass class labels")
        e = self.embed(labels).to(x.dtype)
        if x.dim() == 4:
            e = e[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, e], dim=1)


def op_name(layer: dict[str, Any]) -> str:
    return next(key for key in layer if key in OPS)


def make_op(layer: dict[str, Any], shape: tuple[int, ...]) -> nn.Module:
    """The layer's main module, given the per-sample shape that flows into it."""
    op = op_name(layer)
    value = layer[op]
    channels = shape[0]
    if op == "linear":
        return nn.Linear(channels, value, bias=layer.get("bias", True))
    if op == "conv":
        return nn.Conv2d(
            channels,
            value,
            layer["kernel"],
            stride=layer.get("stride", 1),
            padding=layer.get("padding", 0),
            dilation=layer.get("dilation", 1),
            groups=layer.get("groups", 1),
            bias=layer.get("bias", True),
        )
    if op == "conv_transpose":
        return nn.ConvTranspose2d(
            channels,
            value,
            layer["kernel"],
            stride=layer.get("stride", 1),
            padding=layer.get("padding", 0),
            output_padding=layer.get("output_padding", 0),
            groups=layer.get("groups", 1),
            bias=layer.get("bias", True),
            dilation=layer.get("dilation", 1),
        )
    if op == "embedding":
        return LabelEmbedding(value, layer["dim"])
    if op == "reshape":
        return Reshape(value)
    if op == "flatten":
        return nn.Flatten()
    if op == "upsample":
        mode = layer.get("mode", "nearest")
        align = False if mode == "bilinear" else None
        return nn.Upsample(scale_factor=value, mode=mode, align_corners=align)
    if op == "pixel_shuffle":
        return nn.PixelShuffle(value)
    if op == "avg_pool":
        return nn.AvgPool2d(
            value, layer.get("stride"), layer.get("padding", 0), layer.get("ceil_mode", False)
        )
    if op == "max_pool":
        return nn.MaxPool2d(
            value,
            layer.get("stride"),
            layer.get("padding", 0),
            layer.get("dilation", 1),
            ceil_mode=layer.get("ceil_mode", False),
        )
    if op == "global_avg_pool":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    raise ValueError(f"unknown layer op {op!r}")


def make_norm(kind: str, shape: tuple[int, ...], affine: bool = True) -> nn.Module | None:
    """Normalise over what the op produced: channels of an image, or its features; ``affine``
    adds a learnt scale and shift per channel (or feature)."""
    image = len(shape) == 3
    if kind == "batch":
        return (
            nn.BatchNorm2d(shape[0], affine=affine)
            if image
            else nn.BatchNorm1d(shape[0], affine=affine)
        )
    if kind == "instance":
        return nn.InstanceNorm2d(shape[0], affine=affine)
    if kind == "layer":
        if image:
            return nn.GroupNorm(1, shape[0], affine=affine)
        return nn.LayerNorm(shape[0], elementwise_affine=affine)
    return None


def make_activation(name: str, leaky_slope: float) -> nn.Module | None:
    activations = {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "gelu": nn.GELU,
        "silu": nn.SiLU,
        "elu": nn.ELU,
    }
    if name == "leaky_relu":
        return nn.LeakyReLU(leaky_slope)
    return activations[name]() if name in activations else None


@torch.no_grad()
def output_shape(op: nn.Module, shape: tuple[int, ...]) -> tuple[int, ...]:
    """Run one zero sample through the op: the shape arithmetic is PyTorch's own."""
    x = torch.zeros(1, *shape)
    y = op(x, torch.zeros(1, dtype=torch.long)) if isinstance(op, LabelEmbedding) else op(x)
    return tuple(y.shape[1:])


class LayerStack(nn.Module):
    """A layer list run in order; embedding layers also receive the class labels."""

    def __init__(
        self, layers: list[dict[str, Any]], in_shape: tuple[int, ...], spectral: bool
    ) -> None:
        super().__init__()
        modules: list[nn.Module] = []
        shape = in_shape
        for layer in layers:
            op = make_op(layer, shape)
            shape = output_shape(op, shape)
            use_spectral = layer.get("spectral_norm")
            if use_spectral is None:  # missing or null: the network's setting
                use_spectral = spectral
            if use_spectral and op_name(layer) in WEIGHTED_OPS:
                target = op.embed if isinstance(op, LabelEmbedding) else op
                spectral_norm(target)
            modules.append(op)
            norm = make_norm(layer.get("norm", "none"), shape, layer.get("affine", True))
            act = make_activation(layer.get("act", "none"), layer.get("leaky_slope", 0.2))
            dropout = nn.Dropout(layer["dropout"]) if layer.get("dropout") else None
            modules += [m for m in (norm, act, dropout) if m is not None]
        self.layers = nn.ModuleList(modules)
        self.out_shape = shape

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        for layer in self.layers:
            x = layer(x, labels) if isinstance(layer, LabelEmbedding) else layer(x)
        return x


class Generator(nn.Module):
    """Maps latent vectors z (N, latent_dim), and labels if conditional, to N samples."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        spec = cfg["generator"]
        self.latent_dim = spec["latent_dim"]
        self.net = LayerStack(spec["layers"], (self.latent_dim,), spec["spectral_norm"])
        init_weights(self, spec.get("init"))

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z, labels)


class Discriminator(nn.Module):
    """Scores samples: one value per pack of ``pack`` samples (PacGAN, Lin et al. 2018).

    Consecutive samples of the batch form a pack, concatenated along channels (images) or
    features (vectors): (N, C, H, W) -> (N/pack, pack*C, H, W). Judging several samples at
    once lets D see a lack of diversity, which fights mode collapse. A pack carries one label:
    that of its first sample (in conditional training a pack's samples may differ in class).
    The output is flattened to (N/pack,), or (N/pack, H*W) for a patch discriminator.
    """

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        spec = cfg["discriminator"]
        self.pack = spec["pack"]
        dims = data_dims(cfg)
        in_shape = (dims[0] * self.pack, *dims[1:])
        self.net = LayerStack(spec["layers"], in_shape, spec["spectral_norm"])
        init_weights(self, spec.get("init"))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        n = x.shape[0] // self.pack
        x = x.reshape(n, self.pack * x.shape[1], *x.shape[2:])
        if labels is not None:
            labels = labels[:: self.pack]
        scores = self.net(x, labels).reshape(n, -1)
        return scores.squeeze(1) if scores.shape[1] == 1 else scores


def _weight(module: nn.Module) -> Tensor:
    """The trainable weight, also when spectral norm reparametrises it."""
    if parametrize.is_parametrized(module, "weight"):
        return module.parametrizations.weight.original  # type: ignore[union-attr]
    return module.weight  # type: ignore[return-value]


@torch.no_grad()
def init_weights(module: nn.Module, init: dict[str, Any] | None) -> None:
    """Initialise conv and linear weights by ``init.scheme``; None keeps PyTorch's default.

    ``normal`` is DCGAN's: weights ~ N(0, std), BatchNorm scales ~ N(1, std), biases 0.
    """
    if init is None:
        return
    scheme, std = init["scheme"], init.get("std", 0.02)
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            weight = _weight(m)
            if scheme == "normal":
                nn.init.normal_(weight, 0.0, std)
            elif scheme == "xavier_uniform":
                nn.init.xavier_uniform_(weight)
            elif scheme == "xavier_normal":
                nn.init.xavier_normal_(weight)
            elif scheme == "kaiming_normal":
                nn.init.kaiming_normal_(weight)
            elif scheme == "orthogonal":
                nn.init.orthogonal_(weight)
            else:
                raise ValueError(f"unknown init scheme {scheme!r}")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and m.affine:
            if scheme == "normal":
                nn.init.normal_(m.weight, 1.0, std)
            else:
                nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def sample_latent(
    n: int,
    cfg: dict[str, Any],
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> Tensor:
    """n latent vectors: N(0, 1), or uniform on [-1, 1] for ``latent: uniform``.

    With a ``generator`` (e.g. for the fixed noise of sample grids) the numbers are drawn on
    its device and moved, so the same seed gives the same noise on every device.
    """
    shape = (n, cfg["generator"]["latent_dim"])
    where = generator.device if generator is not None else device
    if cfg["generator"].get("latent", "normal") == "uniform":
        z = torch.rand(shape, generator=generator, device=where) * 2 - 1
    else:
        z = torch.randn(shape, generator=generator, device=where)
    return z.to(device)


def sample_labels(
    n: int,
    cfg: dict[str, Any],
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> Tensor | None:
    """Uniformly random class labels for generated samples; None when unconditional."""
    classes = cfg["data"]["classes"]
    if classes is None:
        return None
    where = generator.device if generator is not None else device
    return torch.randint(classes, (n,), generator=generator, device=where).to(device)


def load_generator(
    checkpoint: str | Path, device: torch.device | str = "cpu", use_ema: bool = True
) -> tuple[Generator, dict[str, Any]]:
    """G from a training checkpoint, in eval mode, with the config it was trained with.

    The EMA weights are used when the run kept them (they usually sample better). The file's
    bytes are checked against its sha256 first: CorruptFile names the file and what is wrong.
    Only G's weights are read from the file (it is memory-mapped).
    """
    state = read_checkpoint(Path(checkpoint), keys=("config", "generator"))
    cfg = state["config"]
    generator = Generator(cfg)
    weights = state["ema"] if use_ema and state.get("ema") is not None else state["generator"]
    generator.load_state_dict(weights)
    return generator.to(device).eval(), cfg
