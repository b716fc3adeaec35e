"""A differentially private tabular render holds the code to its spec's privacy guarantee through
the public interface only (issue 13: someone else's implementation must be able to meet it), and
ships no tests of dpgan.py, which every DP spec renders alike and ganspec's own suite tests once
(issue 12; tests/test_tabular_dpgan.py). Rendering only, but for one `ganspec check` of a
render with a seeded defect: the contracts that must catch it run, two short fits.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from ganspec.cli import cli
from ganspec.contracts import contract_files, contracts_in
from ganspec.interface import used_names
from ganspec.render.pipeline import render_files
from ganspec.validate import Report, validate_file
from tests.conftest import SPECS, validate_mutation
from tests.source_constants import module_constants

DP = "dpctgan-customers"
PRIVACY_TESTS = "tests/test_privacy.py"


@pytest.fixture(scope="module")
def dp_report() -> Report:
    return validate_file(SPECS / f"{DP}.yaml")


@pytest.fixture(scope="module")
def dp_files(dp_report: Report) -> dict[str, str]:
    return render_files(dp_report, set())


def test_the_contracts_use_no_private_name_and_not_dpgan_itself(dp_files: dict[str, str]) -> None:
    """What the rendered tests take from the project (PROMPT.md's interface) holds no name
    starting with an underscore, and nothing from dpgan.py, which an implementer may write
    differently."""
    used = used_names(dp_files)
    private = sorted(f"{m}.{n}" for m, names in used.items() for n in names if n.startswith("_"))
    assert private == []
    assert "dpgan" not in used


def test_no_rendered_test_exercises_dpgan_py(dp_files: dict[str, str]) -> None:
    """dpgan.py is rendered, its unit tests are not: they run once, in ganspec's suite."""
    assert "dpgan.py" in dp_files
    tests = {path: text for path, text in dp_files.items() if path.startswith("tests/")}
    assert "tests/test_dpgan.py" not in tests
    assert not [path for path, text in tests.items() if re.search(r"\bdpgan\b", text)]


@pytest.mark.parametrize("contracts_only", [False, True])
def test_the_prompt_names_no_private_method(
    dp_report: Report, dp_files: dict[str, str], contracts_only: bool
) -> None:
    """PROMPT.md asks for nothing private (it once listed DPGAN's ``_step_d`` and friends), and
    states the facts the privacy contracts check."""
    if contracts_only:
        prompt = render_files(dp_report, set(), contracts_only=True)["PROMPT.md"]
    else:
        prompt = dp_files["PROMPT.md"]
    assert re.findall(r"`_\w+|\._\w+\(", prompt) == []
    for fact in (
        "opacus.privacy_engine.get_noise_multiplier",
        "`PrivacyBudgetError`",
        "`privacy: epsilon {epsilon_spent:.3f} of {epsilon_target} spent (delta {delta})",
        "`epochs_completed`",
        "a contract makes `customers.text_rows` raise",
    ):
        assert fact in prompt, fact


def test_privacy_contracts_are_rendered_for_dp_specs_only(dp_files: dict[str, str]) -> None:
    """Each on the training loop (accounting) or the generator (samples); a spec without
    differential privacy gets neither them nor dpgan.py."""
    found = contracts_in(contract_files("tabular", dp_files))
    privacy = [c for c in found if c.file == PRIVACY_TESTS]
    assert len(privacy) >= 4
    assert {c.surface for c in privacy} == {"training loop", "generator"}
    plain = render_files(validate_file(SPECS / "ctgan-customers.yaml"), set())
    assert PRIVACY_TESTS not in plain and "dpgan.py" not in plain


def test_the_privacy_contracts_take_their_numbers_from_the_spec() -> None:
    """Another budget, clipping, accountant and batch size: the contracts hold the new numbers
    and name the spec's own source of real rows."""
    changes = {
        "privacy.differential_privacy.epsilon": 1.5,
        "privacy.differential_privacy.delta": 2.0e-6,
        "privacy.differential_privacy.max_grad_norm": 0.5,
        "privacy.differential_privacy.accountant": "prv",
        "synthesizer.ctgan.batch_size": 250,
    }
    report = validate_mutation(DP, changes)
    assert report.spec is not None and report.exit_code == 0, report.diagnostics
    source = render_files(report, set())[PRIVACY_TESTS]
    expected = {
        "EPSILON": 1.5,
        "DELTA": 2.0e-6,
        "MAX_GRAD_NORM": 0.5,
        "ACCOUNTANT": "prv",
        "ROWS": 250,
    }
    assert module_constants(source, set(expected)) == expected
    assert 'monkeypatch.setattr("customers.text_rows", refuse)' in source


def test_a_dpgan_that_ignores_the_budget_fails_the_training_loop(tmp_path: Path) -> None:
    """ganspec check on a render whose DP GAN takes every planned step, affordable or not: the
    budget contracts fail, each filed under the training loop."""
    project = tmp_path / "dp"
    rendered = CliRunner().invoke(cli, ["render", str(SPECS / f"{DP}.yaml"), "--out", str(project)])
    assert rendered.exit_code == 0, rendered.output
    dpgan = project / "dpgan.py"
    text = dpgan.read_text(encoding="utf-8")
    counted = re.search(r"budget = affordable_steps\(.*?\n        \)\n", text, re.DOTALL)
    assert counted is not None
    text = text.replace(counted.group(), 'budget = p["epochs"] * len(run.loader)\n')
    stop = 'if spent > p["epsilon"]:'
    assert text.count(stop) == 1  # an edit that missed would seed half the defect
    dpgan.write_text(text.replace(stop, "if False:"), encoding="utf-8")
    checked = CliRunner().invoke(
        cli, ["check", str(project), "--contract", "budget", "--format", "json"]
    )
    assert checked.exit_code == 1, checked.output
    surfaces = json.loads(checked.output)["surfaces"]
    failed = {s: [f["contract"] for f in found["failed"]] for s, found in surfaces.items()}
    assert failed == {
        "training loop": [
            f"{PRIVACY_TESTS}::test_training_stops_once_the_budget_is_spent",
            f"{PRIVACY_TESTS}::test_a_budget_too_small_for_one_step_is_refused",
        ]
    }
