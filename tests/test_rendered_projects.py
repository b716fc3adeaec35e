"""Every image preset renders into a project that passes ruff, its own contract tests, and
trains. (render refuses tabular presets until issue 10's render slice: tests/test_tabular.py.)

This is the end-to-end promise of ``ganspec render``: the output is not a sketch but a project
that installs (its dependencies are ganspec's dev extras here), lints clean and runs.
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
from tests.conftest import IMAGE_PRESETS, SPECS


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_rendered_project_lints_passes_its_tests_and_trains(preset: str, tmp_path: Path) -> None:
    project = tmp_path / preset
    result = CliRunner().invoke(
        cli, ["render", str(SPECS / f"{preset}.yaml"), "--out", str(project)]
    )
    assert result.exit_code == 0, result.output

    ruff = find_ruff_bin()
    for command in ([ruff, "check", "--no-cache", "."], [ruff, "format", "--check", "."]):
        linted = run(command, project)
        assert linted.returncode == 0, linted.stdout + linted.stderr

    tests = run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], project)
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
    assert "import ganspec" not in "".join(p.read_text() for p in project.rglob("*.py"))
