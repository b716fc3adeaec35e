"""Every superres preset renders into a project that lints clean and passes its own contract
tests; the README's commands run on one of them; `ganspec smoke` reads its health report.

Spec-independent project code (tiling, image files, weights checks, export) is tested once, in
the cheapest preset's project; the other presets run the tests of their own contract
(``tests/test_contract.py``: their model, their settings).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruff.__main__ import find_ruff_bin

from ganspec.cli import cli
from tests.conftest import SPECS, SUPERRES_PRESETS

FULL_SUITE = "realesr-general-x4v3"  # 1.2M parameters: the whole project suite runs here


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def render(preset: str, out: Path) -> Path:
    result = CliRunner().invoke(cli, ["render", str(SPECS / f"{preset}.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("preset", SUPERRES_PRESETS)
def test_rendered_superres_project_lints_and_passes_its_contract_tests(
    preset: str, tmp_path: Path
) -> None:
    project = render(preset, tmp_path / preset)
    ruff = find_ruff_bin()
    for command in ([ruff, "check", "--no-cache", "."], [ruff, "format", "--check", "."]):
        linted = run(command, project)
        assert linted.returncode == 0, linted.stdout + linted.stderr
    selection = [] if preset == FULL_SUITE else ["tests/test_contract.py"]
    tests = run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *selection], project
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and " skipped" not in tests.stdout
