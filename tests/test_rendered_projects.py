"""Every image preset renders into a project that passes ruff, its own contract tests, and
trains. (render refuses tabular presets until issue 10's render slice: tests/test_tabular.py.)

This is the end-to-end promise of ``ganspec render``: the output is not a sketch but a project
that installs (its dependencies are ganspec's dev extras here), lints clean and runs.

Each preset runs its own suite, less what another preset's run already proves on the same
code with the same inputs:

- tests marked `generic` check code that renders to the same bytes for every preset (run
  folder, checksums, and the like): they run once, in GENERIC's
  project (the smallest networks, so the cheapest training runs), and every preset's render of
  those modules is checked to be GENERIC's bytes;
- the two-process torchrun test runs on one preset (dcgan-digits-32: BatchNorm in both
  networks, DDP's one case that needs its own settings), not on all seven; a critic's gradient
  penalty under DDP trains in a one-process gloo group in tests/test_image_training.py;
- the digits classifier's training to > 95% held-out accuracy (the slowest rendered test)
  runs in CLASSIFIER's project; another digits preset skips it only while its features.py,
  config.py, digit_arrays and the settings the classifier reads (data shape, seed, holdout)
  are CLASSIFIER's, so the run there trained the very classifier it would train;
- the README's train.py run (its main(), in this process) of a digits preset scores with the
  classifier its project's suite trained: the file is handed to the project's .cache/ under
  its own name, features.py's cache key, so train.py loads it only where it would have
  trained that very classifier.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from ruff.__main__ import find_ruff_bin

from ganspec.cli import cli
from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import IMAGE_PRESETS, SPECS
from tests.project_imports import project_imports
from tests.project_pytest import run_pytest

GENERIC = "mlp-ring8"
DDP_PRESETS = {"dcgan-digits-32"}
CLASSIFIER = "dcgan-digits-32"
CLASSIFIER_TEST = "tests/test_evaluate.py::test_digits_classifier_recognises_held_out_digits"
SHAPE_CONSTANTS = ("CHANNELS", "HEIGHT", "WIDTH")  # data.py's, read by digit_arrays
# What the rendered tests marked `generic` exercise: it must render to the same bytes for
# every preset, or those tests must run for every preset again.
SPEC_INDEPENDENT_MODULES = (
    "runfolder.py",
    "storage.py",
    "checkpoints.py",
)


def rendered(preset: str) -> dict[str, str]:
    return render_files(validate_file(SPECS / f"{preset}.yaml"), set())


@pytest.fixture(scope="module")
def generic_render() -> dict[str, str]:
    return rendered(GENERIC)


@pytest.fixture(scope="module")
def classifier_render() -> dict[str, str]:
    return rendered(CLASSIFIER)


def function_source(module: str, name: str) -> str | None:
    """The source of a module's top-level function, or None if it has none of that name."""
    for node in ast.parse(module).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return ast.get_source_segment(module, node)
    return None


def classifier_inputs(files: dict[str, str]) -> tuple[object, ...] | None:
    """What the digits classifier test trains on and with; None for a project without it."""
    if "features.py" not in files or function_source(files["data.py"], "digit_arrays") is None:
        return None
    cfg = yaml.safe_load(files["config.yaml"])
    return (
        files["features.py"],
        files["config.py"],
        function_source(files["data.py"], "digit_arrays"),
        [line for line in files["data.py"].splitlines() if line.startswith(SHAPE_CONSTANTS)],
        cfg["data"]["shape"],
        cfg["seed"],
        cfg["validation"]["holdout"],
    )


def suite_arguments(preset: str, proven_elsewhere: bool) -> list[str]:
    """pytest arguments for a preset's own suite: what is not already proven by another."""
    skipped = [] if preset in DDP_PRESETS else ["ddp"]
    if preset != GENERIC:
        skipped.append("generic")
    arguments = ["-m", " and ".join(f"not {marker}" for marker in skipped)] if skipped else []
    return [*arguments, "--deselect", CLASSIFIER_TEST] if proven_elsewhere else arguments


def hand_on_classifier(suite_temp: Path, project: Path) -> bool:
    """Copy the digits classifier the project's suite trained (into its temporary feature
    cache) to the project's .cache/, where train.py's scorer looks; whether there was one."""
    trained = sorted(suite_temp.glob("*/digits_classifier_*.pt"))
    for path in trained:
        (project / ".cache").mkdir(exist_ok=True)
        shutil.copyfile(path, project / ".cache" / path.name)
    return bool(trained)


def run(command: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.parametrize("preset", IMAGE_PRESETS)
def test_rendered_project_lints_passes_its_tests_and_trains(
    preset: str,
    tmp_path: Path,
    generic_render: dict[str, str],
    classifier_render: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
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

    files = {
        str(path.relative_to(project)): path.read_text(encoding="utf-8")
        for path in project.glob("*.*")
        if path.is_file()
    }
    inputs = classifier_inputs(files)  # if they differ, its classifier test runs here too
    proven = preset != CLASSIFIER and inputs is not None
    proven = proven and inputs == classifier_inputs(classifier_render)
    suite_temp = tmp_path / "suite"
    tests = run_pytest(["--basetemp", str(suite_temp), *suite_arguments(preset, proven)], project)
    assert tests.returncode == 0, tests.stdout[-6000:]
    classifier = hand_on_classifier(suite_temp, project)
    assert classifier == (inputs is not None), "a digits project's suite trains its classifier"

    # The README's command on a copy of the project's own config.yaml (its scoring and settings;
    # health.py reads the default ./config.yaml under `ganspec smoke`, tests/test_smoke.py),
    # through train.py's main() in this process, from the project's folder: a process of its
    # own spent ~5 s importing torch and torch._dynamo (torch.optim's import) before its one
    # step, and the script's __main__ line, the same for every spec, runs under torchrun in
    # the DDP preset's suite. One step proves it runs; the suite checks what more steps do.
    # The batch is the suite's, four packs (small() in the project's tests/conftest.py, which
    # also turns scoring off, so it is not called here): on a CPU a full one proves nothing
    # more, and wgan-gp-64's five critic updates at its batch of 64 took 22 s.
    cfg = yaml.safe_load((project / "config.yaml").read_text(encoding="utf-8"))
    cfg["data"]["batch_size"] = 4 * cfg["discriminator"]["pack"]
    config, out = tmp_path / "config.yaml", tmp_path / "run"
    config.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    monkeypatch.chdir(project)
    with project_imports(project) as modules:
        flags = ["--config", str(config), "--max-steps", "1", "--device", "cpu", "--out", str(out)]
        code = modules["train"].main(flags)
    printed = capsys.readouterr()
    assert code == 0, printed.out[-2000:] + printed.err[-2000:]
    assert not classifier or "training the digits classifier" not in printed.out + printed.err
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1]
    assert all(key in rows[0] for key in ("loss_d", "loss_g", "d_real", "d_fake"))
    assert (out / "last.pt").is_file()
    for module in SPEC_INDEPENDENT_MODULES:  # else its tests must run for this preset too
        assert files[module] == generic_render[module], module
    assert "import ganspec" not in "".join(p.read_text() for p in project.rglob("*.py"))
