"""Import a rendered project's modules (config, data, models, train, ...) inside the test
process, one project at a time, and leave sys.modules and sys.path as they were.

A project's modules have generic top-level names, so two projects (or a project and the
templates) must never see each other's: each ``project_imports`` block starts without them
and drops every module it loaded from the folder when it ends.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType


def _module_names(folders: list[Path]) -> set[str]:
    return {path.stem for folder in folders for path in folder.glob("*.py")}


@contextmanager
def project_imports(*given: Path) -> Iterator[dict[str, ModuleType]]:
    """Yields a dict that imports ``name`` from the folders (a rendered project, or a kind's
    templates and templates/common) on first access."""
    folders = [folder.resolve() for folder in given]
    names = _module_names(folders)
    shadowed = {name: sys.modules.pop(name) for name in names if name in sys.modules}
    for folder in reversed(folders):
        sys.path.insert(0, str(folder))

    class Modules(dict[str, ModuleType]):
        def __missing__(self, name: str) -> ModuleType:
            module = importlib.import_module(name)
            self[name] = module
            return module

    try:
        yield Modules()
    finally:
        for folder in folders:
            sys.path.remove(str(folder))
        for name, module in list(sys.modules.items()):
            where = getattr(module, "__file__", None) or ""
            if where and any(Path(where).resolve().is_relative_to(f) for f in folders):
                del sys.modules[name]
        sys.modules.update(shadowed)
        importlib.invalidate_caches()
