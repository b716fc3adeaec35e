"""A fresh fit never loses a previous one: the folder is refused, or with --overwrite the fit's
own files move into previous-<time>/ and nothing else is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from runfolder import RUN_FILES, RunFolderError, prepare_fresh

pytestmark = [pytest.mark.generic, pytest.mark.surface("training loop")]


def _previous_fit(out: Path) -> None:
    out.mkdir(parents=True)
    for name in RUN_FILES:
        (out / name).write_text(name)
    (out / "notes.txt").write_text("mine")


def test_a_fresh_fit_refuses_a_folder_holding_a_fit(tmp_path: Path) -> None:
    """Without --overwrite the folder is left exactly as it was."""
    out = tmp_path / "run"
    _previous_fit(out)
    with pytest.raises(RunFolderError, match="--overwrite"):
        prepare_fresh(out, overwrite=False)
    assert sorted(p.name for p in out.iterdir()) == sorted([*RUN_FILES, "notes.txt"])


def test_overwrite_moves_the_fit_aside_and_leaves_the_rest(tmp_path: Path) -> None:
    """--overwrite moves the fit's files, byte for byte, and only them."""
    out = tmp_path / "run"
    _previous_fit(out)
    moved = prepare_fresh(out, overwrite=True)
    assert moved is not None and moved.parent == out
    assert sorted(p.name for p in moved.iterdir()) == sorted(RUN_FILES)
    assert all((moved / name).read_text() == name for name in RUN_FILES)
    assert (out / "notes.txt").read_text() == "mine"


def test_an_empty_or_foreign_folder_is_used_as_it_is(tmp_path: Path) -> None:
    """A folder holding no fit needs no --overwrite."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert prepare_fresh(out, overwrite=False) is None
    assert (out / "notes.txt").read_text() == "mine"
