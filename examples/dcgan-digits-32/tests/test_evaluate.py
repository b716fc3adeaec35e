"""evaluate.py: PacGAN's mode metrics on known point sets, and the script on a checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import evaluate
from data import mixture_modes


@pytest.mark.parametrize("source", ["ring8", "grid25"])
def test_points_on_every_mode_cover_all_with_zero_kl(source: str) -> None:
    means, std = mixture_modes(source)
    points = means.repeat(10, 1) + 0.5 * std
    result = evaluate.mode_metrics(points, means, std)
    assert result["modes_covered"] == len(means)
    assert result["high_quality_percent"] == 100.0
    assert result["reverse_kl"] == pytest.approx(0.0, abs=1e-12)


def test_all_points_on_one_mode_score_log_k() -> None:
    means, std = mixture_modes("ring8")
    result = evaluate.mode_metrics(means[:1].repeat(100, 1), means, std)
    assert result["modes_covered"] == 1
    assert result["reverse_kl"] == pytest.approx(math.log(8))


def test_points_far_from_every_mode_are_low_quality() -> None:
    means, std = mixture_modes("grid25")
    result = evaluate.mode_metrics(torch.full((50, 2), 1.0), means, std)
    assert result["high_quality_percent"] == 0.0
    assert result["modes_covered"] == 0 and result["reverse_kl"] is None


def test_script_scores_a_checkpoint_or_says_why_not(
    cfg: dict[str, Any], one_step_run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    checkpoint = str(one_step_run / "last.pt")
    code = evaluate.main(["--checkpoint", checkpoint, "--samples", "200", "--json"])
    captured = capsys.readouterr()
    if cfg["data"]["source"]["type"] in evaluate.MIXTURES:
        assert code == 0
        result = json.loads(captured.out)
        assert result["samples"] == 200 and 0 <= result["modes_covered"] <= result["modes"]
    else:
        assert code == 2 and "not" in captured.err and "implemented yet" in captured.err
