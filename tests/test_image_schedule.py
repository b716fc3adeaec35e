"""The learning-rate schedules of the rendered train.py, tested once here rather than in every
rendered project: a preset is rendered with each schedule and its train.py imported."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import validate_mutation
from tests.project_imports import project_imports
from tests.rendered import render_into

BASE = "mlp-ring8"


def rendered_train(tmp_path: Path, schedule: str) -> ModuleType:
    """train.py rendered for the base preset with this schedule."""
    report = validate_mutation(BASE, {"training.lr_schedule": schedule})
    assert report.exit_code == 0, [(d.code, d.message) for d in report.diagnostics]
    folder = tmp_path / schedule
    render_into(report, folder)
    with project_imports(folder) as modules:
        return modules["train"]


def test_a_constant_rate_renders_no_schedule_code(tmp_path: Path) -> None:
    train = rendered_train(tmp_path, "constant")
    assert not hasattr(train, "lr_factor") and not hasattr(train, "set_learning_rates")


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedules_decay_from_one_to_zero_at_the_run_end(tmp_path: Path, schedule: str) -> None:
    """linear and cosine decay the rate from 1 to 0 over the run and stay at 0 past its end;
    halfway both are at 0.5."""
    lr_factor = rendered_train(tmp_path, schedule).lr_factor
    assert lr_factor(0, 100) == 1.0
    assert lr_factor(100, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(150, 100) == pytest.approx(0.0, abs=1e-12)
    assert lr_factor(50, 100) == pytest.approx(0.5)


def test_cosine_stays_higher_than_linear_early_on(tmp_path: Path) -> None:
    """A half cosine: slow at first, so a quarter into the run it is above the linear rate."""
    linear = rendered_train(tmp_path, "linear").lr_factor
    cosine = rendered_train(tmp_path, "cosine").lr_factor
    assert cosine(25, 100) > linear(25, 100)
