"""health.py on this project's own network prints one JSON report that ganspec smoke reads:
healthy with random weights in the release format, and saying so loudly. (What health.py does
when the pipeline is broken is the same for every spec: ganspec's own tests check it.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import contract
import health
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
