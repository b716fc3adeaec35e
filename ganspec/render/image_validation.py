"""What the image project's evaluate.py, features.py, metrics.py, plots.py and sample.py hold
for one spec: PacGAN's mode metrics for the 2-D mixtures, or the image metrics in the spec's
own feature space (the digits classifier, or InceptionV3), and validation.fid scoring during
training only when the spec asks for it. Decided here, so the templates only place code."""

from __future__ import annotations

import textwrap
from typing import Any

from ganspec.spec.image import VECTOR_SOURCES, ImageSpec

EVALUATE, FEATURES, METRICS = "evaluate.py.j2", "features.py.j2", "metrics.py.j2"
EVALUATE_TESTS = "tests/test_evaluate.py.j2"
# Why a spec that asks for domain features of other data gets none (the report and training
# say it; the digits classifier is the only domain feature space there is).
NO_DOMAIN_FEATURES = (
    "domain features exist for digits data only; set validation.fid.features: inception for "
    "other images"
)
NOTHING_TO_SCORE = "evaluate.py scores images and the 2-D mixtures (ring8, grid25) only"


def scoring(spec: ImageSpec) -> str | None:
    """``modes`` (PacGAN's metrics, for the 2-D mixtures), ``images`` (feature-space metrics
    and memorization), or None: other vector data has nothing evaluate.py could score."""
    if spec.data.source.type in VECTOR_SOURCES:
        return "modes"
    return "images" if spec.data.shape.is_image else None


def feature_space(spec: ImageSpec) -> str | None:
    """Where image metrics are measured: validation.fid.features, else the digits classifier
    for digits and InceptionV3 for other images; None when the chosen one does not exist."""
    if scoring(spec) != "images":
        return None
    digits = spec.data.source.type == "digits"
    fid = spec.validation.fid
    wanted = fid.features if fid else ("domain" if digits else "inception")
    return None if wanted == "domain" and not digits else wanted


def validation_context(spec: ImageSpec) -> dict[str, Any]:
    """The evaluate.py / features.py / metrics.py / plots.py / sample.py choices for this spec
    (plots.py and sample.py take ``is_image`` and ``conditional`` from the base context)."""
    kind, features = scoring(spec), feature_space(spec)
    fid = spec.validation.fid
    scored = fid is not None and (kind == "modes" or features is not None)
    skipped = ""  # why training cannot score the validation.fid the spec asks for
    if fid is not None and not scored:
        skipped = NO_DOMAIN_FEATURES if kind == "images" else NOTHING_TO_SCORE
    missing = NO_DOMAIN_FEATURES if kind == "images" and not features else ""
    return {
        "eval_scoring": kind,
        "eval_source": spec.data.source.type,
        "eval_features": features,
        # Why there are none: wrapped for the docstring, and as string pieces for the code.
        "eval_features_missing_doc": textwrap.fill(f"No feature-space metrics: {missing}.", 95),
        "eval_features_missing": _pieces(missing),
        # validation.fid scored during training (train.py's Scorer), with --inception weights
        # where the features are InceptionV3's.
        "eval_scores_in_training": scored,
        "eval_train_inception": scored and features == "inception",
        "eval_fid_skipped": _pieces(f"warning: validation.fid is skipped: {skipped}")
        if skipped
        else [],
        "eval_layout_row": _layout_row(kind, features),
        "export_fold_spectral_norm": _generator_has_spectral_norm(spec),
        # plots.py: the channels a picture shows (None: all), the features a scatter has
        "plot_channels": _shown_channels(spec.data.shape.channels),
        "plot_features": spec.data.shape.features,
    }


def _shown_channels(channels: int | None) -> str | None:
    """A sample grid shows grey or RGB: the first channel, or the first three, of others."""
    if channels in (None, 1, 3):
        return None
    return ":3" if channels > 3 else ":1"


def _generator_has_spectral_norm(spec: ImageSpec) -> bool:
    """export.py folds spectral norm into plain weights only where G has it."""
    default = spec.generator.spectral_norm
    return any(
        default if layer.spectral_norm is None else layer.spectral_norm
        for layer in spec.generator.layers
    )


def _pieces(text: str, width: int = 64) -> list[str]:
    """A long message as string literals that fit a code line (concatenated in parentheses)."""
    lines = textwrap.wrap(text, width, drop_whitespace=False)
    return [repr(line) for line in lines]


def _layout_row(kind: str | None, features: str | None) -> str:
    """README's layout table row for the scoring files this spec has (none: no row)."""
    if kind == "modes":
        return "`evaluate.py` | score a checkpoint: PacGAN's mode metrics"
    if kind is None:
        return ""
    files = "`evaluate.py`, `metrics.py`" + (", `features.py`" if features else "")
    what = {
        "domain": "Fréchet distance, precision/recall and digit coverage in a digits "
        "classifier's features, and memorization",
        "inception": "Fréchet distance and precision/recall in InceptionV3 features, and "
        "memorization",
        None: "memorization",
    }[features]
    return f"{files} | score a checkpoint: {what}"


def validation_omit(spec: ImageSpec) -> list[str]:
    """Templates this spec does not need: features.py without a feature space, metrics.py
    without image metrics, evaluate.py (and its tests) for data it cannot score."""
    kind = scoring(spec)
    omitted = [] if feature_space(spec) else [FEATURES]
    if kind != "images":
        omitted.append(METRICS)
    if kind is None:
        omitted += [EVALUATE, EVALUATE_TESTS]
    return omitted
