"""One short fit for the whole test session: the contract is checked on what it samples.

A few epochs do not make good data, but every row written must already keep the contract:
that is what sample.py guarantees, whatever the quality.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import synthesizer
from data import load_real, split
from runfolder import synthesizer_path
from storage import write_checked

TEST_EPOCHS = 2
TEST_ROWS = 200
# Below 500 rows CTGAN's data transformer encodes the columns in this process; from 500 on it
# starts a pool of worker processes for it (about 10 s of a 15 s test fit on two cores).
FIT_ROWS = 480


@pytest.fixture(scope="session")
def real() -> pd.DataFrame:
    return load_real()


@pytest.fixture(scope="session")
def train_rows(real: pd.DataFrame) -> pd.DataFrame:
    return split(real)[0]


@pytest.fixture(scope="session")
def short_fit(train_rows: pd.DataFrame) -> Callable[[], object]:
    """Fits a new synthesizer for TEST_EPOCHS epochs on the first FIT_ROWS training rows
    (quick), with the spec's seed."""

    def fit() -> object:
        model = synthesizer.build(epochs=TEST_EPOCHS, device="cpu")
        synthesizer.fit(model, train_rows.head(FIT_ROWS))
        return model

    return fit


@pytest.fixture(scope="session")
def fitted_run(tmp_path_factory: pytest.TempPathFactory, short_fit: Callable[[], object]) -> Path:
    """A run folder holding a short fit, as train.py saves it."""
    run = tmp_path_factory.mktemp("run")
    model = short_fit()
    write_checked([synthesizer_path(run)], lambda file: synthesizer.save(model, file))
    return run


@pytest.fixture(scope="session")
def synthetic(fitted_run: Path) -> pd.DataFrame:
    """TEST_ROWS rows exactly as sample.py writes them."""
    import sample

    return sample.synthetic_table(fitted_run, TEST_ROWS, {})
