"""PROMPT.md of one preset, compared with a reviewed snapshot.

The prompt is a product surface: a change to it should be seen in review. When a change is
intended, regenerate the snapshot and commit it with the change:

    GANSPEC_UPDATE_SNAPSHOTS=1 pytest tests/test_prompt_snapshot.py
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import pytest

from ganspec.render.pipeline import prompt_for
from ganspec.validate import validate_file
from tests.conftest import IMAGE_PRESETS, ROOT, SPECS, validate_mutation

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
        before, interface = text.split("## The interface the contracts use")
        prose = before + interface.split("## Acceptance criteria")[1]  # signatures say None
        # A value the prompt names on purpose is code (a checkpoint's `None`, a report's
        # `null`); a placeholder left by a missing value is bare text ("std None").
        prose = prose.replace("`None`", "").replace("`null`", "")
        for marker in ("{{", "}}", "{%", "TODO", "None", "null"):
            assert marker not in prose, (spec.name, marker)
        for marker in ("{{", "}}", "{%", "TODO"):
            assert marker not in interface, (spec.name, marker)


# Text, then a Markdown bullet on the same line: a block tag that ended a template line ate
# the newline under trim_blocks ("...betas=(0.5, 0.999))`.- **Device:** ...").
GLUED_BULLET = re.compile(r"\S\s*- \*\*")
# Every optional sentence of the training-loop section switched on at once.
OPTIONAL_TRAINING = {
    "training.lr_schedule": "cosine",
    "training.ema": 0.999,
    "training.instance_noise": {"std": 0.1, "decay_steps": 1000},
    "training.label_smoothing": 0.1,
    "training.r1": 0.1,
    "training.r1_every": 4,
}


def _prompts() -> Iterator[tuple[str, str]]:
    for name in IMAGE_PRESETS:
        yield name, prompt_for(validate_file(SPECS / f"{name}.yaml"))
    yield (
        "dcgan-64 + optional training",
        prompt_for(validate_mutation("dcgan-64", OPTIONAL_TRAINING)),
    )


def test_every_bullet_starts_its_own_line() -> None:
    for name, text in _prompts():
        for number, line in enumerate(text.splitlines(), 1):
            assert not GLUED_BULLET.search(line), f"{name} PROMPT.md:{number}: {line}"
