"""``ganspec check``: run a spec's contract tests against the code in a folder.

The folder is copied to a temporary place (without its runs, virtual environments and
caches), the spec's own contract files (its tests, and what they read as the spec's
statement) are written over the copy, and the project's interpreter runs pytest there with a
small plugin that records each test's outcome. The folder itself is never changed. Each
contract is reported under its GAN surface; a test file that cannot even be imported fails
every contract in it, with the import error as the message. Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ganspec.child import Interrupted, TimedOut, run_bounded
from ganspec.contracts import SURFACES, Contract, contract_files, contracts_in
from ganspec.render.writer import SPEC_COPY
from ganspec.smoke import project_python

EXIT_PASSED, EXIT_FAILED, EXIT_UNCHECKABLE = 0, 1, 2
DEFAULT_TIMEOUT_S = 1800.0  # a project's whole contract suite, a DDP launch included
# Never copied: what a run or a tool left, which the contracts do not read.
NOT_COPIED = {
    ".git",
    ".venv",
    "venv",
    "runs",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "node_modules",
}
PLUGIN = "ganspec_contract_report"
PLUGIN_SOURCE = '''"""Written by ganspec check: records each test's outcome for it."""

import json
import os

RESULTS = os.environ["GANSPEC_CHECK_RESULTS"]
_rows = []


def pytest_configure(config):
    config.addinivalue_line("markers", "surface(name): the GAN surface a contract checks")


def pytest_collectreport(report):
    if report.failed:
        _rows.append({"nodeid": report.nodeid, "outcome": "error", "message": str(report.longrepr)})


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        message = "" if report.passed else str(report.longrepr)
        if report.skipped and isinstance(report.longrepr, tuple):
            message = report.longrepr[2]
        _rows.append({"nodeid": report.nodeid, "outcome": report.outcome, "message": message})


def pytest_sessionfinish(session):
    with open(RESULTS, "w", encoding="utf-8") as f:
        json.dump(_rows, f)
