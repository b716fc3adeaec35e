"""Run a child process that cannot outlive, outrun or out-talk the command that started it.

``ganspec smoke`` runs a project's ``health.py``, which trains, may start data-loading workers
of its own, may hang and may print without end. So the child gets its own process group (the
whole group is stopped on a timeout, or when ganspec gets SIGINT/SIGTERM/SIGHUP), and its
output is read as it comes, keeping only the last bytes of each stream.

A signal handler that raised could do so anywhere: between starting the child and the
``try`` that stops it, or half-way through stopping it, and the child would outlive ganspec.
So the handler only records the signal, and the wait for the child looks at the record.
"""

from __future__ import annotations

import contextlib
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
POLL_S = 0.05  # how often the wait for the child looks for a signal
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
def _signals_recorded() -> Iterator[list[int]]:
    """While inside, SIGINT/SIGTERM/SIGHUP are appended to the list given, and raise nothing
    (main thread only: elsewhere Python cannot set handlers, and the defaults stay)."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {number: signal.signal(number, handler) for number in _SIGNALS}
    try:
        yield received
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _wait(process: subprocess.Popen[bytes], timeout: float, received: list[int]) -> Stopped | None:
    """Wait for the child to exit; why it must be stopped instead, if it must."""
    deadline = time.monotonic() + timeout
    while not received:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return TimedOut(timeout)
        try:
            process.wait(min(POLL_S, remaining))
            return None
        except subprocess.TimeoutExpired:
            continue
    return Interrupted(received[0])


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
    started = [reader for reader in readers if reader.ident is not None]
    deadline = time.monotonic() + DRAIN_S
    for reader in started:
        reader.join(max(0.0, deadline - time.monotonic()))
    if POSIX and any(reader.is_alive() for reader in started):
        _signal_group(process.pid, signal.SIGKILL)
        for reader in started:
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
    with _signals_recorded() as received:
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
        try:
            for reader in readers:
                reader.start()
            stopped = _wait(process, timeout, received)
        finally:
            _stop(process)
            _close(process, readers)
        if received:  # also one that came while a timed-out child was being stopped
            stopped = Interrupted(received[0])
    if stopped is not None:
        stopped.stderr = stderr.text()
        raise stopped
    return Finished(process.returncode, stdout, stderr)
