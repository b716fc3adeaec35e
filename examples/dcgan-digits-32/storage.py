"""Durable, checksummed files, so that a crash, a full disk or a flipped bit in a checkpoint
is caught when it is loaded instead of being trained on.

A file is written under a temporary name, flushed to the disk (fsync), renamed over the old
one, and its folder is fsynced so that the rename itself survives a power loss: afterwards
the old or the new file is there, whole. ``NAME.sha256`` goes beside it, in sha256sum's
format (``sha256sum -c last.pt.sha256`` checks it by hand), renamed into place after the
file; ``read_checked`` compares the two. A crash between the two renames leaves a mismatch,
which reads as corrupt: that one file is lost, never trusted half-written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SIDECAR = ".sha256"


class CorruptFile(ValueError):
    """A file that cannot be trusted: missing, empty, or not what its checksum says."""


def sidecar(path: Path) -> Path:
    """Where ``path``'s checksum lives: ``last.pt`` -> ``last.pt.sha256``."""
    return path.with_name(path.name + SIDECAR)


def temporary(path: Path) -> Path:
    """The name ``path`` is written under before its rename: ``.last.pt.tmp``."""
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


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file, fsync it, rename it to ``path``, fsync the folder."""
    _write_synced(temporary(path), data)
    os.replace(temporary(path), path)
    fsync_folder(path.parent)


def write_checked(paths: list[Path], data: bytes) -> None:
    """Write ``data`` to each of ``paths`` (separate files) with its sha256 in ``NAME.sha256``.

    Every file is written and fsynced under its temporary name first, then all are renamed
    and each folder is fsynced once: a crash on the way leaves whole files, old or new, and
    any file that does not match its checksum reads as corrupt.
    """
    digest = hashlib.sha256(data).hexdigest()
    pairs = [(p, data) for p in paths]
    pairs += [(sidecar(p), f"{digest}  {p.name}\n".encode("ascii")) for p in paths]
    for path, contents in pairs:
        _write_synced(temporary(path), contents)
    for path, _ in pairs:
        os.replace(temporary(path), path)
    for folder in dict.fromkeys(p.parent for p in paths):
        fsync_folder(folder)


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


def read_checked(path: Path) -> bytes:
    """The bytes of ``path`` once they match its recorded sha256; CorruptFile otherwise."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing") from None
    except OSError as error:
        raise CorruptFile(f"{path} cannot be read ({error})") from None
    if not data:
        raise CorruptFile(f"{path} is empty")
    expected = expected_digest(path)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise CorruptFile(
            f"{path} does not match its checksum {sidecar(path).name} (corrupt or half-written)"
        )
    return data


def is_intact(path: Path) -> bool:
    """Whether ``path`` exists, is not empty and matches its recorded sha256."""
    try:
        read_checked(path)
    except CorruptFile:
        return False
    return True
