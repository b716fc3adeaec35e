"""Read config.yaml and set up the run: which file, which device, which seed.

Every number of the run lives in config.yaml so a run can be tuned without touching code.
The config stays a plain dict (not a class) so it can be stored inside checkpoints and
loaded back with ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

CODE_DIR = Path(__file__).resolve().parent


def find_config(path: str | os.PathLike[str] | None = None) -> Path:
    """An explicit path wins; otherwise config.yaml in the working directory, then next to
    the code, so ``python train.py`` works from the project root and from anywhere else."""
    if path is not None:
        return Path(path)
    for candidate in (Path.cwd() / "config.yaml", CODE_DIR / "config.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("no config.yaml in the working directory or next to the code")


def load_config(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    with open(find_config(path), encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    if not isinstance(cfg, dict):
        raise ValueError("config.yaml must be a mapping")
    return cfg


def is_image(cfg: dict[str, Any]) -> bool:
    """Images have channels/height/width; 2-D points and other vectors have features."""
    return "features" not in cfg["data"]["shape"]


def data_dims(cfg: dict[str, Any]) -> tuple[int, ...]:
    """Per-sample shape: (C, H, W) for images, (F,) for vectors."""
    shape = cfg["data"]["shape"]
    if is_image(cfg):
        return (shape["channels"], shape["height"], shape["width"])
    return (shape["features"],)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks the fastest backend present: CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but CUDA is not available")
    if name == "mps" and not torch.backends.mps.is_available():
        raise RuntimeError("device 'mps' requested but MPS is not available")
    return torch.device(name)


def seed_everything(seed: int) -> None:
    """Seed every random number generator a run touches, so two runs match."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device