'''
MESSAGE_LINES = 12  # of a failure's report, kept for the reader


class Uncheckable(Exception):
    """The folder cannot be checked: missing, no spec, an invalid one, or no test run (exit 2)."""


@dataclass
class Outcome:
    contract: Contract
    passed: bool
    message: str = ""  # why it failed: the assertion, error or import failure


@dataclass
class CheckResult:
    folder: Path
    spec: Path
    kind: str
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return EXIT_PASSED if all(o.passed for o in self.outcomes) else EXIT_FAILED

    def by_surface(self) -> dict[str, list[Outcome]]:
        """The outcomes under each surface, in SURFACES order (then any other, unassigned)."""
        groups: dict[str, list[Outcome]] = {name: [] for name in SURFACES}
        for outcome in self.outcomes:
            groups.setdefault(outcome.contract.surface or "unassigned", []).append(outcome)
        return {name: found for name, found in groups.items() if found}

    def as_dict(self) -> dict[str, Any]:
        passed = sum(o.passed for o in self.outcomes)
        return {
            "folder": str(self.folder),
            "spec": str(self.spec),
            "kind": self.kind,
            "passed": passed,
            "failed": len(self.outcomes) - passed,
            "surfaces": {
                name: {
                    "passed": sum(o.passed for o in found),
                    "failed": [
                        {
                            "contract": o.contract.nodeid,
                            "summary": o.contract.summary,
                            "message": o.message,
                        }
                        for o in found
                        if not o.passed
                    ],
                }
                for name, found in self.by_surface().items()
            },
        }


def find_spec(folder: Path, spec: Path | None) -> Path:
    """The spec given, else the copy render keeps in the folder."""
    if spec is not None:
        return spec
    if (folder / SPEC_COPY).is_file():
        return folder / SPEC_COPY
    raise Uncheckable(
        f"{folder} has no {SPEC_COPY} (rendered by an older ganspec, or not rendered at all): "
        "name the spec with --spec SPEC"
    )


def spec_contracts(spec: Path) -> tuple[str, dict[str, str]]:
    """The spec's kind and its contract files, rendered; Uncheckable when it has errors."""
    from ganspec.render.pipeline import render_files
    from ganspec.validate import validate_file

    report = validate_file(spec)
    if report.spec is None or report.exit_code != 0:
        errors = [f"{d.code} {d.message}" for d in report.diagnostics if d.severity == "error"]
        raise Uncheckable(
            f"{spec} does not validate ({'; '.join(errors[:3]) or 'unreadable'}); run "
            f"`ganspec validate {spec}`"
        )
    kind = report.spec.kind
    return kind, contract_files(kind, render_files(report, set()))


def copy_project(folder: Path, target: Path) -> None:
    """``folder`` without runs, environments and caches, links kept as links."""

    def skipped(_where: str, names: list[str]) -> set[str]:
        return {name for name in names if name in NOT_COPIED}

    shutil.copytree(folder, target, symlinks=True, ignore=skipped)


def write_contracts(target: Path, files: dict[str, str]) -> None:
    """The spec's contracts over the copy: its tests replace the copy's tests/ entirely."""
    shutil.rmtree(target / "tests", ignore_errors=True)
    for path, text in files.items():
        destination = target / path
        if destination.is_symlink() or destination.is_dir():
            raise Uncheckable(f"{path} in the folder is a link or folder, where a file is due")
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")


def run_contracts(
    project: Path, python: str, timeout: float, selected: list[str]
) -> list[dict[str, str]]:
    """pytest over the ``selected`` tests of the copy with the reporting plugin; its rows."""
    plugin_dir = project.parent / "plugin"
    plugin_dir.mkdir()
    (plugin_dir / f"{PLUGIN}.py").write_text(PLUGIN_SOURCE, encoding="utf-8")
    results = project.parent / "results.json"
    path = os.pathsep.join(p for p in (str(plugin_dir), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "GANSPEC_CHECK_RESULTS": str(results)}
    command = [python, "-m", "pytest", "-p", PLUGIN, "-p", "no:cacheprovider", "-p", "no:xdist"]
    # Faker's plugin, which every SDV install brings, serves no contract and took 2 s a run.
    command += ["-p", "no:faker"]
    # Its temporary files stay in the copy: in pytest's shared numbered folders, each session
    # would delete the oldest ones, perhaps those of a session the user is running.
    command += ["--basetemp", str(project.parent / "pytest-temp")]
    command += ["-o", "addopts=", "-q", *selected]
    try:
        done = run_bounded(command, project, env, timeout, 1 << 20, 64 << 10)
    except TimedOut:
        raise Uncheckable(f"the contract tests did not finish within {timeout:g} s") from None
    except OSError as error:
        raise Uncheckable(f"cannot run {python}: {error}") from None
    output = done.stderr.text() + done.stdout.text()
    if not results.is_file() and "while loading conftest" in output:
        # tests/conftest.py itself cannot import the code: no contract can run
        return [{"nodeid": "", "outcome": "error", "message": output}]
    if not results.is_file():
        raise Uncheckable(
            f"pytest did not run (exit {done.returncode}); is pytest installed for {python}? "
            f"{done.stderr.text().strip()[-500:] or done.stdout.text().strip()[-500:]}"
        )
    return json.loads(results.read_text(encoding="utf-8"))


def outcomes(contracts: list[Contract], rows: list[dict[str, str]]) -> list[Outcome]:
    """Each contract's verdict: passed when every run of it (each parametrization) passed and
    none was skipped; a file that failed to collect fails every contract in it (all of them,
    when the error is in tests/conftest.py: nodeid "")."""
    found = []
    for contract in contracts:
        mine = [r for r in rows if _nodeid_base(r["nodeid"]) == contract.nodeid]
        broken = [r for r in rows if r["outcome"] == "error" and r["nodeid"] in ("", contract.file)]
        bad = broken or [r for r in mine if r["outcome"] != "passed"]
        if not mine and not broken:
            bad = [{"message": "did not run (deselected, or the run stopped before it)"}]
        message = _short(bad[0]["message"]) if bad else ""
        if bad and bad[0].get("outcome") == "skipped":
            message = f"skipped: {message}"
        found.append(Outcome(contract, not bad, message))
    return found


def _nodeid_base(nodeid: str) -> str:
    return nodeid.split("[", 1)[0]


def _short(message: str) -> str:
    """The end of a failure report: where the assertion or error is."""
    lines = [line for line in message.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    return "\n".join((errors or lines)[-MESSAGE_LINES:])


def check(
    folder: Path,
    spec: Path | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
    surfaces: tuple[str, ...] = (),
    names: tuple[str, ...] = (),
) -> CheckResult:
    """Run ``spec``'s contracts (only those on ``surfaces`` and whose test name contains one
    of ``names``, when given) against the code in ``folder``, which is left unchanged."""
    if not folder.is_dir():
        raise Uncheckable(f"{folder} is not a folder")
    spec = find_spec(folder, spec)
    kind, files = spec_contracts(spec)
    contracts = [
        c
        for c in contracts_in(files)
        if (not surfaces or c.surface in surfaces)
        and (not names or any(n in c.name for n in names))
    ]
    if not contracts:
        raise Uncheckable(f"{spec} has no contracts {_selection(surfaces, names)}")
    chosen = surfaces or names
    selected = list(dict.fromkeys(c.nodeid for c in contracts)) if chosen else ["tests"]
    python = project_python(folder)
    with tempfile.TemporaryDirectory(prefix="ganspec-check-") as temp:
        project = Path(temp) / "project"
        copy_project(folder, project)
        write_contracts(project, files)
        rows = run_contracts(project, python, timeout, selected)
    return CheckResult(folder, spec, kind, outcomes(contracts, rows))


def _selection(surfaces: tuple[str, ...], names: tuple[str, ...]) -> str:
    parts = [f"on {', '.join(surfaces)}"] if surfaces else []
    parts += [f"named like {', '.join(names)}"] if names else []
    return " and ".join(parts) or "at all"


def format_report(result: CheckResult) -> str:
    passed = sum(o.passed for o in result.outcomes)
    lines = [
        f"{result.folder} against {result.spec} ({result.kind}): "
        f"{passed} of {len(result.outcomes)} contracts pass"
    ]
    shown: set[str] = set()  # each error is printed once
    for name, found in result.by_surface().items():
        ok = sum(o.passed for o in found)
        lines.append(f"  {'PASS' if ok == len(found) else 'FAIL'}  {name}: {ok}/{len(found)}")
        for outcome in found:
            if not outcome.passed:
                lines.append(f"        {outcome.contract.nodeid}")
                lines.append(f"          {outcome.contract.summary}")
                if outcome.message in shown:
                    lines.append("          | (the same error as above)")
                    continue
                shown.add(outcome.message)
                lines += [f"          | {line}" for line in outcome.message.splitlines()]
    return "\n".join(lines)


__all__ = ["CheckResult", "Interrupted", "Uncheckable", "check", "format_report"]
