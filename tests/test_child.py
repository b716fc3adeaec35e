"""run_bounded: a signal to ganspec, whenever it comes, stops the child's whole group.

A signal is most likely while the child runs (tests/test_smoke.py covers that through the
CLI); these send one at the two moments a raising handler used to skip the cleanup: right
after the child starts, and while a timed-out child is being stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ganspec import child
from ganspec.child import Interrupted, run_bounded

posix_main_thread = pytest.mark.skipif(
    os.name != "posix" or threading.current_thread() is not threading.main_thread(),
    reason="process groups and signal handlers: POSIX, main thread",
)

# A child that ignores SIGTERM, so only the SIGKILL at the end of the grace period stops it.
STUBBORN = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(60)\n"


def _gone(process: subprocess.Popen[bytes], within: float = 5.0) -> bool:
    """Whether the child was stopped and reaped (run_bounded waits for what it stops)."""
    deadline = time.monotonic() + within
    while process.returncode is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return process.returncode is not None


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Clean up after a failing run: a child run_bounded left running."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@posix_main_thread
def test_a_signal_just_after_the_child_starts_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def popen_then_signal(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)
        started.append(process)
        os.kill(os.getpid(), signal.SIGTERM)  # handled before run_bounded's next line
        return process

    monkeypatch.setattr(child.subprocess, "Popen", popen_then_signal)
    try:
        with pytest.raises(Interrupted) as caught:
            run_bounded(
                [sys.executable, "-c", "import time; time.sleep(60)"],
                tmp_path,
                os.environ,
                timeout=30,
                stdout_limit=1000,
                stderr_limit=1000,
            )
        assert caught.value.signum == signal.SIGTERM
        assert _gone(started[0]), "the child outlived run_bounded"
    finally:
        for process in started:
            _kill_group(process)


@posix_main_thread
def test_a_signal_while_a_timed_out_child_is_stopped_still_kills_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal comes during the grace period after SIGTERM; the SIGKILL must still follow,
    and the caller hears of the signal (it exits 128 + signum)."""
    monkeypatch.setattr(child, "GRACE_S", 0.3)
    started: list[subprocess.Popen[bytes]] = []
    real_popen, real_exited = subprocess.Popen, child._exited

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    def signalled_while_stopping(pid: int) -> bool:
        os.kill(os.getpid(), signal.SIGTERM)
        return real_exited(pid)

    monkeypatch.setattr(child.subprocess, "Popen", popen)
    monkeypatch.setattr(child, "_exited", signalled_while_stopping)
    try:
        with pytest.raises(Interrupted) as caught:
            run_bounded(
                [sys.executable, "-c", STUBBORN],
                tmp_path,
                os.environ,
                timeout=1.0,
                stdout_limit=1000,
                stderr_limit=1000,
            )
        assert caught.value.signum == signal.SIGTERM
        assert _gone(started[0]), "the child outlived run_bounded"
    finally:
        for process in started:
            _kill_group(process)
