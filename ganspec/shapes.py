"""Trace the per-sample shape through a layer list, and solve for parameters that land.

A shape is ``(features,)`` for vector data or ``(channels, height, width)`` for images. The
trace stops at the first layer PyTorch would reject; a layer that silently drops real input
rows (a "fractional" size) is recorded but does not stop it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from ganspec import shape_math as sm
from ganspec.spec.layers import LayerOptions, op_of

Shape = tuple[int, ...]
# Past this a single axis cannot be indexed by PyTorch's 32-bit kernels; nothing real gets near.
MAX_SIZE = 2**31 - 1
# Kinds of problem a trace finds; the shape rules decide which code reports each.
EMPTY, DIVISIBILITY, REJECTED = sm.EMPTY, sm.DIVISIBILITY, sm.REJECTED
FRACTIONAL = "fractional"  # a layer never reads some input rows (PyTorch drops them)
WRONG_RANK = "wrong_rank"  # an image op on features, a vector op on a map
BAD_RESHAPE = "bad_reshape"  # a reshape whose target does not hold the values
# The fix search looks at the layers nearest the output: the fix a user wants is a local one.
SEARCH_LAYERS = 8


def format_shape(shape: Shape) -> str:
    return "x".join(str(n) for n in shape)


@dataclass(frozen=True)
class ShapeProblem:
    """Why layer ``index`` cannot work; ``kind`` says what went wrong (EMPTY, FRACTIONAL, ...),
    ``field`` is the layer option to point at."""

    index: int
    kind: str
    message: str
    field: str | None = None
    fatal: bool = True


@dataclass(frozen=True)
class LayerRow:
    index: int
    op: str
    params: str
    in_shape: Shape
    out_shape: Shape


@dataclass
class Trace:
    input_shape: Shape
    rows: list[LayerRow] = field(default_factory=list)
    problems: list[ShapeProblem] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not any(p.fatal for p in self.problems)

    @property
    def clean(self) -> bool:
        return not self.problems

    @property
    def output(self) -> Shape | None:
        if not self.complete:
            return None
        return self.rows[-1].out_shape if self.rows else self.input_shape


class _Reject(Exception):
    def __init__(self, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field


def _need_image(shape: Shape, op: str) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise _Reject(
            WRONG_RANK,
            f"{op} needs a C x H x W input but receives {len(shape)}-d features "
            f"({format_shape(shape)}); add a reshape layer before it",
            op,
        )
    return shape


def _need_vector(shape: Shape, op: str) -> int:
    if len(shape) != 1:
        raise _Reject(
            WRONG_RANK,
            f"{op} needs a feature vector but receives {format_shape(shape)}; add "
            "{flatten: true} (or global_avg_pool) before it",
            op,
        )
    return shape[0]


def _spatial(fn: Callable[[int], int], shape: tuple[int, int, int], channels: int) -> Shape:
    _, height, width = shape
    return (channels, fn(height), fn(width))


def _fractional(layer: LayerOptions, shape: tuple[int, int, int], op: str) -> ShapeProblem | None:
    kernel = layer.kernel if op == "conv" else getattr(layer, op)
    stride = layer.stride or kernel
    dilation = getattr(layer, "dilation", 1)
    for axis, length in (("height", shape[1]), ("width", shape[2])):
        lost = sm.uncovered_input(length, kernel, stride, layer.padding, dilation)
        if lost:
            return ShapeProblem(
                -1,
                FRACTIONAL,
                f"{op} kernel={kernel} stride={stride} padding={layer.padding} on {axis} "
                f"{length} never reads the last {lost} input row(s): the size is fractional "
                "and PyTorch silently drops them",
                "padding",
                fatal=False,
            )
    return None


def apply_layer(layer: LayerOptions, shape: Shape) -> tuple[Shape, ShapeProblem | None]:
    """Output shape of one layer (op then norm), plus a non-fatal note; raises _Reject."""
    op = op_of(layer)
    note: ShapeProblem | None = None
    try:
        if op == "linear":
            _need_vector(shape, op)
            out: Shape = (layer.linear,)
        elif op == "reshape":
            target = tuple(layer.reshape)
            if _product(target) != _product(shape):
                raise _Reject(
                    BAD_RESHAPE,
                    f"reshape to {format_shape(target)} ({_product(target)} values) receives "
                    f"{format_shape(shape)} ({_product(shape)} values)",
                    "reshape",
                )
            if len(target) == 2:
                raise _Reject(BAD_RESHAPE, "reshape takes [features] or [C, H, W]", "reshape")
            out = target
        elif op in ("flatten", "global_avg_pool"):
            image = _need_image(shape, op)
            out = (_product(image),) if op == "flatten" else (image[0],)
        elif op == "conv":
            image = _need_image(shape, op)
            sm.check_groups(image[0], layer.conv, layer.groups)
            out = _spatial(
                lambda n: sm.conv_out(n, layer.kernel, layer.stride, layer.padding, layer.dilation),
                image,
                layer.conv,
            )
            note = _fractional(layer, image, op)
        elif op == "conv_transpose":
            image = _need_image(shape, op)
            sm.check_groups(image[0], layer.conv_transpose, layer.groups)
            out = _spatial(
                lambda n: sm.conv_transpose_out(
                    n,
                    layer.kernel,
                    layer.stride,
                    layer.padding,
                    layer.output_padding,
                    layer.dilation,
                ),
                image,
                layer.conv_transpose,
            )
        elif op == "upsample":
            image = _need_image(shape, op)
            out = _spatial(lambda n: sm.upsample_out(n, layer.upsample), image, image[0])
        elif op == "pixel_shuffle":
            image = _need_image(shape, op)
            out = sm.pixel_shuffle_out(*image, layer.pixel_shuffle)
        elif op in ("avg_pool", "max_pool"):
            image = _need_image(shape, op)
            kernel = getattr(layer, op)
            dilation = getattr(layer, "dilation", 1)
            out = _spatial(
                lambda n: sm.pool_out(
                    n, kernel, layer.stride, layer.padding, dilation, layer.ceil_mode
                ),
                image,
                image[0],
            )
            if not layer.ceil_mode:
                note = _fractional(layer, image, op)
        elif op == "embedding":
            dim = layer.dim
            out = (shape[0] + dim,) if len(shape) == 1 else (shape[0] + dim, *shape[1:])
        else:  # pragma: no cover - the schema admits no other op
            raise _Reject(WRONG_RANK, f"unknown op {op}")
    except sm.ShapeError as exc:
        raise _Reject(exc.kind, f"{op}: {exc}", exc.field) from None
    if max(out) > MAX_SIZE:
        raise _Reject(
            EMPTY, f"{op} grows the output to {format_shape(out)}, beyond any tensor size", op
        )
    if layer.norm == "instance" and len(out) != 3:
        raise _Reject(WRONG_RANK, "instance norm needs a C x H x W output; use layer norm", "norm")
    return out, note


def _product(shape: Sequence[int]) -> int:
    total = 1
    for n in shape:
        total *= n
    return total


def trace(layers: Sequence[LayerOptions], input_shape: Shape) -> Trace:
    """Shape after every layer; stops at the first layer PyTorch would reject."""
    result = Trace(input_shape=input_shape)
    shape = input_shape
    for index, layer in enumerate(layers):
        try:
            out, note = apply_layer(layer, shape)
        except _Reject as exc:
            result.problems.append(ShapeProblem(index, exc.kind, exc.message, exc.field))
            return result
        if note is not None:
            result.problems.append(
                ShapeProblem(index, note.kind, note.message, note.field, fatal=False)
            )
        result.rows.append(LayerRow(index, op_of(layer) or "?", describe(layer), shape, out))
        shape = out
    return result


def describe(layer: LayerOptions) -> str:
    """The layer's non-default parameters, e.g. ``64, kernel=4, stride=2, norm=batch``."""
    op = op_of(layer) or ""
    main = getattr(layer, op, None)
    parts = [] if main is True else [str(list(main) if isinstance(main, list) else main)]
    own = [name for name in type(layer).model_fields if name not in LayerOptions.model_fields]
    for name in [*own, *LayerOptions.model_fields]:
        info = type(layer).model_fields[name]
        if name == op:
            continue
        value = getattr(layer, name)
        if name == "leaky_slope" and layer.act != "leaky_relu":
            continue
        if value != info.default:
            parts.append(f"{name}={value}")
    return ", ".join(parts)


