"""health.py, the short-run health report, on this project: two steps come out healthy.

What health.py does whatever the spec (a NaN or a crash is a failed check, a rerun replaces
only its own previous run) is tested once in ganspec's own suite (tests/test_image_health.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import health

pytestmark = pytest.mark.surface("validation protocol")

CHECKS = {"losses_finite", "gradients_nonzero", "output_shape", "output_range", "not_collapsed"}


def test_health_report_is_healthy_on_this_project(
    cfg: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two steps of this project pass every health check, and the report has its figures."""
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    flags = ["--steps", "2", "--device", "cpu", "--out", str(tmp_path / "run"), "--json"]
    capsys.readouterr()
    code = health.main(["--config", str(config), *flags])
    report = json.loads(capsys.readouterr().out)  # one JSON object: training prints to stderr
    statuses = {c["name"]: c["status"] for c in report["checks"]}
    assert report["healthy"] is True and report["failed"] == [] and code == 0, report["checks"]
    assert set(statuses) >= CHECKS
    # A G without normalization may start more compact than wide data; two steps in, that
    # is a warning (not yet spread out), never a failure.
    assert all(statuses[name] == "pass" for name in CHECKS - {"not_collapsed"})
    assert statuses["not_collapsed"] in ("pass", "warn")
    assert report["steps"] == 2 and report["device"] == "cpu"
    assert set(report["d_fake"]) == {"first", "last", "min", "max"}
    lines = Path(report["metrics"]).read_text(encoding="utf-8").splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == 2 and all("grad_norm_g" in r and "grad_norm_d" in r for r in rows)
    assert report["samples"] and Path(report["samples"]).is_file()
