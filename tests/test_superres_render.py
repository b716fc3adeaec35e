"""Every superres preset renders into a project that lints clean and passes its own contract
tests; the README's commands run on one of them; `ganspec smoke` reads its health report.

Code every superres spec renders alike (tiling, image files, weights checks, export, health.py's
checks) is tested once, in ganspec's own tests/test_superres_*.py; each project keeps the tests
of its own contract (``tests/test_contract.py``: its model, its settings) and its own healthy
health report (``tests/test_health.py``), which runs here on the cheapest network only: on the
RRDBNets it costs 5 s (anime-6B) and 15 s (x4plus) for checks their test_contract.py already
makes on the same network (output size, dtype and channels, seams, a written file).
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
from tests import superres_project
from tests.conftest import SPECS, SUPERRES_PRESETS
from tests.project_imports import project_imports
from tests.project_pytest import run_pytest

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
    tests = run_pytest(["--basetemp", str(tmp_path / "suite"), *selection], project)
    assert tests.returncode == 0, tests.stdout[-6000:]
    assert " passed" in tests.stdout and " skipped" not in tests.stdout


def photos(folder: Path) -> Path:
    """Two small crops of scikit-learn's china.jpg (png and jpg) and a file that is no image."""
    import cv2
    import sklearn

    china = cv2.imread(str(Path(sklearn.__file__).parent / "datasets" / "images" / "china.jpg"))
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), china[100:124, 200:232])
    cv2.imwrite(str(folder / "b.jpg"), china[200:220, 300:328])
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_init_validate_render_and_upscale_a_folder_as_the_readme_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The README's path on a fresh machine: init, validate (a warning: no weights yet), render;
    upscale.py refuses to run without the release file and names the way out; with random
    weights it upscales the folder, reports the broken file, writes no partial file; a rerun
    skips what is there; ganspec smoke reads the health report.

    The upscaling run and ganspec smoke (health.py) are processes of their own; the refusal,
    the rerun and weights.py's check run main() in this process, from the project's folder (a
    process each spent seconds importing torch and OpenCV); an uncaught error fails the test."""
    runner = CliRunner()
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(cli, ["init", "--preset", FULL_SUITE, "--out", "spec.yaml"]).exit_code == 0
    validated = runner.invoke(cli, ["validate", "spec.yaml"])
    assert validated.exit_code == 0 and "GS801" in validated.output
    assert runner.invoke(cli, ["render", "spec.yaml", "--out", "project"]).exit_code == 0
    project = tmp_path / "project"
    assert '"../weights/realesr-general-x4v3.pth"' in (project / "contract.py").read_text()
    folder = photos(tmp_path / "photos")
    out = tmp_path / "results"
    upscale = [str(folder), "--out", str(out), "--device", "cpu"]
    monkeypatch.chdir(project)
    with project_imports(project) as modules:
        assert modules["upscale"].main(upscale) == 2
        refused = capsys.readouterr().err
        assert "realesr-general-x4v3.pth not found" in refused
        assert "--random-weights" in refused and not out.exists()

        done = run([sys.executable, "upscale.py", *upscale, "--random-weights"], project)
        assert done.returncode == 1, done.stderr[-2000:]  # one file is not an image
        assert "RANDOM WEIGHTS" in done.stderr and "broken.png FAILED" in done.stderr
        assert "Traceback" not in done.stderr
        assert sorted(p.name for p in out.iterdir()) == ["a_out.png", "b_out.png"]
        assert "2 written, 0 skipped, 1 failed" in done.stdout
        assert modules["upscale"].main([*upscale, "--random-weights"]) == 1
        assert "0 written, 2 skipped, 1 failed" in capsys.readouterr().out

        assert modules["weights"].main([]) == 2

    smoke = runner.invoke(cli, ["smoke", str(project), "--json", "--device", "cpu"])
    assert smoke.exit_code == 0, smoke.output
    report = json.loads(smoke.output)
    assert report["healthy"] is True and report["step_unit"] == "image"
    assert {c["name"]: c["status"] for c in report["checks"]}["weights"] == "warn"


@pytest.fixture(scope="module")
def general(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The full-suite preset's render that tests/test_superres_*.py use, and a folder of
    photos, shared by the bad requests."""
    assert superres_project.PRESET == FULL_SUITE
    return superres_project.project_folder(), photos(tmp_path_factory.mktemp("general") / "photos")


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--format", "jpg", "--bit-depth", "16"], "holds 8 bits only"),
        (["--tile", "8", "--tile-pad", "8"], "tile-pad"),
        (["--outscale", "-1"], "outscale"),
        (["--input-that-is-not-a-flag"], "unrecognized arguments"),
    ],
    ids=["16-bit-jpg", "pad-not-below-tile", "negative-outscale", "unknown-flag"],
)
def test_bad_requests_exit_2_with_one_line_and_write_nothing(
    flags: list[str],
    says: str,
    general: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """upscale.py's main() in this process (a process of its own per request spent seconds
    importing torch and OpenCV to print one line); an uncaught error fails the test."""
    _, folder = general
    out = tmp_path / "results"
    args = [str(folder), "--out", str(out), "--random-weights", *flags]
    (upscale,) = superres_project.modules("upscale")
    try:
        code = upscale.main(args)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    stderr = capsys.readouterr().err
    assert code == 2 and says in stderr
    assert len(stderr.strip().splitlines()) == 1, stderr
    assert not out.exists()


def test_torchrun_splits_a_folder_between_processes(
    general: tuple[Path, Path], tmp_path: Path
) -> None:
    """`torchrun --nproc-per-node 2 upscale.py FOLDER`: each rank takes every other file of
    the sorted list; together they write every output once, and the broken file fails on
    the rank that drew it."""
    project, folder = general
    out = tmp_path / "results"
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    command += ["upscale.py", str(folder), "--out", str(out), "--random-weights"]
    result = run([*command, "--device", "cpu"], project)
    assert sorted(p.name for p in out.iterdir()) == ["a_out.png", "b_out.png"]
    assert "rank 0/2: 2 of 3 images" in result.stderr, result.stderr[-2000:]
    assert "rank 1/2: 1 of 3 images" in result.stderr
    assert result.returncode != 0  # the rank with broken.png exits 1, and torchrun says so


def test_an_empty_folder_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """upscale.py's main() in this process, as for the bad requests above."""
    (upscale,) = superres_project.modules("upscale")
    assert upscale.main([str(tmp_path), "--random-weights"]) == 2
    stderr = capsys.readouterr().err
    assert len(stderr.strip().splitlines()) == 1, stderr