# --- solving for a fix ---------------------------------------------------------------------

_TUNABLE: dict[str, tuple[str, ...]] = {
    "conv_transpose": ("output_padding", "padding", "kernel", "stride"),
    "conv": ("padding", "kernel", "stride"),
    "avg_pool": ("padding", "avg_pool", "stride"),
    "max_pool": ("padding", "max_pool", "stride"),
    "upsample": ("upsample",),
}
_CHANNEL_KEYS = {"conv": "conv", "conv_transpose": "conv_transpose", "linear": "linear"}


def scale_factor(shape_in: Shape, shape_out: Shape) -> tuple[Fraction, ...] | None:
    """A layer's up- or downsampling factor per spatial axis, or None for feature vectors.

    out/in rounded to a whole factor (x2, /2, x1): 32 -> 63 and 32 -> 64 are both x2, the same
    layer with a better kernel; 8 -> 16 and 8 -> 8 are different layers. A fix must not turn
    one into the other without saying so.
    """
    if len(shape_in) != 3 or len(shape_out) != 3:
        return None
    return tuple(
        _factor(n_in, n_out) for n_in, n_out in zip(shape_in[1:], shape_out[1:], strict=True)
    )


def _factor(n_in: int, n_out: int) -> Fraction:
    if n_out >= n_in:
        return Fraction(math.floor(n_out / n_in + 0.5))
    return Fraction(1, math.floor(n_in / n_out + 0.5))


