"""The files a training run writes in its folder, known by their exact names: nothing else
there is touched. A fresh run refuses a folder holding a run; the JSON-lines logs are read
back after a crash. health.py's own folder holds only what its previous run recorded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
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


# --- health.py's own run folder --------------------------------------------------------------

HEALTH_RECORD = "health.json"  # the files the last health run left, and its report


def fingerprint(out: Path, files: list[Path] | None = None) -> dict[str, list[int]]:
    """Size and modification time of each run file in ``out`` (``files``, when already
    listed): any change shows."""
    stats = {
        str(p.relative_to(out)): p.stat() for p in (run_files(out) if files is None else files)
    }
    return {name: [s.st_size, s.st_mtime_ns] for name, s in stats.items()}


def read_health_record(out: Path) -> dict[str, Any] | None:
    """What the last health run in ``out`` recorded; None when there is no readable record."""
    try:
        record = json.loads((out / HEALTH_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def take_over_for_health(out: Path, overwrite: bool) -> Path | None:
    """Make ``out`` ready for a health run; return where another run was moved (--overwrite).

    The files the previous health run recorded are removed while they are exactly as it left
    them. Any other run is refused (RunFolderError), or moved aside with ``overwrite``: a run
    trained there since, someone else's, or one whose health run was killed before it could
    record its files (``status: running``).
    """
    record = read_health_record(out)
    files = run_files(out)
    finished = record is not None and record.get("status", "finished") == "finished"
    if files and finished and record.get("files") == fingerprint(out, files):
        for path in files:
            path.unlink()
        (out / HEALTH_RECORD).unlink()
        files = []
    if not files:
        return None
    if overwrite:
        return move_aside(out, files)
    if record is not None and not finished:
        why = "holds the files of a health run that did not record them (killed, or running)"
    else:
        why = "holds a run health.py did not write"
    raise RunFolderError(
        f"{out} {why}; pass another --out, or --overwrite to move its files into "
        f"{out / 'previous-<time>'}/ (nothing is deleted)"
    )


@contextmanager
def recording_health_run(out: Path) -> Iterator[dict[str, Any]]:
    """Mark ``out`` as holding a health run while it runs, then record the files it left.

    The record is written in a ``finally``: after a crash, a Ctrl-C or a SIGTERM (health.py
    turns it into an exception), so the next health run can clean up after this one. Only a
    kill that runs no Python code (SIGKILL, power loss) leaves ``status: running``. Put the
    report into the yielded record to keep it there too.
    """
    out.mkdir(parents=True, exist_ok=True)
    record: dict[str, Any] = {"status": "running", "files": {}}
    write_atomic(out / HEALTH_RECORD, json.dumps(record).encode("utf-8"))
    try:
        yield record
    finally:
        record.update(status="finished", files=fingerprint(out))
        text = json.dumps(record, indent=2, default=str)
        write_atomic(out / HEALTH_RECORD, text.encode("utf-8"))
