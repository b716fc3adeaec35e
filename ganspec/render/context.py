"""The plain context templates receive: the validated spec as data plus the facts ganspec
derived from it (shape tables, contracts, acceptance tests). Templates never re-derive them."""

from __future__ import annotations

from typing import Any

from ganspec import __version__
from ganspec.image.context import ImageContext, output_layer
from ganspec.render.config import config_yaml
from ganspec.render.image_data import data_context
from ganspec.render.image_health import health_context
from ganspec.render.image_losses import losses_context
from ganspec.render.image_models import models_context
from ganspec.render.image_prompt import prompt_context
from ganspec.render.image_training import training_context
from ganspec.render.image_validation import validation_context, validation_omit
from ganspec.shapes import Trace, format_shape

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


def build_context(context: ImageContext) -> dict[str, Any]:
    spec = context.spec
    config = config_yaml(spec)
    _, g_out = output_layer(spec.generator.layers)
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
        **models_context(context),
        **data_context(spec),
        **losses_context(spec),
        **health_context(spec),
        **validation_context(spec),
        "omit": [*validation_omit(spec)],
        **training_context(spec),
        **prompt_context(context),
    }
