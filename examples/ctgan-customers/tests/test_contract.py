"""The data contract of customers, made executable: the real table keeps it, and so does every
synthetic table this project writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import contract
import sample
import synthesizer
from runfolder import synthesizer_path

OUTPUT_COLUMNS = [
    "customer_id",
    "name",
    "email",
    "age",
    "country",
    "city",
    "plan",
    "monthly_spend",
    "credit_limit",
    "support_tickets",
    "signup_date",
    "churned",
    "churn_date",
]


@pytest.mark.surface("data pipeline")
def test_the_real_table_keeps_the_contract(real: pd.DataFrame) -> None:
    """The real table has the declared columns and types and keeps every constraint."""
    assert contract.problems(real, real) == []


@pytest.mark.surface("generator")
def test_the_synthetic_table_has_the_declared_schema(synthetic: pd.DataFrame) -> None:
    """Columns in the declared order, each in its declared dtype."""
    assert list(synthetic.columns) == OUTPUT_COLUMNS
    for name in OUTPUT_COLUMNS:
        assert str(synthetic[name].dtype) == contract.COLUMNS[name][1], name


@pytest.mark.surface("generator")
def test_every_synthetic_row_keeps_every_constraint(
    synthetic: pd.DataFrame, train_rows: pd.DataFrame
) -> None:
    """Each of the 5 declared constraints holds on every row."""
    for name, verdict in contract.constraint_checks(synthetic, train_rows).items():
        assert verdict.all(), f"{name} broken on {int((~verdict).sum())} rows"


@pytest.mark.surface("generator")
def test_values_stay_in_their_declared_domain(synthetic: pd.DataFrame) -> None:
    """Bounds, categories, and missing values only in nullable columns."""
    for name, verdict in contract.domain_checks(synthetic).items():
        assert verdict.all(), f"{name}: broken on {int((~verdict).sum())} rows"


@pytest.mark.surface("generator")
def test_keys_are_unique_and_never_missing(synthetic: pd.DataFrame) -> None:
    """customer_id names one row each, and matches C[0-9]{7}."""
    keys = synthetic["customer_id"]
    assert keys.notna().all() and not keys.duplicated().any()
    assert keys.str.fullmatch("C[0-9]{7}").all()


@pytest.mark.surface("generator")
def test_faked_personal_data_never_holds_a_real_value(
    synthetic: pd.DataFrame, real: pd.DataFrame
) -> None:
    """Made by Faker, never learned, and no real value appears: name, email."""
    assert not set(synthetic["name"].dropna()) & set(real["name"].dropna())
    assert not set(synthetic["email"].dropna()) & set(real["email"].dropna())


@pytest.mark.surface("generator")
def test_a_saved_synthesizer_loads_and_samples_the_same_rows(
    fitted_run: Path, synthetic: pd.DataFrame
) -> None:
    """sample.py run twice on one saved synthesizer writes the same table."""
    again = sample.synthetic_table(fitted_run, len(synthetic), {})
    pd.testing.assert_frame_equal(again, synthetic)


@pytest.mark.surface("training loop")
def test_the_same_seed_fits_the_same_synthesizer(
    fitted_run: Path, short_fit: Callable[[], object]
) -> None:
    """A second fit with the seed on the same rows samples the rows the saved first fit
    samples (SDV's own fit is not seeded)."""
    first = synthesizer.load(synthesizer_path(fitted_run))
    pd.testing.assert_frame_equal(
        synthesizer.sample(short_fit(), 50), synthesizer.sample(first, 50)
    )


@pytest.mark.surface("generator")
def test_the_written_file_reads_back_as_the_same_table(
    synthetic: pd.DataFrame, tmp_path: Path
) -> None:
    """The csv file sample.py writes, read with the declared types, is the table."""
    import evaluate

    path = tmp_path / "table.csv"
    path.write_bytes(sample.encoded(synthetic))
    pd.testing.assert_frame_equal(evaluate.read_synthetic(path), synthetic, check_exact=False)


@pytest.mark.surface("generator")
def test_conditional_sampling_keeps_the_condition(fitted_run: Path) -> None:
    """sample.py --condition country=US: every row holds it, and the contract."""
    wanted = sample.conditions(["country=US"])
    table = sample.synthetic_table(fitted_run, 20, wanted)
    ((column, value),) = wanted.items()
    assert (table[column].astype(str) == str(value)).all()


@pytest.mark.surface("data pipeline")
def test_the_contract_catches_what_it_forbids(synthetic: pd.DataFrame, real: pd.DataFrame) -> None:
    """A value missing where none may be, one out of bounds and a duplicate key are reported."""
    broken = synthetic.copy()
    required = [n for n in OUTPUT_COLUMNS if not contract.COLUMNS[n][2]]
    broken.loc[broken.index[0], required[0]] = None
    problems = contract.problems(broken, real, columns=OUTPUT_COLUMNS)
    assert any(required[0] in p and "missing" in p for p in problems)
    broken = synthetic.copy()
    broken.loc[broken.index[0], "age"] = contract.BOUNDS["age"][1] + 1
    assert any(
        "age" in p and "bounds" in p
        for p in contract.problems(broken, real, columns=OUTPUT_COLUMNS)
    )
    broken = synthetic.copy()
    broken.loc[broken.index[1], "customer_id"] = broken["customer_id"].iloc[0]
    assert any("duplicate" in p for p in contract.problems(broken, real, columns=OUTPUT_COLUMNS))


@pytest.mark.surface("data pipeline")
def test_train_refuses_a_real_table_that_breaks_the_contract(
    monkeypatch: pytest.MonkeyPatch,
    real: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
) -> None:
    """A real table that breaks the contract is refused before anything is written: exit 2,
    "breaks the spec's contract" on stderr, no synthesizer."""
    import train

    broken = real.copy()
    required = [n for n in contract.COLUMNS if not contract.COLUMNS[n][2]]
    broken.loc[broken.index[0], required[0]] = None
    monkeypatch.setattr(train, "load_real", lambda: broken)
    assert train.main(["--epochs", "1", "--out", str(tmp_path / "run")]) == 2
    assert "breaks the spec's contract" in capsys.readouterr().err
    assert not synthesizer_path(tmp_path / "run").exists()