def _spatial_text(shape_in: Shape, shape_out: Shape) -> str:
    return f"{format_shape(shape_in[1:])} -> {format_shape(shape_out[1:])}"


@dataclass(frozen=True)
class Rescale:
    """A layer whose scale factor a fix changes: its spatial sizes before and after."""

    index: int
    before: str
    after: str


@dataclass(frozen=True)
class Fix:
    """One edit at layer ``index``: parameter changes, or removing the layer.

    ``rescales`` lists the layers whose up/downsampling factor the edit changes; the text says
    so, because a fix that silently turns an upsampling layer into a 1:1 one "lands" on the
    right size with a different network.
    """

    index: int
    changes: tuple[tuple[str, object], ...]
    removed: str | None = None  # the removed layer's spatial sizes, e.g. "32x32 -> 64x64"
    rescales: tuple[Rescale, ...] = ()

    def text(self) -> str:
        if self.removed is not None:
            main = f"remove layers[{self.index}]" + (f" ({self.removed})" if self.removed else "")
        else:
            main = ", ".join(f"{name}={value}" for name, value in self.changes)
        if self.rescales:
            notes = "; ".join(
                f"layers[{r.index}] then maps {r.after} instead of {r.before}"
                for r in self.rescales
            )
            main += f" (changes the scale: {notes})"
        return main


def _candidates(name: str) -> Iterator[object]:
    if name in ("padding", "output_padding"):
        yield from range(0, 8)
    elif name == "stride":
        yield from range(1, 5)
    elif name == "upsample":
        yield from (1.0, 2.0, 3.0, 4.0)
    else:  # kernel sizes
        yield from range(1, 10)


