"""Shared fixtures: the project's own config.yaml, shrunk to test size and run on the CPU."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project's modules, also when pytest runs elsewhere

from config import load_config  # noqa: E402


def small(cfg: dict[str, Any]) -> dict[str, Any]:
    """The same networks and losses with a small batch (two packs per process for the 2-process
    run), on the CPU, in float32, uncompiled."""
    cfg = copy.deepcopy(cfg)
    cfg["data"]["batch_size"] = 4 * cfg["discriminator"]["pack"]
    training = cfg["training"]
    training.update(device="cpu", amp="off", compile=False)
    # Scoring during training needs a feature extractor (for digits, a classifier trained for
    # seconds); the tests that score set validation.fid themselves.
    cfg["validation"]["fid"] = None
    return cfg


@pytest.fixture(scope="session")
def base_cfg() -> dict[str, Any]:
    return small(load_config(ROOT / "config.yaml"))


@pytest.fixture
def cfg(base_cfg: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy per test, so a test may edit it."""
    return copy.deepcopy(base_cfg)


@pytest.fixture(scope="session")
def one_step_run(base_cfg: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run folder after exactly one training step, shared by several tests."""
    import train

    config = tmp_path_factory.mktemp("one_step_config") / "config.yaml"
    config.write_text(yaml.safe_dump(base_cfg, sort_keys=False), encoding="utf-8")
    out = tmp_path_factory.mktemp("one_step")
    assert train.main(["--config", str(config), "--out", str(out), "--max-steps", "1"]) == 0
    return out
