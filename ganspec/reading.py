"""Read any kind of file within bounds: never more than a cap, never waiting without end.

``validate`` reads what the user names: a file, but also ``<(...)`` (a pipe), a FIFO,
``/dev/stdin`` or a device. ``st_size`` is 0 for all but files, so the read itself stops at
the cap; the open is non-blocking, so a FIFO nobody has opened for writing cannot hold the
open forever; and every wait for data ends at one deadline (READ_TIMEOUT_S).
"""

from __future__ import annotations

import os
import selectors
import stat
import sys
import time
from pathlib import Path

# How long a pipe or FIFO may keep validate waiting: for a writer to open it, and for the rest
# of what it sends. Tests lower it with monkeypatch.
READ_TIMEOUT_S = 30.0
# How often a FIFO without a writer is looked at again where its end of file cannot tell "no
# writer yet" from "a writer came and went" (everywhere but Linux, see _no_writer_yet).
POLL_S = 0.05
# Linux reports a FIFO opened non-blocking as readable (hung up) only once a writer has
# opened and closed it, and an anonymous pipe at once when its writer is gone.
_HANGUP_MEANS_A_WRITER_LEFT = sys.platform.startswith("linux")


class ReadFailed(Exception):
    """The file cannot be read within bounds; ``empty`` when it simply held nothing."""

    def __init__(self, message: str, *, empty: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.empty = empty


class _NoWriter(Exception):
    """The deadline passed before any writer sent a byte."""


class _Unfinished(Exception):
    """The deadline passed while a writer still held the pipe open."""


def read_bounded(path: Path, limit: int, timeout: float | None = None) -> bytes:
    """At most ``limit`` bytes of the file at ``path``, else ``ReadFailed``.

    A pipe or FIFO is read until its writer closes it. One whose writer opens it late is
    waited for, and one whose writer never comes, or never finishes, is given up on after
    ``timeout`` seconds (READ_TIMEOUT_S) in all.
    """
    timeout = READ_TIMEOUT_S if timeout is None else timeout
    deadline = time.monotonic() + timeout
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if path.is_dir():
        raise ReadFailed(f"{path} is a directory, not a spec file")
    try:
        fd = os.open(path, flags | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ReadFailed(f"no such file: {path}") from None
    except OSError as exc:
        raise ReadFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_size > limit:
            raise _too_large(path, limit)
        raw = _read_fd(fd, limit + 1, deadline, pipe=stat.S_ISFIFO(info.st_mode))
    except _NoWriter:
        raise ReadFailed(
            f"nothing was written to {path} within {timeout:g} s (a FIFO that nothing writes to?)",
            empty=True,
        ) from None
    except _Unfinished:
        raise ReadFailed(
            f"{path} sent no end of input within {timeout:g} s (a pipe whose writer never "
            "finishes?)"
        ) from None
    except OSError as exc:
        raise ReadFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(raw) > limit:
        raise _too_large(path, limit)
    if not raw and not stat.S_ISREG(info.st_mode):
        raise ReadFailed(
            f"nothing could be read from {path} (its writer closed it without writing)",
            empty=True,
        )
    return raw


def _too_large(path: Path, limit: int) -> ReadFailed:
    return ReadFailed(f"{path} is larger than {limit} bytes")


def _read_fd(fd: int, most: int, deadline: float, *, pipe: bool) -> bytes:
    """Read until end of file or ``most`` bytes; wait for data no later than ``deadline``."""
    chunks: list[bytes] = []
    size = 0
    looked_again = False
    while size < most:
        try:
            chunk = os.read(fd, min(most - size, 1 << 20))
        except BlockingIOError:  # a writer is there and has not written yet
            _wait_readable(fd, deadline, _Unfinished)
            continue
        if not chunk:
            if pipe and not chunks and _no_writer_yet(fd, deadline, looked_again):
                looked_again = True
                continue
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _no_writer_yet(fd: int, deadline: float, looked_again: bool) -> bool:
    """After an end of file with nothing read from a pipe: whether to read it again.

    A FIFO opened non-blocking reads as ended while no writer has opened it yet (the writer
    of ``mkfifo f; (sleep 1; cat spec > f) & ganspec validate f`` opens it late). Linux
    reports it readable only once a writer has written or come and gone (an anonymous pipe
    whose writer is gone, at once), so one wait tells; elsewhere, look again every POLL_S.
    Raises _NoWriter at the deadline.
    """
    if _HANGUP_MEANS_A_WRITER_LEFT:
        if looked_again:
            return False
        _wait_readable(fd, deadline, _NoWriter)
        return True
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _NoWriter
    time.sleep(min(POLL_S, remaining))
    return True


def _wait_readable(fd: int, deadline: float, late: type[Exception]) -> None:
    """Return once ``fd`` has something to read; raise ``late`` at the deadline."""
    remaining = deadline - time.monotonic()
    if remaining > 0:
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            if selector.select(remaining):
                return
    raise late
