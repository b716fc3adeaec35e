"""The literal networks of models.py: each layer written out as PyTorch modules, with the shape
ganspec traced after it.

Decisions live here so models.py.j2 stays a thin template: which module a layer becomes, its
constructor with only the arguments that differ from PyTorch's defaults, where the label
embedding splits the stack, which init functions and helper classes the file needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from math import prod
from typing import Any

from ganspec.image.context import ImageContext
from ganspec.shapes import Shape, Trace
from ganspec.spec.image import Init
from ganspec.spec.layers import LayerOptions, op_of

ACTIVATIONS = {
    "relu": "nn.ReLU()",
    "tanh": "nn.Tanh()",
    "sigmoid": "nn.Sigmoid()",
    "gelu": "nn.GELU()",
    "silu": "nn.SiLU()",
    "elu": "nn.ELU()",
}
# init scheme -> the docstring of the function that applies it
INIT_SCHEMES = {
    "normal": "DCGAN's init (Radford et al. 2016): weights ~ N(0, std), BatchNorm scales\n"
    "    ~ N(1, std), biases 0.",
    "xavier_uniform": "Xavier/Glorot uniform weights (Glorot and Bengio 2010), biases 0.",
    "xavier_normal": "Xavier/Glorot normal weights (Glorot and Bengio 2010), biases 0.",
    "kaiming_normal": "Kaiming/He normal weights (He et al. 2015), biases 0.",
    "orthogonal": "Orthogonal weights (Saxe et al. 2014), biases 0.",
}
WEIGHTED_MODULES = {
    "linear": "nn.Linear",
    "conv": "nn.Conv2d",
    "conv_transpose": "nn.ConvTranspose2d",
}


def shape_text(shape: Shape) -> str:
    """``512 x 4 x 4`` for a map, ``256`` for features: the per-sample shape in a comment."""
    return " x ".join(str(n) for n in shape)


def number(value: float) -> str:
    """2 rather than 2.0 where the value is whole: how a person writes a scale factor."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _keywords(pairs: list[tuple[str, Any, Any]]) -> list[str]:
    """``name=value`` for each argument that differs from its PyTorch default."""
    return [f"{name}={value!r}" for name, value, default in pairs if value != default]


def _call(name: str, args: list[str]) -> str:
    return f"{name}({', '.join(args)})"


@dataclass
class Entry:
    """One line of an nn.Sequential, or a shape comment after a layer's modules."""

    code: str = ""
    comment: str = ""


@dataclass
class Block:
    """A run of layers in one nn.Sequential, or one label embedding between runs."""

    attribute: str
    kind: str  # "sequential" or "embedding"
    entries: list[Entry] = field(default_factory=list)
    constructor: str = ""  # the embedding's
    shape: str = ""  # the embedding's output shape


@dataclass
class Needs:
    """Helper code the file must define because some layer uses it."""

    reshape: bool = False
    embedding: bool = False
    spectral_norm: bool = False


def op_module(layer: LayerOptions, in_shape: Shape, out_shape: Shape, needs: Needs) -> list[str]:
    """The module(s) for the layer's op, given the per-sample shape flowing in."""
    op = op_of(layer)
    channels = in_shape[0]
    if op == "linear":
        return [_call("nn.Linear", [str(channels), str(layer.linear), *_bias(layer)])]
    if op in ("conv", "conv_transpose"):
        args = [str(channels), str(getattr(layer, op)), str(layer.kernel)]
        args += [str(layer.stride), str(layer.padding)]
        extra = [("output_padding", getattr(layer, "output_padding", 0), 0)]
        extra += [("groups", layer.groups, 1), ("bias", layer.bias, True)]
        extra += [("dilation", layer.dilation, 1)]
        return [_call(WEIGHTED_MODULES[op], args + _keywords(extra))]
    if op == "reshape":
        if len(out_shape) == 1:
            return ["nn.Flatten()"]
        if len(in_shape) == 1:
            return [f"nn.Unflatten(1, {tuple(out_shape)!r})"]
        needs.reshape = True
        return [f"Reshape({tuple(out_shape)!r})"]
    if op == "flatten":
        return ["nn.Flatten()"]
    if op == "upsample":
        args = [f"scale_factor={number(layer.upsample)}"]
        if layer.mode == "bilinear":
            args += ['mode="bilinear"', "align_corners=False"]
        return [_call("nn.Upsample", args)]
    if op == "pixel_shuffle":
        return [f"nn.PixelShuffle({layer.pixel_shuffle})"]
    if op == "avg_pool":
        extra = [("stride", layer.stride, None), ("padding", layer.padding, 0)]
        extra += [("ceil_mode", layer.ceil_mode, False)]
        return [_call("nn.AvgPool2d", [str(layer.avg_pool), *_keywords(extra)])]
    if op == "max_pool":
        extra = [("stride", layer.stride, None), ("padding", layer.padding, 0)]
        extra += [("dilation", layer.dilation, 1), ("ceil_mode", layer.ceil_mode, False)]
        return [_call("nn.MaxPool2d", [str(layer.max_pool), *_keywords(extra)])]
    if op == "global_avg_pool":
        return ["nn.AdaptiveAvgPool2d(1)", "nn.Flatten()"]
    raise ValueError(f"no module for layer op {op!r}")


