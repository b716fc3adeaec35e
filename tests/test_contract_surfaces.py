"""Every contract test a preset renders names its GAN surface, so ``ganspec check`` can report
each failure under the part of the GAN it concerns, and every surface a kind has is covered.

Surfaces are read statically (``ganspec.contracts.contracts_in``), as ``ganspec check`` reads
them: a test without ``@pytest.mark.surface(...)`` (or a module ``pytestmark``) would land in
no group. Rendering only, no training: about a second per preset.
"""

from __future__ import annotations

from collections import Counter

import pytest

from ganspec.contracts import SURFACES, Contract, contract_files, contracts_in
from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file
from tests.conftest import PRESET_KINDS, PRESET_NAMES, SPECS

# The surfaces each kind's contracts must cover: superres runs a released generator (no
# training, no discriminator); tabular's CTGAN critic is checked through its training only.
REQUIRED = {
    "image": set(SURFACES),
    "tabular": {"data pipeline", "generator", "training loop", "validation protocol"},
    "superres": {"data pipeline", "generator", "validation protocol"},
}


def contracts_and_pyproject(preset: str) -> tuple[list[Contract], str]:
    """The preset's contract tests, and its rendered pyproject.toml (one render each)."""
    report = validate_file(SPECS / f"{preset}.yaml")
    assert report.spec is not None, f"{preset} does not validate"
    files = render_files(report, agents=set())
    return contracts_in(contract_files(PRESET_KINDS[preset], files)), files["pyproject.toml"]


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_contract_is_filed_under_a_surface_its_kind_covers(preset: str) -> None:
    """Each contract names one of SURFACES; each surface the kind has gets at least one
    contract; the project registers the mark, so its own pytest run knows it."""
    found, pyproject = contracts_and_pyproject(preset)
    assert found, f"{preset} renders no contract tests"
    unnamed = [c.nodeid for c in found if c.surface not in SURFACES]
    assert not unnamed, f"{preset}: contracts without a surface in {SURFACES}: {unnamed}"

    counts = Counter(c.surface for c in found)
    missing = sorted(REQUIRED[PRESET_KINDS[preset]] - set(counts))
    assert not missing, f"{preset}: no contract on {missing} (counts: {dict(counts)})"

    pytest_options = pyproject.split("[tool.pytest.ini_options]", 1)[-1].split("\n[", 1)[0]
    assert '"surface(name): ' in pytest_options, f"{preset}: the surface mark is not registered"
