"""The files a training run writes in its folder (``--out``), known by their exact names.

Nothing else in the folder is ever touched. A fresh run refuses a folder that holds a run:
``--resume`` continues it, ``--overwrite`` moves its files into ``OUT/previous-<time>/``
(renames within one file system: nothing is deleted or copied). Pruning keeps the newest
epoch checkpoints by their number. The JSON-lines logs are read back after a crash: a torn
final line (an append cut short) is dropped, any other bad line is an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from storage import SIDECAR, move_aside, sidecar, write_atomic

EPOCH_CHECKPOINT = re.compile(r"epoch_(\d+)\.pt")
_CHECKPOINT = r"(?:last|last_good|epoch_\d+)\.pt"
_WRITTEN = (
    rf"{_CHECKPOINT}(?:{re.escape(SIDECAR)})?"
    r"|metrics\.jsonl|scores\.jsonl|nan_report\.json|run_config\.yaml|loss_curve\.png"
)
# what train.py writes at the top of the run folder, and the temporaries of its atomic writes
TOP_LEVEL = re.compile(rf"(?:{_WRITTEN})|\.(?:{_WRITTEN})\.tmp")
SAMPLES = re.compile(r"epoch_\d+\.png|final\.png")  # in OUT/samples/


class RunFolderError(Exception):
    """The run folder cannot be used as asked; the message says why and what to do."""


def run_files(out: Path) -> list[Path]:
    """The files in ``out`` that a training run wrote, by exact name (not folders)."""
    found = [p for p in _entries(out) if TOP_LEVEL.fullmatch(p.name)]
    found += [p for p in _entries(out / "samples") if SAMPLES.fullmatch(p.name)]
    return sorted(p for p in found if not p.is_dir())


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def prepare_fresh(out: Path, overwrite: bool) -> Path | None:
    """Make ``out`` ready for a fresh run and return where a previous run was moved (None
    when there was none). A folder without run files, empty or not, is used as it is."""
    out.mkdir(parents=True, exist_ok=True)
    previous = run_files(out)
    if not previous:
        return None
    if not overwrite:
        names = ", ".join(str(p.relative_to(out)) for p in previous[:4])
        more = f" and {len(previous) - 4} more" if len(previous) > 4 else ""
        raise RunFolderError(
            f"{out} holds a previous run ({names}{more}). Continue it with --resume, start a "
            f"fresh run in another folder with --out, or pass --overwrite to move its files "
            f"into {out / 'previous-<time>'}/ (nothing is deleted)"
        )
    return move_aside(out, previous)


def epoch_checkpoints(out: Path) -> list[Path]:
    """The ``epoch_<N>.pt`` files of ``out``, oldest first by N (``epoch_10000.pt`` is newer
    than ``epoch_9999.pt``, whatever their names sort as)."""
    numbered = [
        (int(match[1]), p)
        for p in _entries(out)
        if (match := EPOCH_CHECKPOINT.fullmatch(p.name)) and p.is_file()
    ]
    return [p for _, p in sorted(numbered)]


def prune_epoch_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` epoch checkpoints (and their checksums)."""
    if keep < 1:
        return
    checkpoints = epoch_checkpoints(out)
    for old in checkpoints[: max(len(checkpoints) - keep, 0)]:
        old.unlink()
        sidecar(old).unlink(missing_ok=True)


# --- JSON-lines logs -------------------------------------------------------------------------


def _row(line: bytes) -> dict[str, Any] | None:
    """A log row: a JSON object with an integer step; None for anything else."""
    try:
        row = json.loads(line)
    except ValueError:  # JSONDecodeError, and UnicodeDecodeError for bytes that are not UTF-8
        return None
    step = row.get("step") if isinstance(row, dict) else None
    return row if isinstance(step, int) and not isinstance(step, bool) else None


def read_log(path: Path) -> tuple[list[dict[str, Any]], str | None]:
    """The rows of a JSON-lines log (metrics.jsonl, scores.jsonl), and its torn final line
    (None when there is none).

    An append cut short by a crash or a power loss leaves a partial last line, or zeros: it
    comes back apart, for the caller to drop. A bad line before the last one is damage of
    another kind, and dropping it would lose data silently: RunFolderError names it.
    """
    if not path.exists():
        return [], None
    lines = [(n, line) for n, line in enumerate(path.read_bytes().split(b"\n"), 1) if line.strip()]
    rows = []
    for index, (number, line) in enumerate(lines):
        row = _row(line)
        if row is not None:
            rows.append(row)
        elif index == len(lines) - 1:
            return rows, line.decode("utf-8", "replace")
        else:
            raise RunFolderError(
                f"{path}, line {number}: not a JSON object with a step ({line[:60]!r}); only "
                "a torn last line is dropped on its own: repair or remove this line, then resume"
            )
    return rows, None


def trim_log(path: Path, step: int, say: Callable[[str], None] = print) -> None:
    """For --resume: keep the rows up to ``step`` (the checkpoint's), so the log matches the
    restored state; drop a torn final line, saying so. Rewritten atomically."""
    if not path.exists():
        return
    rows, torn = read_log(path)
    if torn is not None:
        say(f"warning: {path}: dropped a torn last line (an append cut short): {torn[:60]!r}")
    kept = "".join(json.dumps(row) + "\n" for row in rows if row["step"] <= step)
    write_atomic(path, kept.encode("utf-8"))
