"""The rendered superres health.py, the same for every spec and tested once here on one render
(tests/superres_project.py; each project keeps its own healthy report): it prints one JSON
report that ganspec smoke reads; it is unhealthy with the failing check named when the pipeline
is broken, and a crash is a failed check with its traceback, not a missing report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.superres_project import modules

contract, health, tiles, upscale, weights = modules(
    "contract", "health", "tiles", "upscale", "weights"
)

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")


@pytest.fixture(autouse=True)
def no_release(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights paths resolve under an empty folder: the release file is absent."""
    monkeypatch.setattr(weights, "PROJECT", tmp_path)


def report_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    code = health.main(["--json", "--device", "cpu", *argv])
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1, out  # one line of JSON on stdout
    return code, json.loads(out)


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
