"""The run folder: which files a fit writes, and how a fresh fit treats a folder holding one.

A fresh ``train.py`` never deletes a fitted synthesizer: it refuses the folder, or with
--overwrite moves exactly the files a fit wrote into ``OUT/previous-<time>/``. Anything else in
the folder (your notes, another model) is never touched.
"""

from __future__ import annotations

from pathlib import Path

from storage import move_aside

SYNTHESIZER = "synthesizer.pkl"
FIT_RECORD = "fit.json"
RUN_FILES = (SYNTHESIZER, SYNTHESIZER + ".sha256", FIT_RECORD)


class RunFolderError(Exception):
    """The run folder cannot be used as asked; the message says why and what to do."""


def run_files(out: Path) -> list[Path]:
    """The files in ``out`` that a fit wrote, by exact name."""
    return [out / name for name in RUN_FILES if (out / name).is_file()]


def prepare_fresh(out: Path, overwrite: bool) -> Path | None:
    """Make ``out`` ready for a fresh fit; return where a previous fit was moved (or None)."""
    out.mkdir(parents=True, exist_ok=True)
    previous = run_files(out)
    if not previous:
        return None
    if not overwrite:
        names = ", ".join(p.name for p in previous)
        raise RunFolderError(
            f"{out} holds a fitted synthesizer ({names}). Fit into another folder with --out, "
            f"or pass --overwrite to move these files into {out / 'previous-<time>'}/ "
            "(nothing is deleted)"
        )
    return move_aside(out, previous)


def synthesizer_path(out: Path) -> Path:
    """Where a fit in ``out`` keeps its synthesizer: ``out/synthesizer.pkl``."""
    return out / SYNTHESIZER
