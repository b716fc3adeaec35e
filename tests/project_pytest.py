"""Run a rendered project's own test suite, as `python -m pytest ARGS` in its folder would,
in a process forked from one that has already imported torch (and SDV).

Each rendered project's session used to be a fresh interpreter that spent 5 s (torch and
torch._dynamo, which torch.optim imports) to 9 s (SDV, which imports torch, scipy and
sdmetrics) of CPU importing the same libraries before its first test: about 100 s of a
2-core suite. A fork of a process that holds them starts in milliseconds. What the session
runs is unchanged: its own rootdir, conftest and modules, in a fresh process per project
(the fork never imported a project module or pytest), with the same environment, except that
pytest loads no third-party plugin: a project's tests use none, and those installed here
(Faker's, which SDV brings, and hypothesis's) cost each session 1-2 s of start-up.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# Imported once per test worker, in the fork server: the libraries every project imports.
PRELOAD = ["torch", "torch._dynamo", "sdv.single_table"]  # absent ones are skipped
REPOSITORY = str(Path(__file__).resolve().parents[1])
# Quiet, and no .pytest_cache written into the project. Callers pass --basetemp: a project's
# session keeps its temporary files under the calling test's tmp_path; in pytest's numbered
# folders instead, each such session would end by deleting the oldest of them (earlier
# sessions' projects and checkpoints, gigabytes) in mid-run.
OPTIONS = ["-q", "-p", "no:cacheprovider"]


def _context() -> multiprocessing.context.ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _session(folder: str, arguments: list[str], log: str) -> None:
    """The child: `python -m pytest ARGUMENTS` in ``folder``, its output into ``log``."""
    os.chdir(folder)
    # As for `python -m`: the project folder first; ganspec's checkout is not a project's.
    sys.path[:] = [folder, *(p for p in sys.path if p not in ("", REPOSITORY))]
    for name in [n for n in sys.modules if n == "tests" or n.startswith("tests.")]:
        del sys.modules[name]  # ganspec's own tests package: a project's tests/ is its own
    output = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(output, 1)
    os.dup2(output, 2)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    code = pytest.main(arguments)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))


def run_pytest(
    arguments: list[str], folder: Path, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """The project's session with ``arguments``; stdout holds its output (stderr too)."""
    arguments = [*OPTIONS, *arguments]
    with tempfile.TemporaryDirectory() as scratch:
        log = Path(scratch) / "pytest.log"
        child = _context().Process(target=_session, args=(str(folder), arguments, str(log)))
        child.start()
        child.join(timeout)
        if child.is_alive():
            child.kill()
            child.join()
            raise subprocess.TimeoutExpired(["pytest", *arguments], timeout)
        output = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return subprocess.CompletedProcess(["pytest", *arguments], child.exitcode or 0, output, "")
