"""``ganspec smoke``: a rendered project's own health check, run and reported by ganspec."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ganspec.cli import cli
from ganspec.smoke import HealthReport, check_report, format_report
from tests.conftest import ROOT, SPECS, mutated
from tests.project_imports import project_imports

REPORT_KEYS = {
    "healthy",
    "failed",
    "checks",
    "steps",
    "device",
    "d_real",
    "d_fake",
    "diversity_ratio",
    "seconds_per_step",
    "peak_rss_mib",
    "metrics",
    "samples",
}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def ring8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """mlp-ring8 (the fastest preset) rendered with --smoke, which must come out healthy."""
    project = tmp_path_factory.mktemp("smoke") / "ring8"
    code, out, err = invoke(
        "render",
        str(SPECS / "mlp-ring8.yaml"),
        "--out",
        str(project),
        "--agents",
        "none",
        "--smoke",
    )
    assert code == 0, out + err
    assert out.strip().endswith("healthy") and "✓ PASS  losses_finite" in out
    return project


def test_a_fresh_render_reports_healthy_in_the_json_smoke_reads(
    ring8: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python health.py --steps 3 --json` prints one JSON object, in the shape `ganspec smoke`
    reads. Run in this process, to spare a third start of torch: the fixture's `render --smoke`
    already ran this health.py as `ganspec smoke` runs it, and the stand-ins below check how
    smoke starts a health check and reads its stdout."""
    monkeypatch.chdir(ring8)
    with project_imports(ring8) as modules:
        code = modules["health"].main(["--steps", "3", "--device", "cpu", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err[-3000:]
    report = json.loads(out)
    check_report(report)
    assert set(report) >= REPORT_KEYS
    assert report["healthy"] is True and report["failed"] == []
    assert report["steps"] == 3 and report["device"] == "cpu"
    assert set(report) <= set(HealthReport.model_fields), "fields smoke does not check"
    names = {c["name"] for c in report["checks"]}
    assert {"losses_finite", "gradients_nonzero", "output_shape", "not_collapsed"} <= names
    assert Path(report["metrics"]).is_file() and Path(report["samples"]).is_file()


def documented_smoke_commands(project: Path) -> set[str]:
    """The smoke command(s) a project's README.md and PROMPT.md tell users to run."""
    commands = set()
    for doc in ("README.md", "PROMPT.md"):
        for line in (project / doc).read_text(encoding="utf-8").splitlines():
            command, _, comment = line.partition("#")
            if command.startswith("python ") and "smoke" in comment:
                commands.add(command.strip())
    return commands


def test_the_documented_smoke_command_can_be_run_again(
    ring8: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Users rerun a smoke check after each edit: the one the docs give must not refuse its
    own previous run (exit 2) nor pile copies of it up in previous-<time>/. Run in this
    process, as ``python SCRIPT ARGS`` would run it, to spare a second start of torch."""
    (command,) = documented_smoke_commands(ring8)
    python, script, *args = shlex.split(command)
    assert python == "python" and script.endswith(".py")
    monkeypatch.chdir(ring8)
    with project_imports(ring8) as modules:
        main = modules[script.removesuffix(".py")].main
        assert [main(args), main(args)] == [0, 0]
    assert not list(ring8.glob("runs/**/previous-*"))


def test_overwrite_is_passed_on_to_health_py(tmp_path: Path) -> None:
    """health.py refuses a run it did not write (exit 2) unless told --overwrite."""
    health = "import json, sys\nprint(json.dumps({**%r, 'argv': sys.argv[1:]}))\n"
    project = fake_project(tmp_path / "proj", health % HEALTHY_REPORT)
    for flags, overwrite in (([], False), (["--overwrite"], True)):
        code, out, err = invoke("smoke", str(project), "--json", *flags)
        assert code == 0, err
        assert ("--overwrite" in json.loads(out)["argv"]) is overwrite


def test_a_learning_rate_of_10_fails_the_finite_loss_check(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        mutated(
            "mlp-ring8",
            {"training.optimizers.generator.lr": 10, "training.optimizers.discriminator.lr": 10},
        )
    )
    project = tmp_path / "project"
    code, out, err = invoke("render", str(spec), "--out", str(project), "--agents", "none")
    assert code == 0, out + err  # only warnings: the spec renders
    code, out, err = invoke("smoke", str(project), "--device", "cpu")
    assert code == 1, out + err
    assert "✗ FAIL  losses_finite" in out
    assert out.strip().splitlines()[-1].startswith("unhealthy: ") and "losses_finite" in out
    assert "Traceback" not in out + err


def test_a_folder_that_is_not_a_rendered_project_exits_2(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("name: x\n")
    code, out, err = invoke("smoke", str(tmp_path))
    assert code == 2
    assert "not a project rendered by ganspec" in err and ".ganspec/manifest.json" in err
    assert out == ""


def test_a_health_check_that_prints_no_report_exits_2_with_its_stderr(tmp_path: Path) -> None:
    (tmp_path / ".ganspec").mkdir()
    (tmp_path / ".ganspec" / "manifest.json").write_text("{}")
    (tmp_path / "config.yaml").write_text("name: x\n")
    (tmp_path / "health.py").write_text(
        "import sys\nprint('ModuleNotFoundError: no torch here', file=sys.stderr)\nsys.exit(1)\n"
    )
    code, _, err = invoke("smoke", str(tmp_path), "--json")
    assert code == 2
    assert "printed no report" in err and "no torch here" in err


# --- health.py stand-ins: how smoke copes with what a project's check may do ------------------

HEALTHY_REPORT: dict[str, Any] = {
    "healthy": True,
    "failed": [],
    "checks": [{"name": "losses_finite", "status": "pass", "detail": "finite"}],
}
# health.py that starts a worker of its own, writes both process ids, then hangs.
HANGS = """
    import os, subprocess, sys, time
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open("pids.tmp", "w") as f:
        f.write(f"{os.getpid()} {worker.pid}")
    os.replace("pids.tmp", "pids")
    print("training, step 1 of 6", file=sys.stderr, flush=True)
    time.sleep(60)
"""


def fake_project(folder: Path, health: str) -> Path:
    """A folder smoke accepts as a rendered project, whose health.py is ``health``."""
    (folder / ".ganspec").mkdir(parents=True)
    (folder / ".ganspec" / "manifest.json").write_text("{}")
    (folder / "config.yaml").write_text("name: x\n")
    (folder / "health.py").write_text(textwrap.dedent(health))
    return folder


def printing(report: dict[str, Any]) -> str:
    """health.py that prints ``report`` as its JSON line."""
    return f"import json\nprint(json.dumps({report!r}))\n"


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie (an orphan's reaper may be slow)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        return True
    return state != "Z"


def all_stopped(pids: list[int], within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(running(pid) for pid in pids)


def wait_for_pids(project: Path, within: float = 20.0) -> list[int]:
    deadline = time.monotonic() + within
    while not (project / "pids").exists():
        assert time.monotonic() < deadline, "health.py never started"
        time.sleep(0.02)
    return [int(pid) for pid in (project / "pids").read_text().split()]


@pytest.mark.skipif(os.name != "posix", reason="a POSIX venv layout")
def test_a_relative_project_runs_its_own_venv_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    health = "import json, sys\nprint(json.dumps({**%r, 'python': sys.executable}))\n"
    project = fake_project(tmp_path / "proj", health % HEALTHY_REPORT)
    python = project / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke("smoke", "proj", "--json")
    assert code == 0, err
    assert json.loads(out)["python"] == str(python)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
def test_a_health_check_past_its_timeout_is_stopped_with_its_workers(tmp_path: Path) -> None:
    project = fake_project(tmp_path / "proj", HANGS)
    started = time.monotonic()
    code, out, err = invoke("smoke", str(project), "--timeout", "1")
    assert time.monotonic() - started < 15
    assert code == 2 and out == ""
    assert "did not finish within 1 s" in err and "--timeout" in err
    assert "training, step 1 of 6" in err  # the end of its output says where it hung
    assert all_stopped(wait_for_pids(project))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process states in /proc")
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_ganspec_stops_health_py_and_its_workers(
    tmp_path: Path, signum: signal.Signals
) -> None:
    project = fake_project(tmp_path / "proj", HANGS)
    smoke = subprocess.Popen(
        [sys.executable, "-m", "ganspec", "smoke", str(project), "--json"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pids = wait_for_pids(project)
        smoke.send_signal(signum)
        out, err = smoke.communicate(timeout=20)
    finally:
        smoke.kill()
    assert smoke.returncode == 128 + signum, err
    assert "health.py was stopped" in err and "Traceback" not in err and out == ""
    assert all_stopped(pids)


def test_a_flood_of_output_keeps_only_its_end_for_the_message(tmp_path: Path) -> None:
    flood = """
        import sys
        for _ in range(64):
            sys.stderr.write("x" * 65536)  # one endless line
        sys.stderr.write("\\nRuntimeError: the last words\\n")
        sys.exit(1)
    """
    code, _, err = invoke("smoke", str(fake_project(tmp_path / "proj", flood)))
    assert code == 2 and "RuntimeError: the last words" in err
    assert len(err) < 100_000  # of the 4 MiB written


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_chatty_health_check_does_not_grow_ganspec(tmp_path: Path) -> None:
    chatty = f"""
        import sys
        chunk = b"progress " * 116508 + b"\\n"  # about 1 MiB
        for _ in range(256):
            sys.stderr.buffer.write(chunk)
            sys.stdout.buffer.write(chunk)
        print({json.dumps(HEALTHY_REPORT)!r})
    """
    project = fake_project(tmp_path / "proj", chatty)
    measure = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "ganspec", "smoke", str(project)],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    code, peak_kib = map(int, result.stdout.split())
    assert code == 0  # the report after 512 MiB of chatter is still read
    assert peak_kib < 200 * 1024  # KiB: ganspec's own imports, not the chatter


@pytest.mark.parametrize(
    "report",
    [
        {"healthy": "no", "failed": [], "checks": HEALTHY_REPORT["checks"]},
        {"healthy": True, "failed": [], "checks": "abc"},
        {"healthy": True, "failed": [], "checks": []},
        {"healthy": True, "failed": [], "checks": [{"name": "x", "status": "fine"}]},
        {"healthy": True, "failed": [], "checks": [{"name": "x", "status": "fail"}]},
        {"healthy": True, "failed": ["x"], "checks": HEALTHY_REPORT["checks"]},
        {**HEALTHY_REPORT, "d_real": "abc"},
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_malformed_report_exits_2_and_is_never_healthy(
    tmp_path: Path, report: dict[str, Any], as_json: bool
) -> None:
    project = fake_project(tmp_path / "proj", printing(report))
    code, out, err = invoke("smoke", str(project), *(["--json"] if as_json else []))
    assert code == 2 and out == ""
    assert "malformed report" in err


def test_a_well_formed_report_from_a_stand_in_is_believed(tmp_path: Path) -> None:
    project = fake_project(tmp_path / "proj", printing(HEALTHY_REPORT))
    code, out, _ = invoke("smoke", str(project))
    assert code == 0 and out.strip().endswith("healthy")


def test_render_smoke_of_a_project_whose_training_crashes_is_unhealthy(tmp_path: Path) -> None:
    """A user's edit breaks training; render --smoke over the project says so. (Rendered here
    without --smoke: the ring8 fixture's health run is not needed, and xdist may place this
    test on a worker that has not built it.)"""
    project, spec = tmp_path / "ring8", str(SPECS / "mlp-ring8.yaml")
    code, out, err = invoke("render", spec, "--out", str(project), "--agents", "none")
    assert code == 0, out + err
    with (project / "models.py").open("a") as models:  # an edit that breaks G's forward
        models.write(
            "\n\ndef broken(*_):\n    raise RuntimeError('boom: G is broken')\n\n\n"
            "Generator.forward = broken\n"
        )
    code, out, err = invoke("render", spec, "--out", str(project), "--agents", "none", "--smoke")
    assert code == 1, out + err
    assert "✗ FAIL  no_crash: RuntimeError: boom: G is broken" in out
    assert "raise RuntimeError('boom: G is broken')" in out  # the crash's last lines
    assert out.strip().splitlines()[-1] == "unhealthy: no_crash"


def test_a_tabular_report_reads_in_epochs_without_gan_figures() -> None:
    """A tabular project's health report has no D(real)/D(fake) or diversity to show, fits in
    epochs, and may carry the privacy spent."""
    report = {
        "healthy": True,
        "checks": [{"name": "contract", "status": "pass", "detail": "200 rows"}],
        "steps": 2,
        "steps_requested": 2,
        "step_unit": "epoch",
        "device": "cpu",
        "data_source": "customers",
        "seconds_per_step": 1.5,
        "peak_rss_mib": 500.0,
        "privacy": {"epsilon_spent": 2.99, "epsilon_target": 3.0, "delta": 1e-05},
    }
    check_report(report)
    text = format_report(report)
    assert "2/2 epochs on cpu" in text and "1.5 s/epoch (mean)" in text
    assert "epsilon 2.99 of 3 spent" in text
    assert "D(real)" not in text and "diversity" not in text and "metrics:" not in text
