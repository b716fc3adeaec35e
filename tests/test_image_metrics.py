"""The rendered image projects' scoring math, tested once here rather than once per preset:
the Fréchet distance, precision/recall and their manifold share, memorization and the class
histogram (metrics.py), and PacGAN's mode metrics (evaluate.py of a 2-D mixture). Each
statistic runs on sets whose answer is known.

The code is the rendered code: a digits preset renders every function of metrics.py (its
features are the digits classifier's, which adds the class histogram), a ring preset renders
the mode metrics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
import torch

from ganspec.validate import validate_file
from tests.conftest import SPECS
from tests.project_imports import project_imports
from tests.rendered import render_into

ModeMetrics = Callable[[torch.Tensor, torch.Tensor, float], dict[str, Any]]


@pytest.fixture(scope="module")
def metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    project = tmp_path_factory.mktemp("digits")
    render_into(validate_file(SPECS / "dcgan-digits-32.yaml"), project)
    with project_imports(project) as modules:
        yield modules["metrics"]


@pytest.fixture(scope="module")
def mode_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModeMetrics]:
    project = tmp_path_factory.mktemp("ring8")
    render_into(validate_file(SPECS / "mlp-ring8.yaml"), project)
    with project_imports(project) as modules:
        yield modules["evaluate"].mode_metrics


def gaussian(n: int, dims: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    return mean + std * torch.randn(n, dims, generator=torch.Generator().manual_seed(seed))


# --- Fréchet distance -------------------------------------------------------------------------


def test_frechet_distance_of_a_set_with_itself_is_zero(metrics: ModuleType) -> None:
    x = gaussian(500, 8, 0)
    assert metrics.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_in_one_dimension(metrics: ModuleType) -> None:
    # For 1-D Gaussians FD = (m1 - m2)^2 + (s1 - s2)^2, with the sample mean and std.
    a, b = gaussian(4000, 1, 0, 0.0, 1.0), gaussian(4000, 1, 1, 3.0, 2.0)
    expected = (a.mean() - b.mean()) ** 2 + (a.std() - b.std()) ** 2
    assert metrics.frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-4)


def test_frechet_distance_is_symmetric_and_grows_with_the_shift(metrics: ModuleType) -> None:
    a, b, c = gaussian(800, 6, 0), gaussian(800, 6, 1, 0.5), gaussian(800, 6, 2, 2.0)
    fd = metrics.frechet_distance
    assert fd(a, b) == pytest.approx(fd(b, a), rel=1e-6)
    assert fd(a, b) < fd(a, c)
    assert fd(a, c) == pytest.approx(6 * 2.0**2, rel=0.1)


def test_frechet_distance_needs_two_samples_a_side(metrics: ModuleType) -> None:
    with pytest.raises(ValueError, match="at least 2 samples"):
        metrics.frechet_distance(gaussian(1, 3, 0), gaussian(10, 3, 1))


# --- precision and recall ---------------------------------------------------------------------


def test_manifold_share_counts_points_inside_any_reference_ball(metrics: ModuleType) -> None:
    reference = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    points = torch.tensor([[0.5, 0.0], [10.0, 1.5], [5.0, 0.0], [0.0, -1.0]])
    # radius 1 around the first reference point, 2 around the second: 3 of 4 points inside
    assert metrics.manifold_share(points, reference, torch.tensor([1.0, 2.0])) == 0.75


def test_precision_and_recall_of_matching_sets_are_high(metrics: ModuleType) -> None:
    result = metrics.precision_recall(gaussian(600, 4, 0), gaussian(600, 4, 1))
    assert result["precision"] > 0.9 and result["recall"] > 0.9


def test_a_collapsed_generator_keeps_precision_and_loses_recall(metrics: ModuleType) -> None:
    real = gaussian(600, 2, 0)
    collapsed = gaussian(600, 2, 1, std=0.05)  # every sample near the centre of the data
    result = metrics.precision_recall(real, collapsed)
    assert result["precision"] > 0.95 and result["recall"] < 0.2


def test_samples_far_from_the_data_have_no_precision_or_recall(metrics: ModuleType) -> None:
    result = metrics.precision_recall(gaussian(300, 3, 0), gaussian(300, 3, 1, mean=50.0))
    assert result == {"precision": 0.0, "recall": 0.0}


# --- memorization -----------------------------------------------------------------------------


def test_copies_of_the_training_set_are_flagged_as_memorized(metrics: ModuleType) -> None:
    train, holdout = gaussian(400, 5, 0), gaussian(200, 5, 1)
    result = metrics.memorization(train[:300].clone(), train, holdout)
    assert result["ratio"] == 0.0 and result["near_copies_percent"] == 100.0


def test_fresh_samples_from_the_data_distribution_are_not_memorized(metrics: ModuleType) -> None:
    train, holdout, fresh = gaussian(800, 5, 0), gaussian(400, 5, 1), gaussian(400, 5, 2)
    result = metrics.memorization(fresh, train, holdout)
    assert 0.85 < result["ratio"] < 1.15 and result["near_copies_percent"] < 5.0


# --- class histogram (domain features) --------------------------------------------------------


def test_class_histogram_counts_coverage_and_kl(metrics: ModuleType) -> None:
    uniform = metrics.class_histogram(torch.arange(10).repeat(20), 10)
    assert uniform["classes_covered"] == 10 and uniform["kl_to_uniform"] == pytest.approx(0.0)
    collapsed = metrics.class_histogram(torch.full((200,), 3), 10)
    assert collapsed["classes_covered"] == 1
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(10))
    stray = metrics.class_histogram(torch.cat([torch.full((990,), 3), torch.arange(10)]), 10)
    assert stray["classes_covered"] == 1  # one stray sample per class is not coverage


# --- PacGAN's mode metrics ----------------------------------------------------------------------

RING = torch.tensor(
    [[math.cos(2 * math.pi * i / 8), math.sin(2 * math.pi * i / 8)] for i in range(8)]
)
GRID = torch.tensor(
    [[x, y] for x in (-4.0, -2.0, 0.0, 2.0, 4.0) for y in (-4.0, -2.0, 0.0, 2.0, 4.0)]
)
MIXTURES = {"ring8": (RING, 0.01), "grid25": (GRID, 0.05)}


@pytest.mark.parametrize("mixture", MIXTURES)
def test_points_on_every_mode_cover_all_with_zero_kl(
    mode_metrics: ModeMetrics, mixture: str
) -> None:
    means, std = MIXTURES[mixture]
    result = mode_metrics(means.repeat(10, 1) + 0.5 * std, means, std)
    assert result["modes_covered"] == len(means) and result["counts"] == [10] * len(means)
    assert result["high_quality_percent"] == 100.0
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_all_points_on_one_mode_score_log_k(mode_metrics: ModeMetrics) -> None:
    means, std = MIXTURES["ring8"]
    result = mode_metrics(means[:1].repeat(100, 1), means, std)
    assert result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_points_far_from_every_mode_are_low_quality(mode_metrics: ModeMetrics) -> None:
    means, std = MIXTURES["grid25"]
    result = mode_metrics(torch.full((50, 2), 1.0), means, std)
    assert result["high_quality_percent"] == 0.0
    assert result["modes_covered"] == 0 and result["reverse_kl"] is None
