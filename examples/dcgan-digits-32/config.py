"""Read config.yaml (the numbers a user tunes between runs) and set up device and seeds. The
config stays a plain dict: checkpoints store it and load it with weights_only=True."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

CODE_DIR = Path(__file__).resolve().parent


def load_config(path: str | Path | None = None) -> dict[str, Any]:
    """``path``, else config.yaml in the working directory, else the one next to the code."""
    if path is None:
        path = Path("config.yaml") if Path("config.yaml").is_file() else CODE_DIR / "config.yaml"
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def data_dims(cfg: dict[str, Any]) -> tuple[int, ...]:
    """Per-sample shape (C, H, W)."""
    shape = cfg["data"]["shape"]
    return (shape["channels"], shape["height"], shape["width"])


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple's MPS, then the CPU; a named device must exist."""
    available = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if name == "auto":
        name = next((device for device, ok in available.items() if ok), "cpu")
    elif not available.get(name, True):
        raise RuntimeError(f"device {name!r} requested but it is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed every random number generator a run touches, so two runs match."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
