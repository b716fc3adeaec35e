"""The plain context templates receive: the validated spec as data plus the facts ganspec
derived from it (shape tables, contracts, acceptance tests). Templates never re-derive them."""

from __future__ import annotations

from typing import Any

from ganspec import __version__
from ganspec.render.config import config_yaml
from ganspec.render.image_validation import validation_context, validation_omit
from ganspec.rules.context import RuleContext, output_layer
from ganspec.shapes import Trace, format_shape

# loss -> (what D minimises, what G minimises), in the notation PROMPT.md uses.
LOSS_FORMULAS: dict[str, tuple[str, str]] = {
    "minimax": (
        "BCE(D(x), 1) + BCE(D(G(z)), 0)",
        "-BCE(D(G(z)), 0), i.e. minimise log(1 - D(G(z))) (the original, saturating minimax: "
        "its gradient vanishes while D rejects the fakes; code written with nn.BCELoss() "
        "trains G with `nonsaturating` instead)",
    ),
    "nonsaturating": (
        "BCE(D(x), 1) + BCE(D(G(z)), 0)",
        "BCE(D(G(z)), 1), i.e. minimise -log D(G(z)) (non-saturating, what code written with "
        "nn.BCELoss() and real labels for the fakes does; `minimax` is the saturating original, "
        "log(1 - D(G(z))))",
    ),
    "wgan": ("mean(D(G(z))) - mean(D(x)), then clip every D weight", "-mean(D(G(z)))"),
    "wgan-gp": (
        "mean(D(G(z))) - mean(D(x)) + lambda * mean((||grad D(x_hat)||_2 - 1)^2), x_hat on "
        "random interpolates of real and fake",
        "-mean(D(G(z)))",
    ),
    "hinge": ("mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))", "-mean(D(G(z)))"),
    "lsgan": ("0.5 * mean((D(x) - 1)^2) + 0.5 * mean(D(G(z))^2)", "0.5 * mean((D(G(z)) - 1)^2)"),
}
SCORES = {
    "logits": "raw logits (no sigmoid; the loss applies it)",
    "probability": "probabilities in (0, 1) (ends in sigmoid)",
    "critic": "unbounded critic scores (no sigmoid)",
}


def _rows(result: Trace) -> list[dict[str, str]]:
    return [
        {
            "index": str(row.index),
            "op": row.op,
            "params": row.params,
            "input": format_shape(row.in_shape),
            "output": format_shape(row.out_shape),
        }
        for row in result.rows
    ]


def build_context(context: RuleContext) -> dict[str, Any]:
    spec = context.spec
    config = config_yaml(spec)
    _, g_out = output_layer(spec.generator.layers)
    d_loss, g_loss = LOSS_FORMULAS[spec.training.loss]
    data_range = spec.data.range
    return {
        "ganspec_version": __version__,
        "name": spec.name,
        "description": spec.description,
        "spec": spec.model_dump(mode="json"),
        "config_yaml": config,
        "extra_files": {"config.yaml": config},  # every number; train.py reads it
        "data_shape": format_shape(context.data_shape),
        "disc_input_shape": format_shape(context.discriminator_input),
        "is_image": spec.data.shape.is_image,
        "conditional": spec.data.classes is not None,
        "range_text": f"[{data_range[0]:g}, {data_range[1]:g}]" if data_range else "as generated",
        "generator_rows": _rows(context.generator_trace),
        "discriminator_rows": _rows(context.discriminator_trace),
        "g_output_act": g_out.act,
        "d_scores": SCORES[spec.discriminator.output],
        "d_loss": d_loss,
        "g_loss": g_loss,
        **validation_context(spec),
        "omit": [*validation_omit(spec)],
    }
