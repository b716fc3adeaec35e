"""The learning-rate schedules of the rendered train.py, tested once here rather than in every
rendered project (they are the same code whatever the spec)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import SPECS
from tests.project_imports import project_imports


def test_learning_rate_schedules_start_at_one_and_end_at_zero(tmp_path: Path) -> None:
    """constant stays at the configured rate; linear and cosine decay it from 1 to 0 over the
    run and stay at 0 past its end, cosine staying higher early on (a half cosine)."""
    for path, text in render_files(validate_file(SPECS / "dcgan-digits-32.yaml"), set()).items():
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    with project_imports(tmp_path) as modules:
        lr_factor = modules["train"].lr_factor
    assert lr_factor("constant", 70, 100) == 1.0
    for schedule in ("linear", "cosine"):
        assert lr_factor(schedule, 0, 100) == 1.0
        assert lr_factor(schedule, 100, 100) == pytest.approx(0.0, abs=1e-12)
        assert lr_factor(schedule, 150, 100) == pytest.approx(0.0, abs=1e-12)
        assert lr_factor(schedule, 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 25, 100) > lr_factor("linear", 25, 100)
