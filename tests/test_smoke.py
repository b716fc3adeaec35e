"""``ganspec smoke``: a rendered project's own health check, run and reported by ganspec."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganspec.cli import cli
from tests.conftest import SPECS, mutated

REPORT_KEYS = {
    "healthy",
    "failed",
    "checks",
    "steps",
    "device",
    "d_real",
    "d_fake",
    "diversity_ratio",
    "seconds_per_step",
    "peak_rss_mib",
    "metrics",
    "samples",
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def ring8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlp-ring8 (the fastest preset) rendered with --smoke, which must come out healthy."""
    project = tmp_path_factory.mktemp("smoke") / "ring8"
    code, out, err = invoke(
        "render",
        str(SPECS / "mlp-ring8.yaml"),
        "--out",
        str(project),
        "--agents",
        "none",
        "--smoke",
    )
    assert code == 0, out + err
    assert out.strip().endswith("healthy") and "✓ PASS  losses_finite" in out
    return project


def test_smoke_of_a_fresh_render_is_healthy_and_json_has_the_report(ring8: Path) -> None:
    code, out, err = invoke("smoke", str(ring8), "--steps", "3", "--device", "cpu", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= REPORT_KEYS
    assert report["healthy"] is True and report["failed"] == []
    assert report["steps"] == 3 and report["device"] == "cpu"
    names = {c["name"] for c in report["checks"]}
    assert {"losses_finite", "gradients_nonzero", "output_shape", "not_collapsed"} <= names
    assert Path(report["metrics"]).is_file() and Path(report["samples"]).is_file()


def test_a_learning_rate_of_10_fails_the_finite_loss_check(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        mutated(
            "mlp-ring8",
            {"training.optimizers.generator.lr": 10, "training.optimizers.discriminator.lr": 10},
        )
    )
    project = tmp_path / "project"
    code, out, err = invoke("render", str(spec), "--out", str(project), "--agents", "none")
    assert code == 0, out + err  # only warnings: the spec renders
    code, out, err = invoke("smoke", str(project), "--device", "cpu")
    assert code == 1, out + err
    assert "✗ FAIL  losses_finite" in out
    assert out.strip().splitlines()[-1].startswith("unhealthy: ") and "losses_finite" in out
    assert "Traceback" not in out + err


def test_a_folder_that_is_not_a_rendered_project_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("name: x\n")
    code, out, err = invoke("smoke", str(tmp_path))
    assert code == 2
    assert "not a project rendered by ganspec" in err and ".ganspec/manifest.json" in err
    assert out == ""


def test_a_health_check_that_prints_no_report_exits_2_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / ".ganspec").mkdir()
    (tmp_path / ".ganspec" / "manifest.json").write_text("{}")
    (tmp_path / "config.yaml").write_text("name: x\n")
    (tmp_path / "health.py").write_text(
        "import sys\nprint('ModuleNotFoundError: no torch here', file=sys.stderr)\nsys.exit(1)\n"
    )
    code, _, err = invoke("smoke", str(tmp_path), "--json")
    assert code == 2
    assert "printed no report" in err and "no torch here" in err
