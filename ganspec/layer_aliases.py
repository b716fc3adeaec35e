"""What a layer op from PyTorch or a paper is called in a spec.

People write layers the way their framework names them (``adaptive_avg_pool``, ``BatchNorm2d``,
``dropout``). Some are a ganspec op under another name, some are a setting on the layer before
(norm, act, dropout follow every op), and some have no op at all. Saying which is more useful
than "the layer has no op key".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ganspec.spec.layers import LayerOptions

_ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid", "gelu", "silu", "elu")
_NORMS = {"batchnorm": "batch", "bn": "batch", "instancenorm": "instance", "layernorm": "layer"}
_NO_OP = {
    "selfattention": "self-attention",
    "attention": "attention",
    "multiheadattention": "attention",
}
# Settings every layer has (norm, act, dropout...): written alone, they are no layer.
SETTINGS = tuple(LayerOptions.model_fields)


@dataclass(frozen=True)
class OpAdvice:
    """What to say about an unknown op key: the message's tail, the op meant (if any), a fix."""

    explanation: str
    meant: str | None
    fix: str


def _normal(key: str) -> str:
    """``BatchNorm2d`` / ``batch_norm`` / ``batch-norm`` -> ``batchnorm``."""
    return re.sub(r"[123]d$", "", key.lower().replace("_", "").replace("-", ""))


def _is_one(value: Any) -> bool:
    return value == 1 or value in ([1, 1], (1, 1))


def layer_advice(layer: dict[Any, Any], before: str | None) -> tuple[str, OpAdvice] | None:
    """The key of a layer without an op that ganspec knows another name for, and what to say.

    ``before`` names the previous layer (``generator.layers[3]``), where a setting belongs. A
    layer of settings only (``{dropout: 0.3}``) is a setting written as a layer; a layer that
    has options of an op (``{kernel: 4, act: relu}``) merely lacks its op key.
    """
    target = f"to {before}" if before else "to the layer it follows"
    for key, value in layer.items():
        advice = _alias(str(key), value, target)
        if advice is not None:
            return str(key), advice
    if layer and all(key in SETTINGS for key in layer):
        key, value = next(iter(layer.items()))
        shown = f"{key}: {str(value).lower() if isinstance(value, bool) else value}"
        return key, OpAdvice(
            f"{key} is a setting on a layer, not a layer of its own",
            None,
            f"remove this layer and add '{shown}' {target}",
        )
    return None


def _alias(key: str, value: Any, target: str) -> OpAdvice | None:
    word = _normal(key)
    if word == "adaptiveavgpool":
        if _is_one(value):
            return OpAdvice(
                "adaptive_avg_pool: 1 is global_avg_pool: true, which also flattens C x H x W "
                "to C features",
                "global_avg_pool",
                "replace it with {global_avg_pool: true}",
            )
        return OpAdvice(
            "ganspec pools adaptively only to 1x1 (global_avg_pool: true); for another size "
            "use avg_pool with kernel = input size / output size",
            "avg_pool",
            "use {avg_pool: K} with K = input size / output size",
        )
    if word in _NORMS:
        norm = _NORMS[word]
        return OpAdvice(
            f"normalisation is no layer of its own but a setting on a layer: norm: {norm}",
            None,
            f"remove this layer and add 'norm: {norm}' {target}",
        )
    for act in _ACTIVATIONS:
        if word == act.replace("_", ""):
            return OpAdvice(
                f"an activation is no layer of its own but a setting on a layer: act: {act}",
                None,
                f"remove this layer and add 'act: {act}' {target}",
            )
    if word in _NO_OP:
        return OpAdvice(
            f"ganspec has no {_NO_OP[word]} op; add the block to the rendered project's models.py",
            None,
            "remove this layer from the spec and add the block to the rendered models.py",
        )
    return None
