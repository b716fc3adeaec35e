"""``ganspec check``: a spec's contracts run against someone's code, reported by surface.

The report logic is checked on small hand-written test files and pytest results; the whole
command on a rendered project, as it is, with a seeded defect, and without code at all."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

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


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlp-ring8 rendered (the cheapest preset to train)."""
    out = tmp_path_factory.mktemp("check") / "ring"
    result = CliRunner().invoke(cli, ["render", str(SPECS / "mlp-ring8.yaml"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def check(*args: str) -> tuple[int, dict]:
    result = CliRunner().invoke(cli, ["check", *args, "--format", "json"])
    return result.exit_code, json.loads(result.output) if result.output.startswith("{") else {}


def test_a_rendered_project_passes_its_generator_contracts_and_is_left_unchanged(
    project: Path,
) -> None:
    before = snapshot(project)
    code, report = check(str(project), "--surface", "generator")
    assert code == 0, report
    assert report["failed"] == 0 and set(report["surfaces"]) == {"generator"}
    assert report["surfaces"]["generator"]["passed"] >= 2
    assert snapshot(project) == before


def test_a_generator_that_lands_on_the_wrong_size_fails_the_generator_surface(
    project: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(project, broken)
    models = broken / "models.py"
    text = models.read_text(encoding="utf-8")
    assert "nn.Linear(512, 2)" in text
    models.write_text(text.replace("nn.Linear(512, 2)", "nn.Linear(512, 3)"), encoding="utf-8")
    code, report = check(str(broken), "--surface", "generator")
    assert code == 1
    failed = report["surfaces"]["generator"]["failed"]
    assert failed and any("shape" in f["summary"].lower() or "3" in f["message"] for f in failed)


def test_code_without_the_interface_fails_every_contract_by_name(
    project: Path, tmp_path: Path
) -> None:
    """A contracts-only folder nobody implemented yet: the tests cannot import the modules."""
    empty = tmp_path / "empty"
    empty.mkdir()
    code, report = check(
        str(empty), "--spec", str(SPECS / "mlp-ring8.yaml"), "--surface", "generator"
    )
    assert code == 1
    messages = [f["message"] for f in report["surfaces"]["generator"]["failed"]]
    assert messages and all("No module named" in m for m in messages)


def test_a_folder_that_cannot_be_checked_exits_2(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(cli, ["check", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "is not a folder" in missing.output
    no_spec = runner.invoke(cli, ["check", str(tmp_path)])
    assert no_spec.exit_code == 2 and "--spec" in no_spec.output
    (tmp_path / "bad.yaml").write_text("ganspec: 1\nkind: image\n", encoding="utf-8")
    invalid = runner.invoke(cli, ["check", str(tmp_path), "--spec", str(tmp_path / "bad.yaml")])
    assert invalid.exit_code == 2 and "does not validate" in invalid.output
