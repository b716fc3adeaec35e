"""Run a child process that cannot outlive, outrun or out-talk the command that started it.

``ganspec smoke`` runs a project's ``health.py``, which trains, may start data-loading workers
of its own, may hang and may print without end. So the child gets its own process group (the
whole group is stopped on a timeout, or when ganspec gets SIGINT/SIGTERM/SIGHUP), and its
output is read as it comes, keeping only the last bytes of each stream.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

POSIX = os.name == "posix"
GRACE_S = 3.0  # after SIGTERM, before SIGKILL
DRAIN_S = 2.0  # after the child exits, for the streams to close
_READ = 1 << 16
_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Stopped(Exception):
    """The child was stopped before it finished; ``stderr`` holds the end of its stderr."""

    stderr = ""


class TimedOut(Stopped):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"did not finish within {seconds:g} s")
        self.seconds = seconds


class Interrupted(Stopped):
    """The parent got a signal: the child was stopped, the parent should exit 128 + signum."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


class Tail:
    """The last ``limit`` bytes of a stream (trimmed in large steps: linear in the input)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.data, self.dropped = limit, bytearray(), 0

    def add(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > 2 * self.limit:
            excess = len(self.data) - self.limit
            del self.data[:excess]
            self.dropped += excess

    def text(self) -> str:
        kept = self.data[-self.limit :]
        return bytes(kept).decode("utf-8", errors="replace")

    @property
    def complete(self) -> bool:
        return self.dropped == 0 and len(self.data) <= self.limit


@dataclass
class Finished:
    returncode: int
    stdout: Tail
    stderr: Tail


def _drain(stream: IO[bytes], tail: Tail) -> None:
    with contextlib.suppress(OSError, ValueError):
        while chunk := os.read(stream.fileno(), _READ):
            tail.add(chunk)


@contextlib.contextmanager
def _signals_raise() -> Iterator[None]:
    """While inside, the first SIGINT/SIGTERM/SIGHUP raises Interrupted (main thread only:
    elsewhere Python cannot set handlers, and the defaults stay)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    raised: list[int] = []

    def handler(signum: int, _frame: FrameType | None) -> None:
        if not raised:  # a second signal must not cut the cleanup short
            raised.append(signum)
            raise Interrupted(signum)

    previous = {number: signal.signal(number, handler) for number in _SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _signal_group(pid: int, number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, number)


def _exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it: while it is a zombie its process
    group id cannot be given to another process, so signalling the group stays safe."""
    if not hasattr(os, "waitid"):
        return False  # the whole grace period, then
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the child's whole group, SIGKILL to what is left after a grace period."""
    if process.returncode is not None:
        return
    if not POSIX:
        process.kill()
        process.wait()
        return
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline and not _exited(process.pid):
        time.sleep(0.02)
    _signal_group(process.pid, signal.SIGKILL)  # workers that outlived the child go too
    process.wait()


def _close(process: subprocess.Popen[bytes], readers: list[threading.Thread]) -> None:
    """Wait for both streams to end; a descendant still holding them is stopped (its group
    has a live member, so the id is still the child's)."""
    deadline = time.monotonic() + DRAIN_S
    for reader in readers:
        reader.join(max(0.0, deadline - time.monotonic()))
    if POSIX and any(reader.is_alive() for reader in readers):
        _signal_group(process.pid, signal.SIGKILL)
        for reader in readers:
            reader.join(DRAIN_S)
    for stream, reader in zip((process.stdout, process.stderr), readers, strict=True):
        if stream is not None and not reader.is_alive():
            stream.close()


def run_bounded(
    command: list[str],
    cwd: Path,
    env: Mapping[str, str],
    timeout: float,
    stdout_limit: int,
    stderr_limit: int,
) -> Finished:
    """Run ``command``; its exit code and the last bytes of its streams.

    Raises TimedOut or Interrupted (the child's group stopped, ``stderr`` set), or OSError
    when the command cannot be started.
    """
    stdout, stderr = Tail(stdout_limit), Tail(stderr_limit)
    with _signals_raise():
        process = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=POSIX,
        )
        readers = [
            threading.Thread(target=_drain, args=(stream, tail), daemon=True)
            for stream, tail in ((process.stdout, stdout), (process.stderr, stderr))
        ]
        for reader in readers:
            reader.start()
        stopped: Stopped | None = None
        try:
            process.wait(None if math.isinf(timeout) else timeout)
        except subprocess.TimeoutExpired:
            stopped = TimedOut(timeout)
        except Interrupted as exc:
            stopped = exc
        finally:
            _stop(process)
            _close(process, readers)
    if stopped is not None:
        stopped.stderr = stderr.text()
        raise stopped
    return Finished(process.returncode, stdout, stderr)
