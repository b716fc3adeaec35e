"""PyTorch's own output-size formulas, in pure Python.

Each function takes one spatial length (or a channel count) and the layer's parameters and
returns the output length, or raises ``ShapeError`` with the reason PyTorch would refuse the
configuration. Keeping them free of torch lets ``ganspec validate`` stay fast; a test checks
them against real torch modules on thousands of random configurations.
"""

from __future__ import annotations

import math

EMPTY, DIVISIBILITY, REJECTED = "empty", "divisibility", "rejected"


class ShapeError(ValueError):
    """A layer configuration PyTorch would reject, or one that produces no output.

    ``kind`` says which (an empty output, channels that do not divide, parameters PyTorch
    refuses) and ``field`` names the parameter to change, so callers need not read the text.
    """

    def __init__(self, message: str, kind: str = EMPTY, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.field = field


def effective_kernel(kernel: int, dilation: int) -> int:
    """The span a dilated kernel covers: ``dilation * (kernel - 1) + 1``."""
    return dilation * (kernel - 1) + 1


def conv_out(length: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """``torch.nn.Conv2d`` output length along one axis."""
    span = effective_kernel(kernel, dilation)
    padded = length + 2 * padding
    if padded < span:
        raise ShapeError(
            f"kernel spans {span} but the padded input is only {padded} (input {length}, "
            f"padding {padding})",
            field="padding",
        )
    return (padded - span) // stride + 1


def uncovered_input(
    length: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1
) -> int:
    """How many trailing real (non-padding) input rows lie beyond the last window.

    PyTorch floors ``(L + 2p - span) / s``; the remainder falls off the end of the padded
    input. When it is larger than the trailing padding, real rows are silently dropped: the
    size is "fractional". Rows skipped between windows (stride > kernel) or between dilated
    taps are a deliberate sampling pattern and are not counted here.
    """
    span = effective_kernel(kernel, dilation)
    remainder = (length + 2 * padding - span) % stride
    return max(0, remainder - padding)


def conv_transpose_out(
    length: int,
    kernel: int,
    stride: int = 1,
    padding: int = 0,
    output_padding: int = 0,
    dilation: int = 1,
) -> int:
    """``torch.nn.ConvTranspose2d`` output length along one axis."""
    if output_padding >= stride and output_padding >= dilation:
        raise ShapeError(
            f"output_padding={output_padding} must be smaller than stride ({stride}) or "
            f"dilation ({dilation})",
            REJECTED,
            "output_padding",
        )
    out = (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1
    if out < 1:
        raise ShapeError(
            f"output length would be {out}: padding {padding} is too large", field="padding"
        )
    return out


def pool_out(
    length: int,
    kernel: int,
    stride: int | None = None,
    padding: int = 0,
    dilation: int = 1,
    ceil_mode: bool = False,
) -> int:
    """``torch.nn.MaxPool2d`` / ``AvgPool2d`` output length along one axis (avg: dilation 1)."""
    stride = kernel if stride is None else stride
    if 2 * padding > kernel:
        raise ShapeError(
            f"padding={padding} must be at most half of kernel={kernel}", REJECTED, "padding"
        )
    span = effective_kernel(kernel, dilation)
    numerator = length + 2 * padding - span
    if ceil_mode:
        out = -(-numerator // stride) + 1
        # PyTorch: the last window must start inside the input or its left padding.
        if (out - 1) * stride >= length + padding:
            out -= 1
    else:
        out = numerator // stride + 1
    if out < 1:
        raise ShapeError(f"window spans {span} but the padded input is only {length + 2 * padding}")
    return out


def upsample_out(length: int, scale: float) -> int:
    """``torch.nn.Upsample(scale_factor=s)`` output length: ``floor(length * s)``."""
    try:
        out = math.floor(length * scale)
    except OverflowError:
        raise ShapeError(f"scale {scale} grows {length} beyond any tensor size") from None
    if out < 1:
        raise ShapeError(f"scale {scale} shrinks {length} to {out}")
    return out


def pixel_shuffle_out(channels: int, height: int, width: int, factor: int) -> tuple[int, int, int]:
    """``torch.nn.PixelShuffle(r)``: C x H x W -> C/r^2 x rH x rW."""
    if channels % (factor * factor):
        raise ShapeError(
            f"{channels} channels are not divisible by factor^2 = {factor * factor}", DIVISIBILITY
        )
    return channels // (factor * factor), height * factor, width * factor


def check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    """Grouped convolutions need both channel counts divisible by ``groups``."""
    if in_channels % groups:
        raise ShapeError(
            f"in_channels={in_channels} is not divisible by groups={groups}", DIVISIBILITY, "groups"
        )
    if out_channels % groups:
        raise ShapeError(
            f"out_channels={out_channels} is not divisible by groups={groups}",
            DIVISIBILITY,
            "groups",
        )
