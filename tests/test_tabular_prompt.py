"""A tabular PROMPT.md leaves nothing to guess (issue 13): each fact a contracts-only agent had
to guess for ctgan-wine is stated once, the names it places are where the render defines them,
and passages about features the spec does not select are left out. Rendering only.
"""

from __future__ import annotations

import ast
import functools
import re

import pytest

from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import SPECS

# The round-3 agent's list A of guesses (issue 13), each as PROMPT.md now states it.
GUESSED_FACTS = (
    "concatenated with a fresh index 0..rows-1",  # synthetic_table's index
    "takes `train = split(load_real())[0]` itself",  # synthetic_table has no train argument
    "takes `train, holdout = split(load_real())` itself",  # evaluate(synthetic)
    "a contract replaces `train.load_real`",
    "any `contract.problems(real, real)` raises `DataError(\"the real table breaks the spec's",
    "`int` for an Int64 column",  # conditions() gives plain Python values
    "`enforce_rounding` learns decimals from the data, not the spec",
    "ints whole: a fraction does not parse",
    "renames the file, then its sidecar",
    "a count below 1 (`parser.error`)",
    "`CorruptFile` (a `ValueError`) in storage.py",
    "(creates OUT)",
    "share = rows kept / rows asked so far",
    "`steps` (epochs run: `len(losses)`)",
    "`device` (`--device` as given, mps as `cpu`)",
    "(PATH: the synthesizer file)",
    "(fixed: no flag)",
    "epochs from 0",
    "`<script>.py: message`",
    # Round 4's list A and contradictions.
    "it compares `VALUES` as text (a float `0.0` in target is not `0`)",  # dtypes before valid_rows
    "Int64 values whole, never rounded or cast",  # integer columns from SDV
    "the file's columns in their order, index 0..n-1, equal to the table written",  # read_synthetic
    "(`float64` for float numbers, `Int64` for ints and integer categories;",  # parser dtypes
    "over the quality report's properties, then the diagnostic report's",  # evaluation properties
    "`sample_conditions(synthesizer: CTGANSynthesizer, values: dict[str, object], rows: int,",
    '`synthesizer.get_loss_values()[["Epoch", "Generator Loss", "Discriminator Loss"]]`',
    "`get_column_plot({TABLE: train}, {TABLE: synthetic}, metadata, TABLE, column)`",
)


@functools.cache
def rendered(preset: str) -> dict[str, str]:
    """Every file of the preset's render, with the Copilot file and the contracts-only PROMPT.md
    (render_files still returns the modules: only ``render --contracts-only`` leaves them out)."""
    return render_files(validate_file(SPECS / f"{preset}.yaml"), {"copilot"}, contracts_only=True)


def prompt(preset: str) -> str:
    return rendered(preset)["PROMPT.md"]


@pytest.fixture(scope="module")
def wine() -> str:
    return prompt("ctgan-wine")


@pytest.mark.parametrize("fact", GUESSED_FACTS)
def test_each_guessed_fact_is_stated_once(wine: str, fact: str) -> None:
    assert wine.count(fact) == 1, fact


def test_the_exit_2_refusal_is_not_tied_to_load_real_alone(wine: str) -> None:
    """The contract breaks the real table with a missing value, which load_real accepts:
    the CLI section names both ways to exit 2 with "breaks the spec's contract"."""
    assert "2 on `DataError` (from `load_real`, or `the real table breaks" in wine


@pytest.mark.parametrize("preset", ["ctgan-wine", "dpctgan-customers"])
def test_the_names_the_prompt_places_are_defined_there(preset: str) -> None:
    files = rendered(preset)
    sentence = re.search(r"imports live in: (.+?)\.\n", files["PROMPT.md"], re.S)
    assert sentence, "no sentence placing the names the interface leaves out"
    for group in sentence.group(1).split("; "):
        names, module = group.rsplit(" in ", 1)
        defined = set()
        for node in ast.parse(files[module]).body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Assign):
                defined |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for name in re.findall(r"`(\w+)[`(]", names):
            if name != "ValueError":
                assert name in defined, (name, module)


UNSELECTED = (
    "regex_format",
    "add_constraints",
    "parquet",
    "date",
)


def test_features_the_spec_does_not_select_are_left_out(wine: str) -> None:
    """Wine has no ids, dates, constraints, fakes or parquet; the interface's docstrings are
    the render's own and may say more."""
    prose = wine.split("## The interface the contracts use")[0]
    assert [word for word in UNSELECTED if word in prose] == []
    assert "**Must not:** see a faked" not in prose
    assert "Constraints: none declared." in prose


def test_sdv_cag_is_named_only_where_sdv_adds_constraints() -> None:
    """AGENTS.md and the Copilot file name `sdv.cag` only for a CTGAN spec with constraints."""
    for preset, named in (
        ("ctgan-wine", False),
        ("ctgan-customers", True),
        ("dpctgan-customers", False),
    ):
        files = rendered(preset)
        for path in ("AGENTS.md", ".github/copilot-instructions.md"):
            assert ("sdv.cag" in files[path]) is named, (preset, path)


def test_a_spec_selecting_them_still_gets_them() -> None:
    customers = prompt("ctgan-customers")
    for passage in (
        "regex_format",
        "datetime_format",
        "dates by their format",
        "add_constraints([",  # the build call's constraints
        "constraints are `sdv.cag` classes added with",  # SDV's own constraint API
    ):
        assert passage in customers, passage
