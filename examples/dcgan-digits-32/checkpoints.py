"""Checkpoints: one ``torch.save`` of a dict under each of its names, loaded only once its
sha256 holds and memory-mapped (sampling never reads D or the optimizer states), and which one
``--resume`` continues from."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from runfolder import RunFolderError, epoch_checkpoints, run_files
from storage import CorruptFile, check_file, identity, write_checked


@dataclass
class Progress:
    """Where training stands; with the RNG states it is all a resume needs."""

    epoch: int = 0  # epochs completed
    batch_in_epoch: int = 0  # batches of the current epoch already used
    step: int = 0  # G updates done
    d_updates: int = 0  # D updates done (or skipped on a NaN with on_nan: continue)


def save_state(paths: list[Path], state: dict[str, Any]) -> None:
    write_checked(paths, lambda f: torch.save(state, f))


def read_checkpoint(
    path: Path,
    keys: tuple[str, ...] = ("generator", "discriminator", "opt_g", "opt_d", "progress", "rng"),
) -> dict[str, Any]:
    """The state in ``path`` once its sha256 holds and it has ``keys``; CorruptFile, naming the
    file and what is wrong, otherwise."""
    checked = check_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        replaced = identity(path.stat()) != checked  # torch.load opened it by its name again
    except Exception as error:  # a damaged file fails in the unpickler, zip reader or torch
        raise CorruptFile(f"{path} is not a readable checkpoint ({error})") from None
    if replaced:
        raise CorruptFile(f"{path} was replaced while it was being loaded; load it again")
    missing = [key for key in keys if not isinstance(state, dict) or key not in state]
    if missing:
        raise CorruptFile(f"{path} is not a checkpoint of train.py (no {', '.join(missing)})")
    try:
        if "progress" in keys:
            Progress(**state["progress"])
    except TypeError:
        raise CorruptFile(f"{path} holds no training progress this code can read") from None
    return state


def find_resume_checkpoint(
    out: Path, limits: Progress, say: Callable[[str], None] = print
) -> tuple[dict[str, Any], Path]:
    """The first intact of last.pt, last_good.pt and the epoch checkpoints (newest first),
    saying why when it is not last.pt; RunFolderError when there is none, or when it lies
    outside ``limits``, this run's schedule."""
    candidates = [out / "last.pt", out / "last_good.pt", *reversed(epoch_checkpoints(out))]
    if not any(path.exists() for path in candidates):
        fix = "run without --resume to start training there"
        if run_files(out):
            fix = (
                "its run stopped before its first checkpoint: start afresh with --overwrite, "
                f"which moves its files into {out / 'previous-<time>'}/, or use another --out"
            )
        where = "last.pt, last_good.pt or epoch_N.pt"
        raise RunFolderError(f"--resume: {out} holds no checkpoint ({where}); {fix}")
    problems: list[str] = []
    for path in candidates:
        try:
            state = read_checkpoint(path)
        except CorruptFile as error:
            problems.append(str(error))
            continue
        progress = state["progress"]
        if problems:
            say(f"warning: {problems[0]}; resuming from {path} (step {progress['step']}) instead")
        for key, limit in asdict(limits).items():
            if not 0 <= progress[key] <= limit:
                raise RunFolderError(
                    f"--resume: {path} is at {key} {progress[key]}, outside this run's schedule "
                    f"(0 to {limit}: {limits.epoch} epochs of {limits.batch_in_epoch} batches); "
                    "resume with the settings it was trained with, or start a fresh run"
                )
        return state, path
    raise RunFolderError("--resume: no usable checkpoint: " + "; ".join(problems))


def rng_state() -> dict[str, Any]:
    """Every RNG a step draws from, in types that torch.load(weights_only=True) reads."""
    _, keys, *numpy_rest = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": [torch.from_numpy(keys.astype(np.int64)), *numpy_rest],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    keys, *numpy_rest = state["numpy"]
    np.random.set_state(("MT19937", keys.numpy().astype(np.uint32), *numpy_rest))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
