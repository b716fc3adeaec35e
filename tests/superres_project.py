"""One rendered superres project, for the tests of the code that every superres spec renders
alike (images, tiles, storage, weights, models, upscale, export and health.py's checks).

They run once, here, on the cheapest preset's render, instead of in every rendered project;
each project keeps the tests of its own contract (tests/test_contract.py, its health report).
The render happens once per test process, into a temporary folder removed when the session
ends (tests/conftest.py); its modules are imported then, because the tests name them at module
level (settings, skip conditions), and sys.modules and sys.path are left as they were
(tests/project_imports.py), so another project's modules of the same names never meet these.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from pathlib import Path
from types import ModuleType

from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.project_imports import project_imports

SPECS = Path(__file__).resolve().parents[1] / "specs"  # not tests.conftest's: it imports this
PRESET = "realesr-general-x4v3"  # 1.2M parameters: the smallest network of the presets
MODULES = ("contract", "export", "health", "images", "models", "storage", "tiles", "upscale")
MODULES += ("weights",)


@functools.cache
def _project() -> tuple[Path, dict[str, ModuleType]]:
    folder = Path(tempfile.mkdtemp(prefix="ganspec-superres-")) / PRESET
    for path, text in render_files(validate_file(SPECS / f"{PRESET}.yaml"), set(), folder).items():
        target = folder / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    with project_imports(folder) as imported:
        return folder, {name: imported[name] for name in MODULES}


def project_folder() -> Path:
    """The rendered project's folder (scripts, photos and weights paths resolve from it)."""
    return _project()[0]


def modules(*names: str) -> tuple[ModuleType, ...]:
    """The rendered project's modules of these names, imported together (one ``contract``)."""
    return tuple(_project()[1][name] for name in names)


def remove_render() -> None:
    """Delete the render, if this process made one (at the end of the session: pytest-xdist's
    workers end without running atexit handlers)."""
    if _project.cache_info().currsize:
        shutil.rmtree(project_folder().parent, ignore_errors=True)
        _project.cache_clear()
