"""A superres PROMPT.md states numbers an implementer cannot guess; they must be the ones the
rendered code uses: the network's receptive radius (computed in the render context, not in the
project), health.py's checks and upscale.py's size limits. And its Markdown holds together for
the spec choices that switch sentences on and off."""

from __future__ import annotations

import ast
import inspect
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch

from ganspec.render.pipeline import prompt_for
from ganspec.render.superres_prompt import REPLACED_BY_CONTRACTS
from ganspec.validate import validate_file
from tests.conftest import ROOT, SPECS, SUPERRES_PRESETS, validate_mutation
from tests.project_imports import project_imports
from tests.source_constants import module_constants
from tests.superres_project import modules as superres_modules
from tests.superres_project import project_folder

PROJECT = ROOT / "templates" / "superres" / "project"  # models.py, tiles.py: copied verbatim
# Text, then a Markdown bullet on the same line: a block tag that ended a template line ate the
# newline ("...at x4.- **tiled_forward** ...").
GLUED_BULLET = re.compile(r"\S\s*- \*\*")


@cache
def prompt(preset: str) -> str:
    return prompt_for(validate_file(SPECS / f"{preset}.yaml"))


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
    health = module_constants(
        (PROJECT / "health.py").read_text(encoding="utf-8"),
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
    upscale = (PROJECT / "upscale.py").read_text(encoding="utf-8")
    limits = module_constants(upscale, {"MAX_SIDE", "MAX_VALUES"})
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


def defined_parameters(module: str, function: str) -> list[str]:
    """The parameter names of a function of the rendered project."""
    (loaded,) = superres_modules(module)
    return list(inspect.signature(getattr(loaded, function)).parameters)


@pytest.mark.parametrize(
    ("module", "function"),
    [
        ("tiles", "tiled_forward"),
        ("tiles", "tiling_error"),
        ("tiles", "ramp"),
        ("images", "check_writable"),
        ("storage", "write_atomic"),
    ],
)
def test_the_stated_signatures_are_the_rendered_ones(module: str, function: str) -> None:
    """Helpers the PROMPT names with their parameters (health.py calls tiling_error, ganspec's
    suite replaces it and tiled_forward): the parameters the project's code defines."""
    text = prompt("realesr-general-x4v3")
    stated = [
        [p.split(":")[0].strip() for p in parameters.split(",")]
        for parameters in re.findall(rf"`(?:\w+\.)?{function}\(([^)]*)\)", text)
    ]
    signatures = [names for names in stated if all(n.isidentifier() for n in names)]  # not calls
    assert signatures, function
    for names in signatures:
        assert names == defined_parameters(module, function), function


def test_the_stated_releases_are_the_rendered_model_table() -> None:
    """The releases the PROMPT says models.MODELS holds, and how many: its keys in models.py."""
    tree = ast.parse((PROJECT / "models.py").read_text(encoding="utf-8"))
    table = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", "") == "MODELS"
    )
    assert isinstance(table, ast.Dict)
    keys = [ast.literal_eval(key) for key in table.keys if key is not None]
    sentence = re.search(r"`models.MODELS` holds the (\w+) release files ganspec knows, ([^(]*)\(",
                         prompt("realesr-general-x4v3"))  # fmt: skip
    assert sentence is not None
    assert sorted(re.findall(r"`([^`]+)`", sentence.group(2))) == sorted(keys)
    assert sentence.group(1) == {5: "five", 6: "six"}.get(len(keys), str(len(keys)))


def replaced_names(test_file: Path) -> set[str]:
    """``module.NAME`` for each ``monkeypatch.setattr(module, NAME, ...)`` in a test file, NAME
    a string or a loop variable over a tuple of strings."""
    tree = ast.parse(test_file.read_text(encoding="utf-8"))
    loops = {
        node.target.id: [ast.literal_eval(item) for item in node.iter.elts]
        for node in ast.walk(tree)
        if isinstance(node, ast.For)
        and isinstance(node.target, ast.Name)
        and isinstance(node.iter, ast.Tuple)
    }
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "monkeypatch.setattr":
            owner, name = node.args[0], node.args[1]
            assert isinstance(owner, ast.Name)
            names = loops[name.id] if isinstance(name, ast.Name) else [ast.literal_eval(name)]
            found |= {f"{owner.id}.{value}" for value in names}
    return found


def test_the_names_the_folders_tests_replace_are_the_ones_stated() -> None:
    """The PROMPT names what the project's own tests monkeypatch (so those are looked up when
    called); a bare name belongs to the module named before it."""
    stated, module = set(), ""
    for name in re.findall(r"`([\w.]+)`", REPLACED_BY_CONTRACTS):
        module, _, attribute = name.rpartition(".") if "." in name else (module, "", name)
        stated.add(f"{module}.{attribute}")
    found = set().union(*map(replaced_names, (project_folder() / "tests").glob("*.py")))
    assert found == stated
    assert f"This folder's tests replace {REPLACED_BY_CONTRACTS};" in prompt("realesr-general-x4v3")


@pytest.mark.usefixtures("superres_weights_elsewhere")
def test_a_weak_denoise_file_alone_fails_the_health_weights_check_as_stated() -> None:
    """The PROMPT's rule, `warn` only when no weights file of the contract exists: the weak
    file there without the release is a failed check, not a warning."""
    assert "`warn` if neither `contract.WEIGHTS` nor `WEAK_DENOISE_WEIGHTS` exists" in prompt(
        "realesr-general-x4v3"
    )
    contract, health, weights = superres_modules("contract", "health", "weights")
    weak = weights.resolve(contract.WEAK_DENOISE_WEIGHTS)
    weak.parent.mkdir(parents=True, exist_ok=True)
    weak.write_bytes(b"\0" * 64)
    _, check, used = health.load(torch.device("cpu"), seed=0)
    assert (check["name"], check["status"], used) == ("weights", "fail", "random")


def test_load_model_keeps_the_built_layout_as_stated() -> None:
    """Only prepare_model converts: load_model's network has build's float32, contiguous
    tensors (the contract compares a loaded model with the original by torch.equal)."""
    assert "`load_model` and `random_model` keep `models.build`'s float32 and memory layout" in (
        prompt("realesr-general-x4v3")
    )
    (weights,) = superres_modules("weights")
    network = weights.load_model("cpu", random_weights=True)
    tensors = [*network.parameters(), *network.buffers()]
    assert all(t.dtype == torch.float32 and t.is_contiguous() for t in tensors)


def test_the_last_tile_span_is_shortened_as_stated() -> None:
    """The last span ends at the length and is shortened, not moved back to a whole tile."""
    assert "so the last one is shortened, not moved back" in prompt("realesr-general-x4v3")
    (tiles,) = superres_modules("tiles")
    assert tiles.axis_spans(30, 24, 16) == [(0, 24), (8, 30)]


@pytest.mark.usefixtures("superres_weights_elsewhere")
def test_load_model_checks_the_main_weights_before_the_weak_ones_as_stated() -> None:
    """With neither file present, the missing release is named, not the weak file."""
    assert "`load_model` verifies and reads `contract.WEIGHTS` first, the weak file after" in (
        prompt("realesr-general-x4v3")
    )
    contract, weights = superres_modules("contract", "weights")
    with pytest.raises(
        weights.WeightsError, match=re.escape(weights.resolve(contract.WEIGHTS).name)
    ):
        weights.load_model("cpu")
