"""Shared test setup: the project's modules importable by name, one intra-op thread."""

from __future__ import annotations

import dataclasses
import errno
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the project's modules


@pytest.fixture(autouse=True, scope="session")
def one_thread() -> Iterator[None]:
    """Tiny tensors gain nothing from intra-op threads; on a busy small CPU they cost seconds."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


import contract  # noqa: E402 - after the path insert above


@pytest.fixture(autouse=True)
def weights_in_a_temporary_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract's weights files point into an empty temporary folder for every test: a
    test may write or truncate "the release file" and never touches the user's real one."""
    folder = tmp_path / "contract-weights"
    for name in ("WEIGHTS", "WEAK_DENOISE_WEIGHTS"):
        file = getattr(contract, name)
        if file is not None:
            moved = dataclasses.replace(file, path=str(folder / Path(file.path).name))
            monkeypatch.setattr(contract, name, moved)


@pytest.fixture
def stat_denied(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``stat_denied(path)``: from then on, os.stat of ``path`` fails with PermissionError, as
    for a file in a folder this user may not enter (chmod does not stop root, and tests may
    run as root)."""
    denied: set[str] = set()
    real_stat = os.stat

    def stat(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> os.stat_result:
        name = os.fspath(path)
        if name in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    return lambda path: denied.add(os.fspath(path))
