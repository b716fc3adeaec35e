"""Format and check rendered Python with ruff, as the rendered project's own CI would.

A rendered file that ``ruff check`` rejects is a bug in a template, so it stops the render
with ruff's report instead of writing a project that fails its own linting.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path


class TemplateBug(Exception):
    """Rendered code fails ruff: a ganspec bug, reported with ruff's output."""


def _ruff() -> str:
    from ruff.__main__ import find_ruff_bin

    return find_ruff_bin()


def format_and_check(files: dict[str, str]) -> dict[str, str]:
    """Run ``ruff format`` then ``ruff check`` over the rendered tree; return formatted text."""
    python = {path for path in files if path.endswith(".py")}
    if not python:
        return files
    with tempfile.TemporaryDirectory(prefix="ganspec-render-") as scratch:
        root = Path(scratch)
        for path, text in files.items():
            if path in python or path == "pyproject.toml":
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        ruff = _ruff()
        for command in (["format", "--quiet", "."], ["check", "--quiet", "--no-cache", "."]):
            result = subprocess.run(
                [ruff, *command], cwd=root, capture_output=True, text=True, check=False
            )
            if result.returncode != 0:
                raise TemplateBug(
                    f"rendered code fails `ruff {command[0]}` (a ganspec template bug):\n"
                    f"{result.stdout}{result.stderr}"
                )
        formatted = dict(files)
        for path in python:
            formatted[path] = (root / path).read_text(encoding="utf-8")
        return formatted
