"""Durable, checksummed files, so that a crash, a full disk or a flipped bit in a checkpoint
is caught when it is loaded instead of being trained on.

A file is written under a temporary name, flushed to the disk (fsync), renamed over the old
one, and its folder is fsynced so that the rename itself survives a power loss: afterwards
the old or the new file is there, whole. ``NAME.sha256`` goes beside it, in sha256sum's
format (``sha256sum -c last.pt.sha256`` checks it by hand), renamed into place right after
the file; ``check_file`` compares the two. A crash between those two renames leaves a
mismatch, which reads as corrupt: that one name is lost, never trusted half-written.

Nothing here holds a whole file in memory: contents are hashed as they are written, copied
and checked in chunks.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

SIDECAR = ".sha256"
CHUNK = 1 << 20  # bytes read or copied at a time


class CorruptFile(ValueError):
    """A file that cannot be trusted: missing, empty, or not what its checksum says."""


def sidecar(path: Path) -> Path:
    """Where ``path``'s checksum lives: ``last.pt`` -> ``last.pt.sha256``."""
    return path.with_name(path.name + SIDECAR)


def temporary(path: Path) -> Path:
    """The name ``write_checked`` writes ``path`` under before its rename: ``.last.pt.tmp``
    (``write_atomic`` takes a name of its own per call instead)."""
    return path.with_name(f".{path.name}.tmp")


def fsync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable. Windows cannot open a folder and needs none."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _synced(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it, rename it to ``path``, fsync the folder.
    Interrupted or failed (a full disk), it leaves ``path`` as it was and no temporary file.

    Each call writes a temporary file of its own (``.NAME.PID.TOKEN.tmp``, created
    exclusively), so processes writing the same ``path`` at once never write into each
    other's file: ``path`` is always one writer's whole data, the last rename's.
    """
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # mode 0o666 less the umask, as open() gives (tempfile.mkstemp would leave it 0600)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            _synced(f)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


class HashingWriter:
    """A binary file that also hashes what goes through it: the checksum costs no second
    read, and no copy of the contents is kept (torch.save hands over memoryviews)."""

    def __init__(self, file: IO[bytes]) -> None:
        self.file = file
        self.sha256 = hashlib.sha256()

    def write(self, data: Any) -> int:
        self.sha256.update(data)
        return self.file.write(data)

    def flush(self) -> None:
        self.file.flush()


def _copy_synced(source: Path, target: Path) -> None:
    """An independent copy of ``source``, a chunk at a time, fsynced."""
    with open(source, "rb") as src, open(target, "wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
        _synced(dst)


def write_checked(paths: list[Path], write: Callable[[HashingWriter], None]) -> None:
    """Make each of ``paths`` a separate file holding what ``write`` writes, with its sha256
    in ``NAME.sha256``.

    ``write`` runs once, into the first name's temporary file; the other temporaries are
    copies of it. All are fsynced before any rename. Then, one name at a time and in the
    order given, the file and its sidecar are renamed into place as a pair: a crash at any
    point leaves every name whole and matching its checksum (the old contents or the new)
    but at most the one being renamed. Put the name to keep longest last (last_good.pt).
    """
    first = temporary(paths[0])
    with open(first, "wb") as f:
        writer = HashingWriter(f)
        write(writer)
        _synced(f)
    digest = writer.sha256.hexdigest()
    for path in paths[1:]:
        _copy_synced(first, temporary(path))
    for path in paths:
        with open(temporary(sidecar(path)), "wb") as f:
            f.write(f"{digest}  {path.name}\n".encode("ascii"))
            _synced(f)
    for path in paths:
        os.replace(temporary(path), path)
        os.replace(temporary(sidecar(path)), sidecar(path))
    for folder in dict.fromkeys(p.parent for p in paths):
        fsync_folder(folder)


def _sha256(f: IO[bytes]) -> str:
    """The hex sha256 of what is left in ``f``, read a chunk at a time."""
    digest = hashlib.sha256()
    while chunk := f.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of(path: Path) -> str:
    """The file's sha256 (hex), read a chunk at a time: memory stays flat for any size."""
    with open(path, "rb") as f:
        return _sha256(f)


def expected_digest(path: Path) -> str | None:
    """The sha256 recorded beside ``path``; None when there is no sidecar (a file written
    before checksums were kept: it loads unverified). An unreadable sidecar is corrupt."""
    try:
        text = sidecar(path).read_text(encoding="ascii")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptFile(f"{path}: its checksum file cannot be read ({error})") from None
    digest = text.split()[0] if text.split() else ""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise CorruptFile(f"{path}: {sidecar(path).name} holds no sha256")
    return digest


Identity = tuple[int, int, int, int]  # device, inode, size, modification time (ns)


def identity(stat: os.stat_result) -> Identity:
    """What tells one file's state from another: a rename over the name or a write shows."""
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def check_file(path: Path) -> Identity:
    """Check ``path`` against its recorded sha256, reading it a chunk at a time; return the
    identity of the file checked (compare it after loading: ``identity(path.stat())``).
    CorruptFile, naming the file and what is wrong, when it is missing, empty or differs."""
    try:
        with open(path, "rb") as f:
            checked = identity(os.fstat(f.fileno()))
            if checked[2] == 0:
                raise CorruptFile(f"{path} is empty")
            expected = expected_digest(path)
            if expected is None:
                return checked
            actual = _sha256(f)
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing") from None
    except OSError as error:
        raise CorruptFile(f"{path} cannot be read ({error})") from None
    if actual != expected:
        raise CorruptFile(
            f"{path} does not match its checksum {sidecar(path).name} (corrupt or half-written)"
        )
    return checked


def is_intact(path: Path) -> bool:
    """Whether ``path`` exists, is not empty and matches its recorded sha256."""
    try:
        check_file(path)
    except CorruptFile:
        return False
    return True


def move_aside(out: Path, files: list[Path]) -> Path:
    """Rename ``files`` into a new ``out/previous-<time>/``, keeping their relative paths."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in itertools.count(1):
        target = out / (f"previous-{stamp}" if n == 1 else f"previous-{stamp}-{n}")
        try:
            target.mkdir()  # a new folder: no rename below can land on an existing file
            break
        except FileExistsError:
            continue
    for path in files:
        destination = target / path.relative_to(out)
        destination.parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, destination)
    fsync_folder(out)
    return target
