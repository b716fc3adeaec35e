"""Writes that cannot leave a folder, even when its contents change under ganspec's feet.

Checking that a path stays inside ``--out`` and then writing to it by name leaves a window in
which a subfolder can be swapped for a symlink. So the folder is opened once, every folder
below it is opened relative to its parent's descriptor without following symlinks
(``O_NOFOLLOW``), and files are created, renamed and removed relative to that descriptor:
whatever happens to the names meanwhile, no byte lands outside, and a symlink is never
followed (removing one removes the link, never its target).

Where the platform has no ``dir_fd`` support (Windows), the same steps run on paths with a
symlink check before each one: as safe as the path checks can be, not race-free.

What is already there is read only when it is a regular file (:func:`read_regular`): a FIFO
in its place would hold the read until something writes to it, a device might never end.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from types import TracebackType

_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISLNK, "a symlink"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
DIR_FD = (
    bool(_O_DIRECTORY and _O_NOFOLLOW)
    and {os.open, os.mkdir, os.stat, os.unlink, os.rename} <= os.supports_dir_fd
    and os.stat in os.supports_follow_symlinks
)


def default_mode() -> int:
    """What a plain open() would create: 0o666 less the process umask."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _no_link(path: Path) -> OSError:
    return OSError(errno.ELOOP, "a symlink (ganspec never writes through one)", str(path))


class NotRegularFile(OSError):
    """Something other than a regular file is where ganspec would read or replace one."""

    def __init__(self, path: Path, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", str(path))
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of this ``st_mode`` is, in words ("a FIFO (named pipe)", ...)."""
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def read_regular(path: Path) -> bytes | None:
    """The bytes of the regular file at ``path``; None when nothing is there.

    Anything else there (a FIFO, a device, a socket, a folder, a symlink) raises
    NotRegularFile and is not read: it is seen by ``lstat`` and never opened. Should it be
    swapped in after that, the open neither blocks nor follows a link, and the descriptor is
    checked again before any read.
    """
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise NotRegularFile(path, kind_of(info.st_mode))
    flags = os.O_RDONLY | _O_NONBLOCK | _O_NOFOLLOW | _O_CLOEXEC | getattr(os, "O_NOCTTY", 0)
    handle = os.open(path, flags | getattr(os, "O_BINARY", 0))
    with os.fdopen(handle, "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFile(path, kind_of(mode))
        return stream.read()


def _located(exc: OSError, path: Path) -> OSError:
    """The same error, naming the whole path rather than one component of it."""
    return type(exc)(exc.errno, exc.strerror, str(path))


class Folder:
    """An open folder; names given to its methods are single path components inside it."""

    def __init__(self, path: Path, fd: int | None) -> None:
        self.path, self.fd = path, fd

    @classmethod
    def open(cls, path: Path) -> Folder:
        """The folder the user named (created if missing); a symlink to it is followed."""
        path.mkdir(parents=True, exist_ok=True)
        if not DIR_FD:
            return cls(path, None)
        return cls(path, os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC))

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> Folder:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def child(self, name: str, create: bool = False) -> Folder:
        """The subfolder ``name``, never through a symlink; made first when ``create``."""
        path = self.path / name
        try:
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(self._name(name), dir_fd=self.fd)
            if self.fd is None:
                if path.is_symlink():
                    raise _no_link(path)
                if not path.is_dir():
                    raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
                return Folder(path, None)
            flags = os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC
            return Folder(path, os.open(name, flags, dir_fd=self.fd))
        except OSError as exc:
            # Linux says ENOTDIR for a link opened with O_DIRECTORY | O_NOFOLLOW, BSDs ELOOP.
            if exc.errno == errno.ELOOP or (exc.errno == errno.ENOTDIR and self._is_link(name)):
                raise _no_link(path) from None
            raise _located(exc, path) from None

    def replace(self, name: str, content: bytes) -> None:
        """Write ``content`` to a new temporary file here, fsync it and rename it over ``name``:
        never a torn file, never a write through a link. The file keeps the mode it had, or
        gets the one a plain open() would give it."""
        mode = self._regular_mode(name)
        mode = default_mode() if mode is None else mode
        temporary = f".{name}.{secrets.token_hex(6)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC
        try:
            handle = os.open(self._name(temporary), flags, 0o600, dir_fd=self.fd)
        except OSError as exc:
            raise _located(exc, self.path / name) from None
        try:
            with os.fdopen(handle, "wb") as stream:
                stream.write(content)
                stream.flush()
                if hasattr(os, "fchmod"):  # on the descriptor: a renamed name cannot redirect it
                    os.fchmod(stream.fileno(), mode)
                else:
                    os.chmod(self.path / temporary, mode)
                os.fsync(stream.fileno())
            os.replace(
                self._name(temporary), self._name(name), src_dir_fd=self.fd, dst_dir_fd=self.fd
            )
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(self._name(temporary), dir_fd=self.fd)
            if isinstance(exc, OSError):
                raise _located(exc, self.path / name) from None
            raise

    def unlink(self, name: str) -> None:
        """Remove the entry ``name`` itself: a symlink goes, what it points at stays."""
        try:
            os.unlink(self._name(name), dir_fd=self.fd)
        except OSError as exc:
            raise _located(exc, self.path / name) from None

    def _name(self, name: str) -> str | Path:
        return name if self.fd is not None else self.path / name

    def _lstat(self, name: str) -> os.stat_result | None:
        try:
            return os.stat(self._name(name), dir_fd=self.fd, follow_symlinks=False)
        except FileNotFoundError:
            return None

    def _is_link(self, name: str) -> bool:
        try:
            info = self._lstat(name)
        except OSError:
            return False
        return info is not None and stat.S_ISLNK(info.st_mode)

    def _regular_mode(self, name: str) -> int | None:
        info = self._lstat(name)
        return stat.S_IMODE(info.st_mode) if info and stat.S_ISREG(info.st_mode) else None


@contextlib.contextmanager
def folder_of(root: Folder, relative: str, create: bool = False) -> Iterator[Folder]:
    """The open folder that holds ``relative`` (a clean relative POSIX path) under ``root``."""
    folder = root
    try:
        for part in PurePosixPath(relative).parts[:-1]:
            inner = folder.child(part, create)
            if folder is not root:
                folder.close()
            folder = inner
        yield folder
    finally:
        if folder is not root:
            folder.close()


def write_atomic(target: Path, content: bytes) -> None:
    """Atomically write one file the user named (its folder may be reached through links)."""
    with Folder.open(target.parent) as folder:
        folder.replace(target.name, content)
