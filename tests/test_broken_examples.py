"""Every spec in ``examples/broken`` produces exactly the diagnostics ``expected.json`` lists.

The folder is both documentation (one common mistake per file) and a contract: the exit code,
and for each important finding its code, line, path and a phrase of its message or fix. A few
files also go through the real CLI, because that is what users and CI run.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from ganspec.diagnostics import Diagnostic
from ganspec.validate import validate_file

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "examples" / "broken"
SPECS = ROOT / "specs"
EXPECTED: dict[str, dict[str, Any]] = json.loads((BROKEN / "expected.json").read_text("utf-8"))
EXAMPLES = sorted(path.name for path in BROKEN.glob("*.yaml"))
JSON_KEYS = {"code", "severity", "message", "path", "file", "line", "column", "fix", "data"}
GITHUB_PREFIXES = ("::error ", "::warning ", "::notice ")

# A spread of outcomes for the CLI checks: shape error, warning only, typo, unusable inputs.
CLI_EXAMPLES = [
    "g-lands-on-63.yaml",
    "adam-beta1-default.yaml",
    "optimizer-key-typo-learning-rat.yaml",
    "duplicate-key-epochs.yaml",
    "empty.yaml",
    "tab-indented.yaml",
    "alias-bomb.yaml",
    "not-utf8-latin1.yaml",
    "data-churn-before-signup.yaml",
    "dp-with-pac-10.yaml",
]


def _describe(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.as_text() for d in diagnostics) or "(no diagnostics)"


def _matches(diagnostic: Diagnostic, wanted: dict[str, Any]) -> bool:
    """Code, spec line, path and wording; and, for a finding a data row shows (tabular), the
    data file's name and line."""
    text = diagnostic.message + " " + (diagnostic.fix or "")
    data = diagnostic.data
    return (
        diagnostic.code == wanted["code"]
        and diagnostic.line == wanted["line"]
        and diagnostic.path == wanted["path"]
        and wanted["contains"] in text
        and (
            "data" not in wanted
            or (
                data is not None
                and Path(data.file).name == wanted["data"]["file"]
                and data.line == wanted["data"]["line"]
            )
        )
    )


def _run_cli(path: Path, fmt: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ganspec", "validate", str(path), "--format", fmt],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


def test_every_broken_example_has_an_expectation_and_every_expectation_a_file() -> None:
    """A file without an entry would go untested; an entry without a file tests nothing."""
    assert EXAMPLES, "examples/broken holds no specs"
    assert sorted(EXPECTED) == EXAMPLES


def test_expectations_are_well_formed() -> None:
    """Catch typos in expected.json itself before they read as ganspec failures."""
    for name, entry in EXPECTED.items():
        assert set(entry) == {"exit", "diagnostics"}, name
        assert entry["exit"] in (0, 1, 2), name
        assert entry["diagnostics"], f"{name}: list the diagnostic that shows what is wrong"
        for wanted in entry["diagnostics"]:
            assert set(wanted) - {"data"} == {"code", "line", "path", "contains"}, name
            assert isinstance(wanted["line"], int) and wanted["line"] >= 1, name
            if "data" in wanted:
                assert set(wanted["data"]) == {"file", "line"}, name
                assert (BROKEN / wanted["data"]["file"]).is_file(), name


@pytest.mark.parametrize("name", EXAMPLES)
def test_broken_example_reports_its_mistake_at_the_right_line(name: str) -> None:
    """The exit code, and each listed diagnostic with its code, line, path and wording."""
    report = validate_file(BROKEN / name)
    entry = EXPECTED[name]
    found = _describe(report.diagnostics)
    assert report.exit_code == entry["exit"], f"{name}: exit {report.exit_code}\n{found}"
    for wanted in entry["diagnostics"]:
        assert any(_matches(d, wanted) for d in report.diagnostics), (
            f"{name}: expected {wanted}\ngot:\n{found}"
        )


@pytest.mark.parametrize("name", EXAMPLES)
def test_broken_example_is_wrong_in_exactly_one_way(name: str) -> None:
    """No other error or warning (wrong lines are the test above's job): one mistake per file."""
    report = validate_file(BROKEN / name)
    wanted = {(w["code"], w["path"]) for w in EXPECTED[name]["diagnostics"]}
    extra = [
        d for d in report.diagnostics if d.severity != "info" and (d.code, d.path) not in wanted
    ]
    assert not extra, f"{name}: unexpected findings:\n{_describe(extra)}"


@pytest.mark.parametrize("name", sorted(path.name for path in SPECS.glob("*.yaml")))
def test_the_presets_the_examples_start_from_are_clean(name: str) -> None:
    """Otherwise a broken example would inherit a second, unrelated mistake."""
    report = validate_file(SPECS / name)
    assert report.exit_code == 0
    # GS801: a superres preset names release weights users download after rendering.
    assert [d for d in report.diagnostics if d.severity != "info" and d.code != "GS801"] == []


@pytest.mark.parametrize("name", CLI_EXAMPLES)
def test_cli_json_output_is_a_list_of_complete_diagnostics(name: str) -> None:
    """CI parses this output: exact keys, same findings as the library, no traceback."""
    path = BROKEN / name
    result = _run_cli(path, "json")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == EXPECTED[name]["exit"], result.stdout + result.stderr
    payload = json.loads(result.stdout)
    assert isinstance(payload, list) and payload
    for item in payload:
        assert isinstance(item, dict) and set(item) == JSON_KEYS, item
        assert isinstance(item["line"], int) and item["line"] >= 1
        assert isinstance(item["column"], int) and item["column"] >= 1
        assert item["message"]
    assert payload == [asdict(d) for d in validate_file(path).diagnostics]


@pytest.mark.parametrize("name", CLI_EXAMPLES)
def test_cli_github_output_is_only_workflow_commands(name: str) -> None:
    """Every line must be a workflow command, or GitHub prints it as noise in the log."""
    result = _run_cli(BROKEN / name, "github")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == EXPECTED[name]["exit"], result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines, "a broken spec must produce at least one annotation"
    for line in lines:
        assert line.startswith(GITHUB_PREFIXES), line
        assert "title=GS" in line, line


def test_cli_on_a_clean_preset_prints_an_empty_json_list_and_exits_0() -> None:
    """The no-findings case of the JSON contract: ``[]``, not empty output."""
    result = _run_cli(SPECS / "dcgan-64.yaml", "json")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_cli_on_a_missing_file_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """A wrong path is unusable input (exit 2), not a crash."""
    result = _run_cli(tmp_path / "nope.yaml", "json")
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2
    (item,) = json.loads(result.stdout)
    assert item["code"] == "GS100" and "no such file" in item["message"]
