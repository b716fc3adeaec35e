"""A superres PROMPT.md states numbers an implementer cannot guess; they must be the ones the
rendered code uses: the network's receptive radius (computed in the render context, not in the
project), health.py's checks and upscale.py's size limits. And its Markdown holds together for
the spec choices that switch sentences on and off."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch

from ganspec.render.pipeline import prompt_for
from ganspec.validate import validate_file
from tests.conftest import ROOT, SPECS, SUPERRES_PRESETS, validate_mutation
from tests.project_imports import project_imports

PROJECT = ROOT / "templates" / "superres" / "project"  # models.py, tiles.py: copied verbatim
# Text, then a Markdown bullet on the same line: a block tag that ended a template line ate the
# newline ("...at x4.- **tiled_forward** ...").
GLUED_BULLET = re.compile(r"\S\s*- \*\*")


@cache
def prompt(preset: str) -> str:
    return prompt_for(validate_file(SPECS / f"{preset}.yaml"))


def constants(module: Path, names: set[str]) -> dict[str, Any]:
    """Module-level constants of a verbatim project file, read without importing it."""
    found = {}
    for node in ast.parse(module.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name) and target.id in names:
                code = compile(ast.Expression(node.value), str(module), "eval")
                found[target.id] = eval(code, {"__builtins__": {}, "slice": slice})
    assert set(found) == names
    return found


def assert_well_formed(text: str, label: object) -> None:
    prose = text.split("## The interface the contracts use")[0]
    for number, line in enumerate(prose.splitlines(), 1):
        assert not GLUED_BULLET.search(line), f"{label} PROMPT.md:{number}: {line}"
    words = re.sub(r"`[^`]*`", "", prose)  # code may say None ([:, None]); the prose may not
    for marker in ("{{", "}}", "{%", "None"):
        assert marker not in words, (label, marker)


@pytest.mark.parametrize("preset", SUPERRES_PRESETS)
def test_the_stated_receptive_radius_is_the_rendered_networks(preset: str) -> None:
    """The PROMPT says whether the spec's tile_pad covers the network's reach; the radius it
    gives is what the project's tiles.receptive_radius computes for the spec's network."""
    model = validate_file(SPECS / f"{preset}.yaml").spec.model.name
    with project_imports(PROJECT) as modules, torch.device("meta"):  # no weights allocated
        radius = modules["tiles"].receptive_radius(modules["models"].build(model))
    assert f"The receptive radius is {radius}: " in prompt(preset)
    assert_well_formed(prompt(preset), preset)


def test_the_stated_health_checks_and_size_limits_are_the_rendered_ones() -> None:
    text = prompt("realesr-general-x4v3")
    health = constants(
        PROJECT / "health.py",
        {"CROP", "TILE", "TILE_OVERLAP", "TILING_TOLERANCE", "DEFAULT_STEPS", "JPEG_MEAN_ERROR",
         "CRASH_LINES"},
    )  # fmt: skip
    rows, cols = health["CROP"]
    for stated in [
        f"china.jpg[{rows.start}:{rows.stop}, {cols.start}:{cols.stop}]",
        f"output_size({rows.stop - rows.start}, {cols.stop - cols.start}, outscale)",
        f"tile {health['TILE']}, overlap {health['TILE_OVERLAP']}",
        f"min(tile_pad, {health['TILE'] - 1})",
        f"`--steps` {health['DEFAULT_STEPS']}",
        f"mean absolute error <= {health['JPEG_MEAN_ERROR']:g}",
        f"its last {health['CRASH_LINES']} lines",
    ]:
        assert stated in text, stated
    tolerances = re.search(r"<= (\S+) in fp32, (\S+) fp16, (\S+) bf16", text)
    assert tolerances is not None
    assert (
        dict(zip(["fp32", "fp16", "bf16"], map(float, tolerances.groups()), strict=True))
        == (health["TILING_TOLERANCE"])
    )
    limits = constants(PROJECT / "upscale.py", {"MAX_SIDE", "MAX_VALUES"})
    assert f"over {limits['MAX_SIDE']:,} pixels a side" in text
    assert limits["MAX_VALUES"] == 2**31 and "or 2**31 values" in text


@pytest.mark.parametrize(
    "changes",
    [
        {"inference.tile": 0, "input.alpha": "refuse", "input.bit_depth": "8"},
        {"inference.tile_pad": 40, "model.denoise_strength": 1.0, "output.format": "jpg"},
    ],
)
def test_optional_sentences_keep_the_markdown_whole(changes: dict[str, Any]) -> None:
    text = prompt_for(validate_mutation("realesr-general-x4v3", changes))
    assert_well_formed(text, changes)
    assert ("The receptive radius is 34: the pad covers it" in text) is (
        "inference.tile_pad" in changes
    )
