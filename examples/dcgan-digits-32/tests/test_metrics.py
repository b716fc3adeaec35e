"""metrics.py: each statistic on sets whose answer is known."""

from __future__ import annotations

import math

import pytest
import torch

from metrics import class_histogram, frechet_distance, memorization, precision_recall


def gaussian(n: int, dims: int, seed: int, mean: float = 0.0, std: float = 1.0) -> torch.Tensor:
    return mean + std * torch.randn(n, dims, generator=torch.Generator().manual_seed(seed))


@pytest.mark.generic
def test_frechet_distance_of_a_set_with_itself_is_zero() -> None:
    x = gaussian(500, 8, 0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.generic
def test_frechet_distance_matches_the_closed_form_in_one_dimension() -> None:
    # For 1-D Gaussians FD = (m1 - m2)^2 + (s1 - s2)^2, with the sample mean and std.
    a, b = gaussian(4000, 1, 0, 0.0, 1.0), gaussian(4000, 1, 1, 3.0, 2.0)
    expected = (a.mean() - b.mean()) ** 2 + (a.std() - b.std()) ** 2
    assert frechet_distance(a, b) == pytest.approx(float(expected), rel=1e-4)


@pytest.mark.generic
def test_frechet_distance_is_symmetric_and_grows_with_the_shift() -> None:
    a, b, c = gaussian(800, 6, 0), gaussian(800, 6, 1, 0.5), gaussian(800, 6, 2, 2.0)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)
    assert frechet_distance(a, b) < frechet_distance(a, c)
    assert frechet_distance(a, c) == pytest.approx(6 * 2.0**2, rel=0.1)


@pytest.mark.generic
def test_precision_and_recall_of_matching_sets_are_high() -> None:
    result = precision_recall(gaussian(600, 4, 0), gaussian(600, 4, 1))
    assert result["precision"] > 0.9 and result["recall"] > 0.9


@pytest.mark.generic
def test_a_collapsed_generator_keeps_precision_and_loses_recall() -> None:
    real = gaussian(600, 2, 0)
    collapsed = gaussian(600, 2, 1, std=0.05)  # every sample near the centre of the data
    result = precision_recall(real, collapsed)
    assert result["precision"] > 0.95 and result["recall"] < 0.2


@pytest.mark.generic
def test_samples_far_from_the_data_have_no_precision_or_recall() -> None:
    result = precision_recall(gaussian(300, 3, 0), gaussian(300, 3, 1, mean=50.0))
    assert result == {"precision": 0.0, "recall": 0.0}


@pytest.mark.generic
def test_copies_of_the_training_set_are_flagged_as_memorized() -> None:
    train, holdout = gaussian(400, 5, 0), gaussian(200, 5, 1)
    result = memorization(train[:300].clone(), train, holdout)
    assert result["ratio"] == 0.0 and result["near_copies_percent"] == 100.0


@pytest.mark.generic
def test_fresh_samples_from_the_data_distribution_are_not_memorized() -> None:
    train, holdout, fresh = gaussian(800, 5, 0), gaussian(400, 5, 1), gaussian(400, 5, 2)
    result = memorization(fresh, train, holdout)
    assert 0.85 < result["ratio"] < 1.15 and result["near_copies_percent"] < 5.0


@pytest.mark.generic
def test_class_histogram_counts_coverage_and_kl() -> None:
    uniform = class_histogram(torch.arange(10).repeat(20), 10)
    assert uniform["classes_covered"] == 10 and uniform["kl_to_uniform"] == pytest.approx(0.0)
    collapsed = class_histogram(torch.full((200,), 3), 10)
    assert collapsed["classes_covered"] == 1
    assert collapsed["kl_to_uniform"] == pytest.approx(math.log(10))
    stray = class_histogram(torch.cat([torch.full((990,), 3), torch.arange(10)]), 10)
    assert stray["classes_covered"] == 1  # one stray sample per class is not coverage
