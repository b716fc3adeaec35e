"""The example projects in examples/ are exactly what ganspec renders today."""

from __future__ import annotations

import importlib.util

import pytest

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("regenerate", ROOT / "examples" / "regenerate.py")
assert _spec and _spec.loader
regenerate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(regenerate)


CACHES = {"__pycache__", ".pytest_cache", ".ruff_cache"}  # tool output, ignored by git


@pytest.mark.parametrize("preset", regenerate.RENDERED_PRESETS)
def test_example_project_matches_a_fresh_render(preset: str) -> None:
    folder = ROOT / "examples" / preset
    expected = regenerate.rendered(preset)
    on_disk = {
        str(p.relative_to(folder)): p.read_text(encoding="utf-8")
        for p in folder.rglob("*")
        if p.is_file() and not CACHES & set(p.parts)
    }
    assert sorted(on_disk) == sorted(expected), "run: python examples/regenerate.py"
    stale = [path for path, text in expected.items() if on_disk[path] != text]
    assert not stale, f"stale example files {stale}; run: python examples/regenerate.py"
