"""PROMPT.md of one preset, compared with a reviewed snapshot.

The prompt is a product surface: a change to it should be seen in review. When a change is
intended, regenerate the snapshot and commit it with the change:

    GANSPEC_UPDATE_SNAPSHOTS=1 pytest tests/test_prompt_snapshot.py
"""

from __future__ import annotations

import os

import pytest

from ganspec.render.pipeline import prompt_for
from ganspec.validate import validate_file
from tests.conftest import IMAGE_PRESETS, ROOT, SPECS

SNAPSHOTS = ROOT / "tests" / "snapshots"


@pytest.mark.parametrize("preset", ["cgan-digits-32", "wgan-gp-64"])
def test_prompt_matches_its_snapshot(preset: str) -> None:
    text = prompt_for(validate_file(SPECS / f"{preset}.yaml"))
    snapshot = SNAPSHOTS / f"{preset}.PROMPT.md"
    if os.environ.get("GANSPEC_UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(text, encoding="utf-8")
    assert snapshot.is_file(), "no snapshot yet: run with GANSPEC_UPDATE_SNAPSHOTS=1"
    assert text == snapshot.read_text(encoding="utf-8"), (
        "PROMPT.md changed; if intended, run GANSPEC_UPDATE_SNAPSHOTS=1 pytest "
        "tests/test_prompt_snapshot.py and commit the snapshot"
    )


def test_prompt_has_no_placeholder_left() -> None:
    for spec in (SPECS / f"{name}.yaml" for name in IMAGE_PRESETS):  # tabular: not rendered yet
        text = prompt_for(validate_file(spec))
        for marker in ("{{", "}}", "{%", "TODO", "None", "null"):
            assert marker not in text.split("## Every number")[0], (spec.name, marker)
