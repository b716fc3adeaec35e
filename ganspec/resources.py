"""Folders shipped with ganspec (specs/, templates/), found through the package.

An installed wheel carries them as ``ganspec/_data/<name>``; a source checkout (editable
install) has them at the repository root. Never looked up through the working directory.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped(name: str) -> Path:
    packaged = _PACKAGE / "_data" / name
    return packaged if packaged.is_dir() else _PACKAGE.parent / name