def _bias(layer: LayerOptions) -> list[str]:
    return [] if layer.bias else ["bias=False"]  # type: ignore[attr-defined]


def norm_module(layer: LayerOptions, shape: Shape) -> str | None:
    """Normalisation over what the op produced: channels of a map, or features."""
    image, size = len(shape) == 3, shape[0]
    off = not layer.affine
    if layer.norm == "batch":
        name = "nn.BatchNorm2d" if image else "nn.BatchNorm1d"
        return _call(name, [str(size), *(["affine=False"] if off else [])])
    if layer.norm == "instance":  # PyTorch's own default is affine=False: say which it is
        return _call("nn.InstanceNorm2d", [str(size), f"affine={layer.affine}"])
    if layer.norm == "layer":
        if image:  # one group: every value of a sample normalised together
            return _call("nn.GroupNorm", ["1", str(size), *(["affine=False"] if off else [])])
        return _call("nn.LayerNorm", [str(size), *(["elementwise_affine=False"] if off else [])])
    return None


def activation_module(layer: LayerOptions) -> str | None:
    if layer.act == "leaky_relu":
        return f"nn.LeakyReLU({number(layer.leaky_slope)})"
    return ACTIVATIONS.get(layer.act)


def layer_modules(
    layer: LayerOptions, in_shape: Shape, out_shape: Shape, spectral: bool, needs: Needs
) -> list[str]:
    """The layer as modules in the order they run: op, norm and activation (in the stated
    order), dropout."""
    ops = op_module(layer, in_shape, out_shape, needs)
    if spectral and op_of(layer) in WEIGHTED_MODULES:
        needs.spectral_norm = True
        ops = [f"spectral_norm({ops[0]})"]
    norm, act = norm_module(layer, out_shape), activation_module(layer)
    after = [norm, act] if layer.order == "norm_act" else [act, norm]
    dropout = f"nn.Dropout({number(layer.dropout)})" if layer.dropout > 0 else None
    return [*ops, *(m for m in [*after, dropout] if m is not None)]


def _attribute_names(kinds: list[str]) -> list[str]:
    """``net`` (and ``embed``) where there is one of each; numbered where a stack has more."""
    if kinds.count("sequential") <= 1 and kinds.count("embedding") <= 1:
        return ["net" if kind == "sequential" else "embed" for kind in kinds]
    counts: dict[str, int] = {}
    names = []
    for kind in kinds:
        counts[kind] = counts.get(kind, 0) + 1
        names.append(f"{'net' if kind == 'sequential' else 'embed'}{counts[kind]}")
    return names


def network_blocks(
    layers: list[LayerOptions], in_shape: Shape, shapes: list[Shape], spectral: bool, needs: Needs
) -> list[Block]:
    """The stack split at each label embedding (it needs the labels, a Sequential cannot pass
    them), each Sequential entry followed by the shape after its layer."""
    blocks: list[Block] = []
    shape = in_shape
    for layer, out in zip(layers, shapes, strict=True):
        if op_of(layer) == "embedding":
            needs.embedding = True
            use_sn = spectral if layer.spectral_norm is None else layer.spectral_norm
            embedding = f"nn.Embedding({layer.embedding}, {layer.dim})"  # type: ignore[attr-defined]
            if use_sn:
                needs.spectral_norm = True
                embedding = f"spectral_norm({embedding})"
            blocks.append(Block("", "embedding", constructor=f"LabelEmbedding({embedding})"))
            blocks[-1].shape = shape_text(out)
        else:
            if not blocks or blocks[-1].kind != "sequential":
                blocks.append(Block("", "sequential"))
            use_sn = spectral if layer.spectral_norm is None else layer.spectral_norm
            modules = layer_modules(layer, shape, out, use_sn, needs)
            blocks[-1].entries += [Entry(code=f"{m},") for m in modules]
            blocks[-1].entries.append(Entry(comment=shape_text(out)))
        shape = out
    for block, name in zip(blocks, _attribute_names([b.kind for b in blocks]), strict=True):
        block.attribute = name
    return blocks


def forward_lines(blocks: list[Block], source: str) -> tuple[list[str], str]:
    """The body of forward(): each block but the last in turn (the labels going to the
    embeddings), and the expression of the last one."""
    lines, current = [], source
    for block in blocks:
        labels = ", labels" if block.kind == "embedding" else ""
        call = f"self.{block.attribute}({current}{labels})"
        lines.append(f"x = {call}")
        current = "x"
    return lines[:-1], lines[-1].removeprefix("x = ")


def _init(init: Init | None) -> dict[str, Any] | None:
    if init is None:
        return None
    return {"scheme": init.scheme, "std": init.std, "call": init_call(init)}


