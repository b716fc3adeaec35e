"""health.py prints one JSON report that ganspec smoke reads: healthy with random weights in
the release format (said loudly), unhealthy with the failing check named when the pipeline is
broken, and a crash is a failed check with its traceback, not a missing report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import contract
import health
import tiles
import upscale
import weights

pytestmark = pytest.mark.surface("validation protocol")

FIELDS = {
    "healthy",
    "checks",
    "failed",
    "error",
    "steps",
    "steps_requested",
    "step_unit",
    "device",
    "data_source",
    "seconds_per_step",
    "peak_rss_mib",
}


@pytest.fixture(autouse=True)
def no_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights paths resolve under an empty folder: the release file is absent."""
    monkeypatch.setattr(weights, "PROJECT", tmp_path)


def report_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = health.main(["--json", "--device", "cpu", *argv])
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, out  # one line of JSON on stdout
    return code, json.loads(out)


def test_random_weights_give_a_healthy_report_that_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report = report_of(["--steps", "2"], capsys)
    assert code == 0 and report["healthy"] is True, report
    assert set(report) >= FIELDS
    assert report["failed"] == [] and report["error"] is None
    assert report["steps"] == report["steps_requested"] == 2
    assert report["step_unit"] == "image" and report["device"] == "cpu"
    assert report["weights"] == "random"
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert statuses == {
        "weights": "warn",  # random weights: loudly not a super-resolution
        "output_shape": "pass",
        "dtype_and_channels_kept": "pass",
        "finite": "pass",
        "tiled_equals_untiled": "pass",
        "written_and_read_back": "pass",
    }
    assert "RANDOM" in report["checks"][0]["detail"]
    assert report["tiling_max_abs_diff"] < 1e-4
    assert report["seconds_per_step"] > 0
    height, width = upscale.output_size(24, 32, contract.SETTINGS.outscale)
    assert report["input_shape"] == [24, 32, 3] and report["output_shape"] == [height, width, 3]


def test_a_weights_file_that_is_there_but_wrong_is_a_failed_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Absent release weights are a warning (fetched later); a wrong file is a failure."""
    path = weights.resolve(contract.WEIGHTS)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not the release")
    code, report = report_of(["--steps", "1", "--synthetic"], capsys)
    assert code == 1 and report["failed"] == ["weights"]
    assert "truncated" in report["checks"][0]["detail"]


def test_a_wrong_output_size_is_a_failed_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = upscale.upscale_array
    monkeypatch.setattr(upscale, "upscale_array", lambda *a, **k: real(*a, **k)[1:])
    code, report = report_of(["--steps", "1", "--synthetic"], capsys)
    assert code == 1 and report["healthy"] is False
    assert "output_shape" in report["failed"]
    assert report["data_source"].startswith("random")


def test_seams_are_a_failed_check(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tiler that crops without context (pad 0) differs from untiled: the check fails."""
    real = tiles.tiling_error
    monkeypatch.setattr(tiles, "tiling_error", lambda m, x, s, t, p, o: real(m, x, s, t, 0, 0))
    code, report = report_of(["--steps", "1"], capsys)
    assert code == 1 and report["failed"] == ["tiled_equals_untiled"]


def test_a_crash_is_reported_not_raised(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> np.ndarray:
        raise RuntimeError("boom")

    monkeypatch.setattr(upscale, "upscale_array", broken)
    code, report = report_of(["--steps", "1"], capsys)
    assert code == 1 and report["healthy"] is False
    assert report["failed"] == ["no_crash"] and "boom" in report["error"]
    assert report["steps"] == 0


def test_without_json_the_report_is_readable(capsys: pytest.CaptureFixture[str]) -> None:
    assert health.main(["--steps", "1", "--device", "cpu", "--synthetic"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("HEALTHY: ")
    assert "[warn] weights: RANDOM weights" in out
