"""evaluate.py on this spec's digits: the classifier its features come from recognises
held-out digits (trained once per test session), and the script scores a checkpoint with it
(the metrics' math is tested once, in ganspec's own suite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

import evaluate
import features

pytestmark = pytest.mark.surface("validation protocol")

# The spec's validation.fid (conftest switches it off for the tests that do not score).
FID = {"every": 10, "samples": 1000, "features": "domain", "dims": 2048}


def run_script(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = evaluate.main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


@pytest.fixture(scope="session", autouse=True)
def digits_classifier(
    base_cfg: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[features.DigitsFeatures]:
    """The digits classifier, trained once per test session into a temporary cache (tests
    never write into the project's .cache/); evaluate.py and the Scorer load it from there."""
    saved = features.CACHE_DIR
    features.CACHE_DIR = tmp_path_factory.mktemp("feature_cache")
    yield features.train_digits_classifier(base_cfg, log=lambda _: None)
    features.CACHE_DIR = saved


def test_digits_classifier_recognises_held_out_digits(
    base_cfg: dict[str, Any], digits_classifier: features.DigitsFeatures
) -> None:
    """The feature space is only as good as the classifier under it; once trained, it is
    loaded from its cache, not trained again."""
    assert digits_classifier.holdout_accuracy > 0.95
    cached = features.train_digits_classifier(base_cfg, log=lambda _: pytest.fail("retrained"))
    assert cached.holdout_accuracy == digits_classifier.holdout_accuracy


def test_script_scores_a_checkpoint(one_step_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fréchet distance, precision/recall and digit coverage in the classifier's features,
    and memorization; the cached classifier is used, not trained again."""
    code, result = run_script(
        ["--checkpoint", str(one_step_run / "last.pt"), "--samples", "60"], capsys
    )
    assert code == 0 and result["samples"] == 60
    assert "training the digits classifier" not in capsys.readouterr().err
    assert result["features"] == "domain" and sum(result["classes"]["counts"]) == 60
    assert result["frechet"]["generated_vs_holdout"] >= 0
    assert 0 <= result["precision_recall"]["generated"]["precision"] <= 1
    assert result["memorization"]["median_nn_holdout"] > 0


def test_training_scores_are_logged(
    cfg: dict[str, Any],
    tmp_path: Path,
) -> None:
    """validation.fid: scores.jsonl gets one row per scoring; fixed noise and the same weights
    give the same score."""
    import train

    cfg["validation"]["fid"] = {**FID, "every": 1, "samples": 40}
    scorer = train.make_scorer(cfg)
    assert scorer is not None
    gan = train.build_gan(cfg, torch.device("cpu"))
    for step in (5, 10):
        train.write_score(scorer, gan, torch.device("cpu"), tmp_path, step // 5, step)
    lines = (tmp_path / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    first, second = (json.loads(line) for line in lines)
    assert (first["step"], second["step"]) == (5, 10)
    assert {k: v for k, v in first.items() if k not in ("step", "epoch")} == {
        k: v for k, v in second.items() if k not in ("step", "epoch")
    }  # fixed noise, same weights: the same score
    assert first["fd"] >= 0 and first["fd_floor"] >= 0