def solve(
    layers: Sequence[LayerOptions],
    input_shape: Shape,
    accept: Callable[[Shape], bool],
    channel_values: Sequence[int] = (),
    limit: int = 3,
    removals: bool = False,
) -> list[Fix]:
    """Single edits that make the whole trace clean and ``accept`` its output.

    Searches the last SEARCH_LAYERS layers from the output backwards for single-parameter
    changes, smallest change first: the nearest edit to the place the shape went wrong. Edits
    that keep every layer's scale factor come first; then (with ``removals``) removing one
    layer; only when neither exists, the nearest parameter changes that rescale a layer, each
    saying which. Only the layers from the changed one onwards are re-traced.
    """
    base = trace(layers, input_shape)
    window = range(len(layers) - 1, max(-1, len(layers) - 1 - SEARCH_LAYERS), -1)
    rescaling: list[Fix] = []
    for index in window:
        if index > len(base.rows) or any(p.index < index for p in base.problems):
            continue  # the trace never reaches this layer cleanly: no change here can land
        shape_in = base.rows[index - 1].out_shape if index else input_shape
        layer = layers[index]
        options: list[tuple[float, Fix]] = []
        for distance, name, value in _changes(layer, channel_values):
            changed = [layer.model_copy(update={name: value}), *layers[index + 1 :]]
            landed = _lands(changed, shape_in, accept)
            if landed is not None:
                rescales = _rescales(base, landed, index)
                options.append((distance, Fix(index, ((name, value),), rescales=rescales)))
        options.sort(key=lambda item: item[0])
        keeping = [fix for _, fix in options if not fix.rescales]
        if keeping:
            return keeping[:limit]
        if not rescaling:
            rescaling = [fix for _, fix in options][:limit]
    if removals:
        removed = _removals(layers, base, input_shape, accept, window)
        if removed:
            return removed[:limit]
    return rescaling


def _changes(layer: LayerOptions, channel_values: Sequence[int]) -> list[tuple[float, str, object]]:
    """Candidate single-parameter changes as (distance from the current value, name, value)."""
    op = op_of(layer) or ""
    changes: list[tuple[float, str, object]] = []
    for name in _TUNABLE.get(op, ()):
        current = getattr(layer, name)
        for value in _candidates(name):
            if value != current and not (name == "stride" and current is None and value == 1):
                changes.append((abs(float(value) - float(current or 0)), name, value))
    if op in _CHANNEL_KEYS:
        key = _CHANNEL_KEYS[op]
        changes += [(0.0, key, v) for v in channel_values if v != getattr(layer, key)]
    return changes


def _removals(
    layers: Sequence[LayerOptions],
    base: Trace,
    input_shape: Shape,
    accept: Callable[[Shape], bool],
    window: range,
) -> list[Fix]:
    """Removing one layer (nearest the output first) that lands and rescales no other layer:
    the fix for a stack with one upsampling (or downsampling) layer too many."""
    found = []
    for index in window:
        if index >= len(base.rows) or any(p.index < index for p in base.problems):
            continue
        row = base.rows[index]
        shape_in = row.in_shape
        landed = _lands(layers[index + 1 :], shape_in, accept)
        if landed is None or _rescales(base, landed, index + 1):
            continue
        images = len(row.in_shape) == len(row.out_shape) == 3
        found.append(
            Fix(index, (), removed=_spatial_text(row.in_shape, row.out_shape) if images else "")
        )
    return found


def _rescales(base: Trace, landed: Trace, start: int) -> tuple[Rescale, ...]:
    """Layers from ``start`` on (numbered as in ``base``) whose scale factor differs between
    ``base`` and ``landed``, which traces the (edited) layers from ``start`` on."""
    found = []
    for offset, row in enumerate(landed.rows):
        index = start + offset
        if index >= len(base.rows):
            break  # the original trace never got here: no scale to keep
        old = base.rows[index]
        if scale_factor(old.in_shape, old.out_shape) != scale_factor(row.in_shape, row.out_shape):
            found.append(
                Rescale(
                    index,
                    _spatial_text(old.in_shape, old.out_shape),
                    _spatial_text(row.in_shape, row.out_shape),
                )
            )
    return tuple(found)


def _lands(
    layers: Sequence[LayerOptions], shape_in: Shape, accept: Callable[[Shape], bool]
) -> Trace | None:
    """The trace of ``layers`` when it is clean and accepted, else None."""
    result = trace(layers, shape_in)
    if result.clean and result.output is not None and accept(result.output):
        return result
    return None
