"""Durable, checksummed files: a crash, a full disk or a flipped bit is caught when a file is
loaded, not trained on. Files are fsynced, renamed into place (their folder fsynced too) and
hashed in chunks, with ``NAME.sha256`` beside them in sha256sum's format."""

from __future__ import annotations

import hashlib
import itertools
import os
import secrets
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO


class CorruptFile(ValueError):
    """A file that cannot be trusted: missing, empty, or not what its checksum says."""


def sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def fsync_folder(folder: Path) -> None:
    """Make the renames in ``folder`` durable (Windows cannot open a folder, nor needs to)."""
    if os.name != "nt":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _sync(f: IO[bytes]) -> None:
    f.flush()
    os.fsync(f.fileno())


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically; a failed write leaves ``path`` as it was. Each
    call's temporary file is its own (created exclusively): of concurrent writers, one wins."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(temp, flags, 0o666)  # the umask's permissions, not mkstemp's 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            _sync(f)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def write_checked(paths: list[Path], write: Callable[[IO[bytes]], None]) -> None:
    """Make each of ``paths`` a separate file holding what ``write`` writes (called once),
    with its sha256. Each name and its sidecar are renamed into place as a pair, in the order
    given: a crash spoils at most the one being renamed. Put the name to keep longest last."""
    temps = {path: path.with_name(f".{path.name}.tmp") for path in [*paths, *map(sidecar, paths)]}
    with open(temps[paths[0]], "wb") as f:
        write(f)
        _sync(f)
    digest = sha256_of(temps[paths[0]])
    for path in paths:
        if path != paths[0]:
            with open(temps[paths[0]], "rb") as source, open(temps[path], "wb") as f:
                shutil.copyfileobj(source, f, 1 << 20)
                _sync(f)
        with open(temps[sidecar(path)], "wb") as f:
            f.write(f"{digest}  {path.name}\n".encode("ascii"))
            _sync(f)
    for path in paths:
        os.replace(temps[path], path)
        os.replace(temps[sidecar(path)], sidecar(path))
    for folder in {path.parent for path in paths}:
        fsync_folder(folder)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def identity(stat: os.stat_result) -> tuple[int, ...]:
    """What tells a file's states apart: a rename over its name or a write shows."""
    return stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns


def check_file(path: Path) -> tuple[int, ...]:
    """Check ``path`` against its sha256 (a file written without one passes) and return the
    identity it had before: the caller compares it after loading the file by its name."""
    try:
        checked = identity(path.stat())
        if checked[2] == 0:
            raise CorruptFile(f"{path} is empty")
        if not sidecar(path).exists():
            return checked
        matches = sidecar(path).read_text("ascii").split()[:1] == [sha256_of(path)]
    except FileNotFoundError:
        raise CorruptFile(f"{path} is missing") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CorruptFile(f"{path} cannot be read ({error})") from None
    if not matches:
        name = sidecar(path).name
        raise CorruptFile(f"{path} does not match its checksum {name} (corrupt or half-written)")
    return checked


def is_intact(path: Path) -> bool:
    try:
        check_file(path)
    except CorruptFile:
        return False
    return True


def move_aside(out: Path, files: list[Path]) -> Path:
    """Rename ``files`` into a new ``out/previous-<time>/``, keeping their relative paths."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    names = (f"previous-{stamp}" + (f"-{n}" if n > 1 else "") for n in itertools.count(1))
    target = next(out / name for name in names if not (out / name).exists())
    target.mkdir()  # a new folder (or an error): no rename below can land on an existing file
    for path in files:
        (target / path.relative_to(out)).parent.mkdir(parents=True, exist_ok=True)
        os.rename(path, target / path.relative_to(out))
    fsync_folder(out)
    return target
