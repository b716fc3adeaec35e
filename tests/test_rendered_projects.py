"""Every image preset renders into a project that passes ruff, its own contract tests, and
trains. (render refuses tabular presets until issue 10's render slice: tests/test_tabular.py.)

This is the end-to-end promise of ``ganspec render``: the output is not a sketch but a project
that installs (its dependencies are ganspec's dev extras here), lints clean and runs.

Rendered tests marked `generic` check code that is the same bytes for every preset (run
folder, checksums, health's folder handling): they run once, in FULL_SUITE's
project; every other preset runs the rest of its suite. The two-process torchrun test runs on
one preset with BatchNorm and one critic with a gradient penalty (double backward under DDP),
not on all seven.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruff.__main__ import find_ruff_bin

from ganspec.cli import cli
from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import IMAGE_PRESETS, SPECS

FULL_SUITE = "dcgan-digits-32"
DDP_PRESETS = {"dcgan-digits-32", "wgan-gp-64"}
# What the rendered tests marked `generic` exercise: it must render to the same bytes for
# every preset, or those tests must run for every preset again.
SPEC_INDEPENDENT_MODULES = (
    "runfolder.py",
    "storage.py",
    "checkpoints.py",
    "health.py",
)


@pytest.fixture(scope="module")
def full_suite_render() -> dict[str, str]:
    return render_files(validate_file(SPECS / f"{FULL_SUITE}.yaml"), set())


def suite_arguments(preset: str) -> list[str]:
    """pytest arguments for a preset's own suite: what is not already proven by another."""
    skipped = [] if preset in DDP_PRESETS else ["ddp"]
    if preset != FULL_SUITE:
        skipped.append("generic")
    return ["-m", " and ".join(f"not {marker}" for marker in skipped)] if skipped else []


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_rendered_project_lints_passes_its_tests_and_trains(
    preset: str, tmp_path: Path, full_suite_render: dict[str, str]
) -> None:
    project = tmp_path / preset
    result = CliRunner().invoke(
        cli, ["render", str(SPECS / f"{preset}.yaml"), "--out", str(project)]
    )
    assert result.exit_code == 0, result.output

    ruff = find_ruff_bin()
    for command in ([ruff, "check", "--no-cache", "."], [ruff, "format", "--check", "."]):
        linted = run(command, project)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *suite_arguments(preset)],
        project,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]

    out = tmp_path / "run"
    trained = run(
        [sys.executable, "train.py", "--max-steps", "2", "--device", "cpu", "--out", str(out)],
        project,
    )
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert rows and all(key in rows[-1] for key in ("loss_d", "loss_g", "d_real", "d_fake"))
    assert (out / "last.pt").is_file()
    for module in SPEC_INDEPENDENT_MODULES:  # else its tests must run for this preset too
        assert (project / module).read_text() == full_suite_render[module], module
    assert "import ganspec" not in "".join(p.read_text() for p in project.rglob("*.py"))
