"""Shared test setup: the project's modules importable by name, one intra-op thread."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

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
