"""The files a training run writes in its folder, known by their exact names: nothing else
there is touched. A fresh run refuses a folder holding a run; the JSON-lines logs are read
back after a crash."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from storage import move_aside, sidecar, write_atomic

EPOCH_CHECKPOINT = re.compile(r"epoch_(\d+)\.pt")
_WRITTEN = (
    r"(?:last|last_good|epoch_\d+)\.pt(?:\.sha256)?"
    r"|metrics\.jsonl|scores\.jsonl|nan_report\.json|run_config\.yaml|loss_curve\.png"
)
# what train.py writes at the top of the run folder, and the temporaries of its atomic writes
TOP_LEVEL = re.compile(rf"(?:{_WRITTEN})|\.(?:{_WRITTEN})\.tmp")
SAMPLES = re.compile(r"epoch_\d+\.png|final\.png")  # in OUT/samples/


class RunFolderError(Exception):
    """The run folder cannot be used as asked; the message says why and what to do."""


def _files(folder: Path, names: re.Pattern[str]) -> list[Path]:
    found = folder.iterdir() if folder.is_dir() else []
    return [p for p in found if names.fullmatch(p.name) and p.is_file()]


def run_files(out: Path) -> list[Path]:
    """The files in ``out`` that a training run wrote."""
    return sorted(_files(out, TOP_LEVEL) + _files(out / "samples", SAMPLES))


def prepare_fresh(out: Path, overwrite: bool) -> Path | None:
    """Make ``out`` ready for a fresh run; return where a previous run was moved (or None)."""
    out.mkdir(parents=True, exist_ok=True)
    previous = run_files(out)
    if not previous:
        return None
    if not overwrite:
        raise RunFolderError(
            f"{out} holds a previous run ({len(previous)} files: {previous[0].name}, ...). "
            "Continue it with --resume, start a fresh run in another folder with --out, or pass "
            f"--overwrite to move its files into {out / 'previous-<time>'}/ (nothing is deleted)"
        )
    return move_aside(out, previous)


def epoch_checkpoints(out: Path) -> list[Path]:
    """The ``epoch_<N>.pt`` files, oldest first by N (not by name: 10000 is after 9999)."""
    return sorted(_files(out, EPOCH_CHECKPOINT), key=lambda p: int(p.name[6:-3]))


def prune_epoch_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` epoch checkpoints (and their checksums)."""
    for old in epoch_checkpoints(out)[:-keep]:
        old.unlink()
        sidecar(old).unlink(missing_ok=True)


def read_log(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of a JSON-lines log (objects with an integer step) and its torn last line, if
    any (an append cut short by a crash), for the caller to drop. A bad line before the last
    is other damage: RunFolderError names it."""
    lines = path.read_bytes().splitlines() if path.exists() else []
    lines = [(number, line) for number, line in enumerate(lines, 1) if line.strip()]
    rows = []
    for number, line in lines:
        try:
            row = json.loads(line)
        except ValueError:  # also UnicodeDecodeError
            row = None
        if isinstance(row, dict) and type(row.get("step")) is int:
            rows.append(row)
        elif number == lines[-1][0]:
            return rows, line.decode("utf-8", "replace")
        else:
            raise RunFolderError(
                f"{path}, line {number}: not a JSON object with a step ({line[:60]!r}); only "
                "a torn last line is dropped on its own: repair or remove this line, then resume"
            )
    return rows, None


def trim_log(path: Path, step: int) -> None:
    """For --resume: keep the rows up to the checkpoint's ``step``; drop a torn last line."""
    rows, torn = read_log(path)
    if torn is not None:
        print(f"warning: {path}: dropped a torn last line (an append cut short): {torn[:60]!r}")
    if path.exists():
        kept = "".join(json.dumps(row) + "\n" for row in rows if row["step"] <= step)
        write_atomic(path, kept.encode("utf-8"))
