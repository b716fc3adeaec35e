"""The image project's scoring code is the spec's own: 2-D mixtures get PacGAN's mode metrics
and scatter plots, images get image grids and the metrics in the spec's feature space (the
digits classifier or InceptionV3, never both), and training scores validation.fid only where
the spec asks for it (ganspec/render/image_validation.py decides, the templates place code)."""

from __future__ import annotations

from typing import Any

import pytest

from ganspec.render.context import build_context
from ganspec.render.engine import render_project
from ganspec.validate import Report
from tests.conftest import validate_mutation

# What each kind of scoring must have (present) and must not (absent), per rendered file.
MODES = {
    "evaluate.py": (["def mode_metrics", "mixture_modes"], ["inception", "digits", "from metrics"]),
    "plots.py": (["def save_scatter"], ["def save_image_grid", "grid_columns"]),
    "sample.py": (["save_scatter"], ["save_image_grid", "--labels"]),
}
INCEPTION = {
    "evaluate.py": (
        ["--inception", "torchscript_inception(inception)"],
        ["mode_metrics", "digits", "classes"],
    ),
    "features.py": (["def torchscript_inception"], ["DigitsClassifier"]),
    "metrics.py": (["def frechet_distance"], ["class_histogram"]),
    "plots.py": (["def save_image_grid"], ["def save_scatter"]),
}
DIGITS = {
    "evaluate.py": (["train_digits_classifier", "class_histogram"], ["inception", "mode_metrics"]),
    "features.py": (["class DigitsClassifier"], ["Inception", "torch_fidelity"]),
    "metrics.py": (["def class_histogram", "def frechet_distance"], []),
}

FID = {"every": 1, "samples": 64, "features": "domain"}


def project(report: Report) -> dict[str, str]:
    assert report.exit_code == 0, [d.code for d in report.diagnostics]
    assert report.context is not None
    return render_project("image", build_context(report.context), set())


def check(files: dict[str, str], expected: dict[str, tuple[list[str], list[str]]]) -> None:
    for path, (present, absent) in expected.items():
        assert path in files, f"{path} is not rendered"
        for text in present:
            assert text in files[path], f"{path} lacks {text!r}"
        for text in absent:
            assert text not in files[path], f"{path} has {text!r}"


@pytest.mark.parametrize(
    ("preset", "expected", "omitted"),
    [
        ("mlp-ring8", MODES, {"features.py", "metrics.py"}),
        ("dcgan-64", INCEPTION, set()),
        ("dcgan-digits-32", DIGITS, set()),
    ],
)
def test_each_preset_renders_only_its_own_scoring_code(
    preset: str, expected: dict[str, Any], omitted: set[str]
) -> None:
    files = project(validate_mutation(preset, {}))
    check(files, expected)
    assert not omitted & set(files)


def test_without_validation_fid_training_has_no_scorer() -> None:
    train = project(validate_mutation("mlp-ring8", {}))["train.py"]
    assert "Scorer" not in train and "write_score" not in train
    scored = project(validate_mutation("mlp-ring8", {"validation.fid": FID}))
    assert "from evaluate import Scorer" in scored["train.py"]
    assert "class Scorer" in scored["evaluate.py"] and "--inception" not in scored["train.py"]


def test_domain_features_of_other_images_are_reported_missing_not_faked() -> None:
    files = project(validate_mutation("dcgan-64", {"validation.fid": FID}))
    assert "features.py" not in files and "class Scorer" not in files["evaluate.py"]
    assert "domain features exist for digits data only" in files["evaluate.py"]
    assert "warning: validation.fid is skipped: domain features" in files["train.py"]


def test_vector_data_that_is_no_mixture_gets_no_evaluate_script() -> None:
    changes = {"data.source": {"type": "synthetic"}, "validation.fid": FID}
    files = project(validate_mutation("mlp-ring8", changes))
    assert not {"evaluate.py", "features.py", "metrics.py", "tests/test_evaluate.py"} & set(files)
    assert "from evaluate" not in files["train.py"]
    assert "validation.fid is skipped" in files["train.py"]