def init_call(init: Init) -> str:
    if init.scheme == "normal":
        return f"init_normal(self, std={init.std!r})"
    return f"init_{init.scheme}(self)"


def _weighted_types(layers: list[LayerOptions]) -> list[str]:
    found = {WEIGHTED_MODULES[op] for layer in layers if (op := op_of(layer)) in WEIGHTED_MODULES}
    return [name for name in WEIGHTED_MODULES.values() if name in found]


def _batch_norm_types(layers: list[LayerOptions], shapes: list[Shape]) -> list[str]:
    found = {
        "nn.BatchNorm2d" if len(shape) == 3 else "nn.BatchNorm1d"
        for layer, shape in zip(layers, shapes, strict=True)
        if layer.norm == "batch" and layer.affine
    }
    return sorted(found, reverse=True)


def init_functions(context: ImageContext) -> list[dict[str, Any]]:
    """One init function per scheme the networks use, touching only the module types there."""
    spec = context.spec
    traces = {"generator": context.generator_trace, "discriminator": context.discriminator_trace}
    functions: dict[str, dict[str, Any]] = {}
    for network in ("generator", "discriminator"):
        net = getattr(spec, network)
        if net.init is None:
            continue
        shapes = [row.out_shape for row in traces[network].rows]
        found = functions.setdefault(
            net.init.scheme,
            {"scheme": net.init.scheme, "doc": INIT_SCHEMES[net.init.scheme], "weighted": []},
        )
        found.setdefault("batch_norm", [])
        found["weighted"] = _merge(found["weighted"], _weighted_types(net.layers))
        if net.init.scheme == "normal":
            found["batch_norm"] = _merge(found["batch_norm"], _batch_norm_types(net.layers, shapes))
            # a bare BatchNorm (affine: false) beside learnt ones has no scale to initialise
            found["bare_batch_norm"] = found.get("bare_batch_norm", False) or any(
                layer.norm == "batch" and not layer.affine for layer in net.layers
            )
        found["spectral"] = found.get("spectral", False) or _uses_spectral_norm(net)
    for found in functions.values():  # what isinstance receives: one type, or a tuple of them
        found["weighted"] = _isinstance_types(found["weighted"])
        found["batch_norm"] = _isinstance_types(found["batch_norm"]) if found["batch_norm"] else ""
    return list(functions.values())


def _isinstance_types(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"({', '.join(names)})"


def _merge(a: list[str], b: list[str]) -> list[str]:
    return a + [x for x in b if x not in a]


def _uses_spectral_norm(network: Any) -> bool:
    return any(
        (network.spectral_norm if layer.spectral_norm is None else layer.spectral_norm)
        and op_of(layer) in WEIGHTED_MODULES
        for layer in network.layers
    )


def models_context(context: ImageContext) -> dict[str, Any]:
    """What models.py.j2 renders: both networks as blocks, and the helpers they need."""
    spec = context.spec
    needs = Needs()
    g_blocks = _network_blocks(spec.generator, context.latent_shape, context.generator_trace, needs)
    d_trace = context.discriminator_trace
    d_blocks = _network_blocks(spec.discriminator, context.discriminator_input, d_trace, needs)
    d_out = d_trace.output or ()
    pack = spec.discriminator.pack
    data = context.data_shape
    return {
        "models": {
            "generator": {
                "blocks": g_blocks,
                "forward": forward_lines(g_blocks, "z"),
                "labels": _labels_argument(g_blocks),
                "init": _init(spec.generator.init),
                "input_shape": shape_text(context.latent_shape),
            },
            "discriminator": {
                "blocks": d_blocks,
                "forward": forward_lines(d_blocks, "x"),
                "labels": _labels_argument(d_blocks),
                "init": _init(spec.discriminator.init),
                "input_shape": shape_text(context.discriminator_input),
                "one_score": prod(d_out) == 1,
                "scores_shape": shape_text(d_out),
                "scores_expected": repr((2,) if prod(d_out) == 1 else (2, prod(d_out))),
                "packed_shape": ", ".join(str(n) for n in (pack * data[0], *data[1:])),
            },
            "init_functions": init_functions(context),
            "needs": needs,
            "pack": pack,
            "latent_dim": spec.generator.latent_dim,
            "latent": spec.generator.latent,
            "classes": spec.data.classes,
            "data_shape": shape_text(data),
        }
    }


def _network_blocks(network: Any, input_shape: Shape, trace: Trace, needs: Needs) -> list[Block]:
    shapes = [row.out_shape for row in trace.rows]
    return network_blocks(network.layers, input_shape, shapes, network.spectral_norm, needs)


def _labels_argument(blocks: list[Block]) -> str:
    """A network that embeds labels needs them; the others take none but accept the
    training loop's None."""
    if any(block.kind == "embedding" for block in blocks):
        return "labels: Tensor"
    return "labels: Tensor | None = None"
