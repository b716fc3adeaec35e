"""Real-ESRGAN-family super-resolution networks, written out with torch alone.

Why our own copies: basicsr and realesrgan pull in heavy, version-pinned dependencies (and
basicsr's import of torchvision internals breaks on new torchvision releases), while the two
architectures below are a few dozen lines each. What matters for reuse is that every parameter
keeps the upstream state-dict key name, so the released ``.pth`` files (a dict holding
``params_ema`` or ``params``) load with ``torch.load(weights_only=True)`` and
``load_state_dict(strict=True)`` without any key remapping.

Sources (xinntao/Real-ESRGAN and XPixelGroup/BasicSR):
- ``RRDBNet``: ``basicsr/archs/rrdbnet_arch.py`` (ESRGAN's generator, used by Real-ESRGAN).
- ``SRVGGNetCompact``: ``realesrgan/archs/srvgg_arch.py``.
- ``MODELS``: the model table in ``inference_realesrgan.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


class ResidualDenseBlock(nn.Module):
    """Five densely connected 3x3 convs; each sees the block input and all earlier outputs.

    The residual is scaled by 0.2 (ESRGAN's "residual scaling"), which keeps the very deep
    stack stable to train without batch norm.
    """

    def __init__(self, num_feat: int = 64, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(num_feat, num_grow_ch, 3, 1, 1)
        self.conv2 = nn.Conv2d(num_feat + num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv3 = nn.Conv2d(num_feat + 2 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv4 = nn.Conv2d(num_feat + 3 * num_grow_ch, num_grow_ch, 3, 1, 1)
        self.conv5 = nn.Conv2d(num_feat + 4 * num_grow_ch, num_feat, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, F, H, W); x1..x4: (B, G, H, W); returns (B, F, H, W)
        x1 = self.lrelu(self.conv1(x))
        x2 = self.lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = self.lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = self.lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        x5 = self.conv5(torch.cat((x, x1, x2, x3, x4), 1))
        return x5 * 0.2 + x


class RRDB(nn.Module):
    """Residual-in-residual dense block: three dense blocks under one more scaled residual."""

    def __init__(self, num_feat: int, num_grow_ch: int = 32) -> None:
        super().__init__()
        self.rdb1 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb2 = ResidualDenseBlock(num_feat, num_grow_ch)
        self.rdb3 = ResidualDenseBlock(num_feat, num_grow_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # (B, F, H, W) -> (B, F, H, W)
        out = self.rdb3(self.rdb2(self.rdb1(x)))
        return out * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN / Real-ESRGAN generator: a trunk of RRDBs at low resolution, then x4 upsampling.

    The upsampler always enlarges by 4 (nearest x2, conv, twice). For ``scale`` 2 and 1 the input
    is first folded with ``pixel_unshuffle`` (by 2 or 4), so the same x4 tail yields x2 or x1
    overall and the trunk runs on fewer pixels; ``conv_first`` then takes ``num_in_ch * 4`` or
    ``num_in_ch * 16`` channels, as in the released x2 weights.
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        scale: int = 4,
        num_feat: int = 64,
        num_block: int = 23,
        num_grow_ch: int = 32,
    ) -> None:
        super().__init__()
        if scale not in (1, 2, 4):
            raise ValueError(f"RRDBNet supports scale 1, 2 or 4, not {scale}")
        self.scale = scale
        unshuffle = {4: 1, 2: 2, 1: 4}[scale]
        self.unshuffle = unshuffle
        self.conv_first = nn.Conv2d(num_in_ch * unshuffle**2, num_feat, 3, 1, 1)
        # nn.Sequential gives the upstream keys body.{i}.rdb{1,2,3}.conv{1..5}.*
        self.body = nn.Sequential(*(RRDB(num_feat, num_grow_ch) for _ in range(num_block)))
        self.conv_body = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(num_feat, num_feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(num_feat, num_out_ch, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(negative_slope=0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C, H, W); H and W must be divisible by self.unshuffle
        # torch's pixel_unshuffle orders channels as c*r*r + i*r + j, the same as basicsr's own.
        feat = F.pixel_unshuffle(x, self.unshuffle) if self.unshuffle > 1 else x
        feat = self.conv_first(feat)  # (B, F, H/u, W/u)
        feat = feat + self.conv_body(self.body(feat))
        feat = self.lrelu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")))
        feat = self.lrelu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.conv_hr(feat)))  # (B, C_out, H*scale, W*scale)


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact VGG-style net: plain convs at low resolution, one PixelShuffle.

    It predicts only the residual over a nearest-neighbour upscale of the input, so an untrained
    (or zeroed) body already returns a sensible image. All layers live in one ``body``
    ModuleList (conv, act, then ``num_conv`` x (conv, act), then the last conv), because that is
    how the released weights are keyed: ``body.0`` conv, ``body.1`` act, ...,
    ``body.{2 + 2 * num_conv}`` last conv.
    """

    def __init__(
        self,
        num_in_ch: int = 3,
        num_out_ch: int = 3,
        num_feat: int = 64,
        num_conv: int = 16,
        upscale: int = 4,
        act_type: str = "prelu",
    ) -> None:
        super().__init__()
        self.num_in_ch = num_in_ch
        self.num_out_ch = num_out_ch
        self.num_feat = num_feat
        self.num_conv = num_conv
        self.upscale = upscale
        self.act_type = act_type

        self.body = nn.ModuleList([nn.Conv2d(num_in_ch, num_feat, 3, 1, 1), self._act()])
        for _ in range(num_conv):
            self.body.append(nn.Conv2d(num_feat, num_feat, 3, 1, 1))
            self.body.append(self._act())  # a fresh activation each time: own PReLU weights
        self.body.append(nn.Conv2d(num_feat, num_out_ch * upscale * upscale, 3, 1, 1))
        self.upsampler = nn.PixelShuffle(upscale)

    def _act(self) -> nn.Module:
        if self.act_type == "relu":
            return nn.ReLU(inplace=True)
        if self.act_type == "prelu":
            return nn.PReLU(num_parameters=self.num_feat)
        if self.act_type == "leakyrelu":
            return nn.LeakyReLU(negative_slope=0.1, inplace=True)
        raise ValueError(f"unknown act_type {self.act_type!r}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, C_in, H, W)
        out = x
        for layer in self.body:
            out = layer(out)  # last: (B, C_out * upscale^2, H, W)
        out = self.upsampler(out)  # (B, C_out, H*upscale, W*upscale)
        base = F.interpolate(x, scale_factor=self.upscale, mode="nearest")
        return out + base


# name -> (constructor, kwargs), as in inference_realesrgan.py (xinntao/Real-ESRGAN).
MODELS: dict[str, tuple[Callable[..., nn.Module], dict[str, Any]]] = {
    # inference_realesrgan.py: RRDBNet(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23,
    # num_grow_ch=32, scale=4), netscale 4
    "RealESRGAN_x4plus": (
        RRDBNet,
        dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=4),
    ),
    # inference_realesrgan.py: as x4plus but num_block=6, netscale 4
    "RealESRGAN_x4plus_anime_6B": (
        RRDBNet,
        dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=6, num_grow_ch=32, scale=4),
    ),
    # inference_realesrgan.py: SRVGGNetCompact(num_in_ch=3, num_out_ch=3, num_feat=64,
    # num_conv=32, upscale=4, act_type='prelu'), netscale 4
    "realesr-general-x4v3": (
        SRVGGNetCompact,
        dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=32, upscale=4, act_type="prelu"),
    ),
    # Same network as general-x4v3; inference_realesrgan.py interpolates the two weight sets
    # (deep network interpolation) for its --denoise_strength option.
    "realesr-general-wdn-x4v3": (
        SRVGGNetCompact,
        dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_conv=32, upscale=4, act_type="prelu"),
    ),
    # inference_realesrgan.py: RRDBNet(..., num_block=23, num_grow_ch=32, scale=2), netscale 2
    "RealESRGAN_x2plus": (
        RRDBNet,
        dict(num_in_ch=3, num_out_ch=3, num_feat=64, num_block=23, num_grow_ch=32, scale=2),
    ),
}


def build(name: str) -> nn.Module:
    """The network for a released model name, with freshly initialised weights."""
    constructor, kwargs = MODELS[name]
    return constructor(**kwargs)


def scale_of(model: nn.Module) -> int:
    """How much the model enlarges each side of its input."""
    if isinstance(model, RRDBNet):
        return model.scale
    if isinstance(model, SRVGGNetCompact):
        return model.upscale
    raise TypeError(f"not a super-resolution model: {type(model).__name__}")
