"""evaluate.py: PacGAN's mode metrics on known point sets, and the script on a checkpoint
for every kind of data (mixtures, digits with domain features, other images)."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

import evaluate
import features


def mixture_modes(source: str) -> tuple[torch.Tensor, float]:
    """PacGAN's ring of 8 (std 0.01) and 5x5 grid (std 0.05), written out here: mode_metrics
    is the same code whatever data this project trains on (its data.py makes only its own)."""
    if source == "ring8":
        angles = torch.arange(8) * (2 * torch.pi / 8)
        return torch.stack([angles.cos(), angles.sin()], dim=1), 0.01
    axis = torch.tensor([-4.0, -2.0, 0.0, 2.0, 4.0])
    return torch.cartesian_prod(axis, axis), 0.05


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


def run_script(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    code = evaluate.main([*args, "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out) if code == 0 else {}


@pytest.fixture
def fast_classifier(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A digits classifier trained for one epoch into a temporary cache: plumbing only."""
    monkeypatch.setattr(features, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(features, "CLASSIFIER_EPOCHS", 1)


def test_script_scores_a_checkpoint(
    cfg: dict[str, Any],
    one_step_run: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_classifier: None,
) -> None:
    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # as if not installed
    code, result = run_script(
        ["--checkpoint", str(one_step_run / "last.pt"), "--samples", "60"], capsys
    )
    assert code == 0 and result["samples"] == 60
    if cfg["data"]["source"]["type"] in evaluate.MIXTURES:
        assert 0 <= result["modes_covered"] <= result["modes"]
        return
    assert result["memorization"]["median_nn_holdout"] > 0
    if cfg["data"]["source"]["type"] == "digits":
        assert result["features"] == "domain" and sum(result["classes"]["counts"]) == 60
        assert result["frechet"]["generated_vs_holdout"] >= 0
    else:  # no Inception weights here: the report says how to get them instead of failing
        assert result["features"] is None and "--inception" in result["features_unavailable"]


class TinyInception(torch.nn.Module):
    """Stands in for NVIDIA's TorchScript InceptionV3: same call, 3-d features."""

    def forward(self, images: torch.Tensor, return_features: bool = False) -> torch.Tensor:
        x = images.float() / 255
        return torch.stack([x.mean((1, 2, 3)), x.std((1, 2, 3)), x[:, 0].mean((1, 2))], dim=1)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, to make the file
def test_inception_features_load_from_a_torchscript_file(
    cfg: dict[str, Any], one_step_run: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if cfg["data"]["source"]["type"] in evaluate.MIXTURES:
        pytest.skip("Inception features are for images")
    weights = tmp_path / "inception.pt"
    torch.jit.script(TinyInception()).save(str(weights))
    checkpoint = str(one_step_run / "last.pt")
    args = ["--checkpoint", checkpoint, "--samples", "60", "--features", "inception"]
    code, result = run_script([*args, "--inception", str(weights)], capsys)
    assert code == 0 and result["features"] == "inception" and result["feature_dims"] == 3
    assert 0 <= result["precision_recall"]["generated"]["precision"] <= 1


def test_missing_or_wrong_inception_file_is_a_clear_error(
    cfg: dict[str, Any], one_step_run: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    if cfg["data"]["source"]["type"] in evaluate.MIXTURES:
        pytest.skip("Inception features are for images")
    checkpoint = str(one_step_run / "last.pt")
    args = ["--checkpoint", checkpoint, "--features", "inception", "--inception"]
    assert evaluate.main([*args, str(tmp_path / "missing.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    assert evaluate.main([*args, str(tmp_path / "junk.pt")]) == 2
    assert "not a TorchScript InceptionV3" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.script, to make the file
def test_a_feature_size_the_weights_cannot_give_is_a_clear_error(tmp_path: Path) -> None:
    weights = tmp_path / "inception.pt"
    torch.jit.script(TinyInception()).save(str(weights))
    with pytest.raises(ValueError, match="2048-d pool features only"):
        features.inception_features(str(weights), dims=768)


def test_digits_classifier_recognises_held_out_digits(
    cfg: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The feature space is only as good as the classifier under it."""
    if cfg["data"]["source"]["type"] != "digits":
        pytest.skip("the domain classifier is for digits data")
    monkeypatch.setattr(features, "CACHE_DIR", tmp_path)
    cfg["validation"]["holdout"] = 0.2
    first = features.train_digits_classifier(cfg, log=lambda _: None)
    assert first.holdout_accuracy > 0.95
    cached = features.train_digits_classifier(cfg, log=lambda _: pytest.fail("retrained"))
    assert cached.holdout_accuracy == first.holdout_accuracy


def test_training_scores_are_logged_or_skipped_with_the_reason(
    cfg: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    fast_classifier: None,
) -> None:
    import train

    monkeypatch.setitem(sys.modules, "torch_fidelity", None)  # as if not installed
    source = cfg["data"]["source"]["type"]
    features_kind = "domain" if source == "digits" else "inception"
    cfg["validation"]["fid"] = {"every": 1, "samples": 40, "features": features_kind}
    scorer = train.make_scorer(cfg)
    if source not in evaluate.MIXTURES and source != "digits":
        assert scorer is None and "validation.fid is skipped" in capsys.readouterr().out
        return
    assert scorer is not None
    gan = train.build_gan(cfg, torch.device("cpu"))
    for step in (5, 10):
        train.write_score(scorer, gan, torch.device("cpu"), tmp_path, step // 5, step)
    first, second = train.read_metrics(tmp_path / "scores.jsonl")
    assert (first["step"], second["step"]) == (5, 10)
    assert {k: v for k, v in first.items() if k not in ("step", "epoch")} == {
        k: v for k, v in second.items() if k not in ("step", "epoch")
    }  # fixed noise, same weights: the same score
    assert ("fd" in first and first["fd"] >= 0) or "modes_covered" in first
