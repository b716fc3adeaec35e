"""Checkpoint files: writing them, loading them only once their checksum holds, and choosing
the one ``--resume`` continues from.

A checkpoint is one ``torch.save`` of a dict (networks, optimizers, progress, RNG states). It
is serialized once, streamed to disk through a hash, and its other names (``last.pt``,
``last_good.pt``, ``epoch_N.pt``) are file copies: no copy of it is ever held in memory.
Loading checks the sha256 in chunks, then memory-maps the file (``mmap=True``), so a tensor
costs memory only when it is used: sampling from a checkpoint never reads D or the
optimizer states.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from runfolder import RunFolderError, epoch_checkpoints, run_files
from storage import CorruptFile, check_file, identity, write_checked

# What train.py's checkpoints hold; sample.py and export.py need only config and generator.
CHECKPOINT_KEYS = ("generator", "discriminator", "opt_g", "opt_d", "progress", "rng")


@dataclass
class Progress:
    """Where training stands; with the RNG states it is all a resume needs."""

    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # batches of the current epoch already used
    step: int = 0  # G updates done
    d_updates: int = 0  # D updates done (or skipped on a NaN with on_nan: continue)


# --- writing ---------------------------------------------------------------------------------


def checkpoint_names(name: str = "last.pt", good: bool = True) -> list[str]:
    """The names one save writes, in the order they are renamed into place: ``name``,
    last.pt, then (when every weight is finite) last_good.pt, the one kept longest, last."""
    return list(dict.fromkeys([name, "last.pt", *(["last_good.pt"] if good else [])]))


def save_state(paths: list[Path], state: dict[str, Any]) -> None:
    """``state`` as separate checksummed files at ``paths``, renamed in that order (see
    storage.write_checked: a crash leaves at most one name unusable)."""
    write_checked(paths, lambda f: torch.save(state, f))


# --- loading ---------------------------------------------------------------------------------


def load_state(path: Path) -> Any:
    """What ``path`` holds, once its bytes match their sha256; memory-mapped, weights only.

    torch.load maps the file by its name, so the file is identified before it is checked
    and again after it is loaded: checkpoints are only ever replaced by a rename, never
    written in place, so an unchanged identity means the bytes loaded are the bytes checked.
    """
    checked = check_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # a damaged file fails in the unpickler, zip reader or torch
        raise CorruptFile(f"{path} is not a readable checkpoint ({error})") from None
    try:
        loaded = identity(path.stat())
    except OSError:
        loaded = None
    if loaded != checked:
        raise CorruptFile(f"{path} was replaced while it was being loaded; load it again")
    return state


def read_checkpoint(path: Path, keys: Iterable[str] = CHECKPOINT_KEYS) -> dict[str, Any]:
    """A checkpoint's state once it checks out and holds ``keys`` (a ``progress`` among them
    one this code can read); CorruptFile, naming the file and what is wrong, otherwise."""
    state, keys = load_state(path), tuple(keys)
    missing = [k for k in keys if not isinstance(state, dict) or k not in state]
    if missing:
        raise CorruptFile(f"{path} is not a checkpoint of train.py (no {', '.join(missing)})")
    if "progress" in keys:
        progress_of(state, path)
    return state


def progress_of(state: dict[str, Any], path: Path) -> Progress:
    try:
        return Progress(**state["progress"])
    except TypeError:
        raise CorruptFile(f"{path} holds no training progress this code can read") from None


# --- which checkpoint --resume continues from ------------------------------------------------


def find_resume_checkpoint(
    out: Path, say: Callable[[str], None] = print
) -> tuple[dict[str, Any], Path]:
    """The state to resume from and its file: last.pt, or, when it is missing or damaged, the
    newest loadable of last_good.pt and the epoch checkpoints (saying which and why).

    At most two states are loaded at once: the best so far and the one being compared."""
    fallbacks = [out / "last_good.pt", *reversed(epoch_checkpoints(out))]
    if not any(p.exists() for p in [out / "last.pt", *fallbacks]):
        raise RunFolderError(no_checkpoint_message(out))
    try:
        return read_checkpoint(out / "last.pt"), out / "last.pt"
    except CorruptFile as error:
        problems = [str(error)]
    best: tuple[dict[str, Any], Path] | None = None
    for path in (p for p in fallbacks if p.exists()):
        try:
            state = read_checkpoint(path)
        except CorruptFile as error:
            problems.append(str(error))
            continue
        if best is None or state["progress"]["step"] > best[0]["progress"]["step"]:
            best = state, path  # the newest; last_good.pt wins a tie
        del state  # a state not chosen goes before the next one loads
    if best is None:
        raise RunFolderError("--resume: no usable checkpoint: " + "; ".join(problems))
    say(
        f"warning: {problems[0]}; resuming from {best[1]} (step "
        f"{best[0]['progress']['step']}) instead"
    )
    return best


def no_checkpoint_message(out: Path) -> str:
    """Why --resume cannot start in ``out``, and what will: a run that stopped before its
    first checkpoint left files that a fresh run refuses, so name --overwrite for them."""
    head = f"--resume: {out} holds no checkpoint (last.pt, last_good.pt or epoch_N.pt) to resume"
    if not run_files(out):
        return f"{head} from; run without --resume to start training there"
    return (
        f"{head} from: its run stopped before its first checkpoint. Start afresh with "
        f"--overwrite, which moves that run's files into {out / 'previous-<time>'}/ (nothing "
        "is deleted), or pick another folder with --out"
    )


def check_progress(progress: Progress, limits: Progress, path: Path) -> None:
    """Refuse a checkpoint whose progress is negative or beyond this run's schedule (its
    limits: training.epochs, the batches per epoch, the G and D steps they make)."""
    for key, limit in asdict(limits).items():
        value = getattr(progress, key)
        if not isinstance(value, int) or not 0 <= value <= limit:
            raise RunFolderError(
                f"--resume: {path} is at {key} {value}, outside this run's schedule (0 to "
                f"{limit}: {limits.epoch} epochs of {limits.batch_in_epoch} batches); resume "
                "with the settings it was trained with, or start a fresh run"
            )
