"""The rendered superres project's storage.write_atomic, tested once here on one render
(tests/superres_project.py): a writer's file is its own until the rename, so concurrent writers
of one path leave one of them whole there, never a mix or a truncated file; a failed write
leaves no trace; outputs get the umask's permissions."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.superres_project import modules

(storage,) = modules("storage")

pytestmark = pytest.mark.usefixtures("superres_weights_elsewhere")


def test_a_second_writer_of_the_same_path_never_touches_the_first_ones_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writer A is paused between writing and renaming (at its fsync) while writer B writes
    the same path from start to end: B's file is then at the path, and A's rename puts A's
    data there, whole. With a shared temporary name B would truncate A's file under it."""
    target = tmp_path / "x.bin"
    first, second = b"a" * 100_000, b"b" * 50_000
    real_fsync = os.fsync
    paused: list[int] = []

    def fsync(fd: int) -> None:
        real_fsync(fd)
        if not paused:  # the first fsync: A's temporary file, written but not renamed
            paused.append(fd)
            storage.write_atomic(target, second)
            assert target.read_bytes() == second

    monkeypatch.setattr(os, "fsync", fsync)
    storage.write_atomic(target, first)
    assert target.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


def test_the_temporary_file_is_created_exclusively(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file already at the temporary name (another writer's) is never opened or replaced."""
    monkeypatch.setattr(storage.secrets, "token_hex", lambda n: "feed")
    theirs = tmp_path / f".x.bin.{os.getpid()}.feed.tmp"
    theirs.write_bytes(b"another writer's data")
    with pytest.raises(FileExistsError):
        storage.write_atomic(tmp_path / "x.bin", b"mine")
    assert theirs.read_bytes() == b"another writer's data"
    assert not (tmp_path / "x.bin").exists()


def test_a_failed_write_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.bin"
    storage.write_atomic(target, b"old")

    def full_disk(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space left"):
        storage.write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.bin"]


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_the_file_gets_the_umasks_permissions(tmp_path: Path) -> None:
    """0o666 less the umask, as open() gives: not a temporary file's private 0600."""
    saved = os.umask(0o027)
    try:
        storage.write_atomic(tmp_path / "x.bin", b"data")
    finally:
        os.umask(saved)
    assert (tmp_path / "x.bin").stat().st_mode & 0o777 == 0o640
