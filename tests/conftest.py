"""Shared helpers: load a preset, change it at dotted paths, validate the result.

Torch runs one intra-op thread in this session and in every process it starts (rendered
projects' suites, train.py, torchrun): pytest-xdist already runs one worker per core, and the
tests' networks are too small to gain from more threads. Two threads per worker on two cores
made the digits classifier's training 4x slower in wall time (285 s against 68 s, 110 s of
CPU against 20 s). A value set in the environment is kept.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from ganspec.validate import Report, validate_text
from tests.superres_project import modules as superres_modules
from tests.superres_project import remove_render as remove_superres_render

for _variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")  # read by every process the tests start
# joblib runs its jobs in this process, not in a pool it starts (CTGAN's data transformer
# would start one per fit of 500 rows or more: worker processes on cores xdist already uses).
os.environ.setdefault("JOBLIB_MULTIPROCESSING", "0")
# torch reads OMP_NUM_THREADS when first imported, after this file: no import here, so that
# pytest-xdist's controller, which runs no test, starts its workers without loading torch. Should
# something have imported it before this file, it is told the number of threads itself.
if "torch" in sys.modules:
    sys.modules["torch"].set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
PRESET_NAMES = sorted(path.stem for path in SPECS.glob("*.yaml"))
# Each preset's kind: tests of networks, shapes and training take the image ones; tabular
# specs have no layers (tests/test_tabular.py, tests/test_tabular_render.py).
PRESET_KINDS = {
    name: yaml.safe_load((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))["kind"]
    for name in PRESET_NAMES
}
IMAGE_PRESETS = [name for name in PRESET_NAMES if PRESET_KINDS[name] == "image"]
TABULAR_PRESETS = [name for name in PRESET_NAMES if PRESET_KINDS[name] == "tabular"]
SUPERRES_PRESETS = [name for name in PRESET_NAMES if PRESET_KINDS[name] == "superres"]
DELETE = object()

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def split_path(dotted: str) -> list[str | int]:
    """``generator.layers[5].kernel`` -> ``['generator', 'layers', 5, 'kernel']``."""
    return [name if name else int(index) for name, index in _PART.findall(dotted)]


def preset_data(name: str) -> dict[str, Any]:
    return yaml.safe_load((SPECS / f"{name}.yaml").read_text())


def mutated(name: str, changes: dict[str, Any]) -> str:
    """The preset's YAML with each dotted path set to a value (or removed with DELETE)."""
    data = preset_data(name)
    for dotted, value in changes.items():
        *parents, last = split_path(dotted)
        node: Any = data
        for part in parents:
            node = node[part]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return yaml.safe_dump(data, sort_keys=False)


def validate_mutation(name: str, changes: dict[str, Any]) -> Report:
    return validate_text(mutated(name, changes), f"{name}-mutated.yaml")


@pytest.fixture(params=PRESET_NAMES)
def preset_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def superres_weights_elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rendered superres contract's weights files point into an empty temporary folder, as
    the rendered project's own conftest has them: a test may write or truncate "the release
    file" and never touches a real one (tests/superres_project.py)."""
    (contract,) = superres_modules("contract")
    folder = tmp_path / "contract-weights"
    for name in ("WEIGHTS", "WEAK_DENOISE_WEIGHTS"):
        file = getattr(contract, name)
        if file is not None:
            moved = dataclasses.replace(file, path=str(folder / Path(file.path).name))
            monkeypatch.setattr(contract, name, moved)


@pytest.fixture
def stat_denied(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], None]:
    """``stat_denied(path)``: from then on, os.stat of ``path`` fails with PermissionError, as
    for a file in a folder this user may not enter (chmod does not stop root, and tests may
    run as root)."""
    denied: set[str] = set()
    real_stat = os.stat

    def stat(path: str | os.PathLike[str], *args: Any, **kwargs: Any) -> os.stat_result:
        name = os.fspath(path)
        if name in denied:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), name)
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat)
    return lambda path: denied.add(os.fspath(path))


# Files whose tests each run a rendered project, its suite or its scripts (minutes, not
# seconds). Collected first, longest first, so that under pytest-xdist they start at once,
# side by side, and the quick tests fill the workers around them instead of waiting at the
# end: the suite's wall time is then close to its CPU time over the workers.
SLOW_FIRST = (
    "test_rendered_projects.py",
    "test_tabular_render.py",
    "test_superres_render.py",
    "test_smoke.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))


def pytest_sessionfinish() -> None:
    remove_superres_render()
