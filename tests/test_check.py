"""``ganspec check``: a spec's contracts run against someone's code, reported by surface.

The report logic is checked on small hand-written test files and pytest results; the whole
command on a rendered project, as it is, with a seeded defect, and without code at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ganspec.check import Outcome, outcomes
from ganspec.cli import cli
from ganspec.contracts import contracts_in
from tests.conftest import SPECS

TESTS = '''
import pytest

pytestmark = pytest.mark.surface("training loop")


def test_default_surface():
    """Takes the module's surface.

    More words."""


@pytest.mark.surface("generator")
def test_own_surface():
    pass


@pytest.mark.parametrize("n", [1, 2])
def test_parametrized(n):
    pass


class TestGroup:
    @pytest.mark.surface("data pipeline")
    def test_in_class(self):
        pass


def helper():
    pass
'''


def test_contracts_are_listed_with_their_surface_and_summary() -> None:
    found = contracts_in({"tests/test_a.py": TESTS, "tests/conftest.py": "def test_no(): pass"})
    assert [(c.name, c.surface) for c in found] == [
        ("test_default_surface", "training loop"),
        ("test_own_surface", "generator"),
        ("test_parametrized", "training loop"),
        ("TestGroup::test_in_class", "data pipeline"),
    ]
    assert found[0].summary == "Takes the module's surface."
    assert found[1].summary == "own surface"  # no docstring: the name in words
    assert found[3].nodeid == "tests/test_a.py::TestGroup::test_in_class"


def verdicts(rows: list[dict[str, str]]) -> dict[str, Outcome]:
    contracts = contracts_in({"tests/test_a.py": TESTS})
    return {o.contract.name: o for o in outcomes(contracts, rows)}


def row(nodeid: str, outcome: str = "passed", message: str = "") -> dict[str, str]:
    return {"nodeid": f"tests/test_a.py{nodeid}", "outcome": outcome, "message": message}


def test_a_contract_passes_only_when_every_run_of_it_passed() -> None:
    rows = [
        row("::test_default_surface"),
        row("::test_own_surface", "failed", "long report\nE   assert 63 == 64\nmore"),
        row("::test_parametrized[1]"),
        row("::test_parametrized[2]", "skipped", "no GPU"),
    ]
    found = verdicts(rows)
    assert found["test_default_surface"].passed
    assert not found["test_own_surface"].passed
    assert found["test_own_surface"].message == "E   assert 63 == 64"
    assert not found["test_parametrized"].passed  # a skipped run proves nothing
    assert found["test_parametrized"].message.startswith("skipped")
    assert not found["TestGroup::test_in_class"].passed  # never ran
    assert "did not run" in found["TestGroup::test_in_class"].message


def test_a_file_that_cannot_be_imported_fails_every_contract_in_it() -> None:
    error = "ModuleNotFoundError: No module named 'config'"
    found = verdicts([{"nodeid": "tests/test_a.py", "outcome": "error", "message": error}])
    assert all(not o.passed and "No module named 'config'" in o.message for o in found.values())


def render(preset: str, out: Path) -> Path:
    result = CliRunner().invoke(cli, ["render", str(SPECS / f"{preset}.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def ring(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlp-ring8 rendered: the cheapest preset to train."""
    return render("mlp-ring8", tmp_path_factory.mktemp("check") / "ring")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def check(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(cli, ["check", *args, "--format", "json"])
    return result.exit_code, json.loads(result.output) if result.output.startswith("{") else {}


def seeded(project: Path, tmp_path: Path, module: str, *edits: tuple[str, str]) -> Path:
    """A copy of ``project`` with one defect: each ``(old, new)`` edit made in ``module``."""
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    text = (broken / module).read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    (broken / module).write_text(text, encoding="utf-8")
    return broken


def failures(report: dict[str, Any]) -> dict[str, list[str]]:
    """The failing contracts' test names under each surface."""
    return {
        surface: [f["contract"].split("::")[-1] for f in found["failed"]]
        for surface, found in report["surfaces"].items()
        if found["failed"]
    }


def test_a_rendered_project_passes_and_is_left_unchanged(
    ring: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checked folder is left as it was, and so are pytest's shared temporary folders: the
    contracts' run keeps its temporary files in the copy."""
    shared = tmp_path / "pytest-shared"
    shared.mkdir()
    monkeypatch.setenv("PYTEST_DEBUG_TEMPROOT", str(shared))
    before = snapshot(ring)
    code, report = check(
        str(ring), "--surface", "generator", "--surface", "training-loop", "--contract", "generator"
    )
    assert code == 0, report
    assert report["failed"] == 0 and report["passed"] >= 3
    assert snapshot(ring) == before  # no run folder, cache or bytecode left in it
    assert not any(shared.iterdir())


def test_a_g_step_that_updates_d_fails_the_training_loop(ring: Path, tmp_path: Path) -> None:
    unfrozen = ("    gan.discriminator.requires_grad_(False)\n", "")
    update = '"grad_norm_g" in cfg["validation"]["log"])\n'
    stepped = (update, f"{update}        gan.opt_d.step()\n")  # D steps on G's loss
    broken = seeded(ring, tmp_path, "train.py", unfrozen, stepped)
    code, report = check(str(broken), "--contract", "step_leaves")
    assert code == 1
    assert failures(report) == {
        "training loop": ["test_generator_step_leaves_discriminator_unchanged"]
    }


def test_a_missing_nan_stop_fails_the_training_loop(ring: Path, tmp_path: Path) -> None:
    """The NaN report is written but the run goes on past the bad step (it does not crash:
    the contract must catch a run that keeps training, not an error)."""
    stop = ("    raise NonFiniteLoss(bad.loss, bad.value, report)\n", "")
    go_on = "        non_finite(run, bad, epoch)\n"
    skip = (go_on, f"{go_on}        d_values = g_values = {{}}\n")  # the bad step logs nothing
    broken = seeded(ring, tmp_path, "train.py", stop, skip)
    code, report = check(str(broken), "--contract", "nan_loss")
    assert code == 1
    assert set(failures(report)) == {"training loop"}
    failed = report["surfaces"]["training loop"]["failed"]
    stops = [f for f in failed if f["contract"].split("::")[-1].startswith("test_nan_loss_stops")]
    assert stops and "Error" not in stops[0]["message"], stops  # an exit-code assertion


def test_a_generator_that_lands_on_63x63_fails_the_generator(tmp_path: Path) -> None:
    project = render("dcgan-64", tmp_path / "dcgan")
    old = "nn.ConvTranspose2d(64, 3, 4, 2, 1, bias=False)"
    broken = seeded(project, tmp_path, "models.py", (old, old.replace("3, 4, 2", "3, 3, 2")))
    code, report = check(str(broken), "--contract", "generator_output")
    assert code == 1
    assert failures(report) == {"generator": ["test_generator_output_has_data_shape_and_range"]}
    message = report["surfaces"]["generator"]["failed"][0]["message"]
    assert "63" in message


def test_code_without_the_interface_fails_every_contract_by_name(tmp_path: Path) -> None:
    """A contracts-only render nobody implemented yet: the tests cannot import the code."""
    out = tmp_path / "contracts"
    spec = str(SPECS / "mlp-ring8.yaml")
    result = CliRunner().invoke(cli, ["render", spec, "--out", str(out), "--contracts-only"])
    assert result.exit_code == 0, result.output
    assert (out / "tests" / "test_contracts.py").is_file() and (out / "PROMPT.md").is_file()
    assert not (out / "train.py").exists() and not (out / "models.py").exists()
    prompt = (out / "PROMPT.md").read_text(encoding="utf-8")
    assert "contracts, not an implementation" in prompt and "ganspec check ." in prompt
    assert "You are working in a PyTorch project rendered by ganspec" not in prompt
    code, report = check(str(out))
    assert code == 1 and report["passed"] == 0 and report["failed"] > 10
    messages = {f["message"] for found in report["surfaces"].values() for f in found["failed"]}
    assert all("No module named" in message for message in messages)


def test_a_folder_that_cannot_be_checked_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["check", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "is not a folder" in missing.output
    no_spec = runner.invoke(cli, ["check", str(tmp_path)])
    assert no_spec.exit_code == 2 and "--spec" in no_spec.output
    (tmp_path / "bad.yaml").write_text("ganspec: 1\nkind: image\n", encoding="utf-8")
    invalid = runner.invoke(cli, ["check", str(tmp_path), "--spec", str(tmp_path / "bad.yaml")])
    assert invalid.exit_code == 2 and "does not validate" in invalid.output
