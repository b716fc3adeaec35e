"""templates/tabular/project/dpgan.py, the DP GAN every differentially private tabular spec
renders alike, tested once here rather than in every render: privacy accounting step by step,
the declared-only encoding, outputs inside the declarations, reproducibility and storage.

These are our own code's unit tests, so they call its private steps (``_step_d``, ``_step_g``,
``_private_training``); each render keeps its spec's privacy contracts, written against its
public interface (tests/test_privacy.py there). Small tables and networks: one shared fit.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from ganspec.render.engine import templates_dir
from tests.project_imports import project_imports

with project_imports(templates_dir() / "tabular" / "project") as imported:
    dpgan = imported["dpgan"]  # the template itself: it imports no other project module

DPGAN = dpgan.DPGAN
CategoricalField, DatetimeField, NumericalField = (
    dpgan.CategoricalField,
    dpgan.DatetimeField,
    dpgan.NumericalField,
)
decode, encode, epsilon_after = dpgan.decode, dpgan.encode, dpgan.epsilon_after

LOW, HIGH = pd.Timestamp("2020-01-01"), pd.Timestamp("2020-12-31")
FIELDS = (
    NumericalField("age", low=18, high=90, integer=True, decimals=None, nullable=False),
    NumericalField("score", low=0.0, high=10.0, integer=False, decimals=2, nullable=True),
    CategoricalField("colour", values=("red", "green", "blue"), nullable=True),
    CategoricalField("level", values=(1, 2, 3), nullable=False),
    CategoricalField("active", values=(False, True), nullable=False),
    DatetimeField("joined", low=LOW, high=HIGH, nullable=True),
)
NULLABLE = {field.name for field in FIELDS if field.nullable}
ROWS, BATCH, EPOCHS = 300, 100, 2
SMALL: dict[str, Any] = {
    "epsilon": 0.5,  # also the quickest to calibrate
    "delta": 1e-5,
    "epochs": EPOCHS,
    "batch_size": BATCH,
    "generator_dim": (32, 32),
    "discriminator_dim": (32, 32),
    "embedding_dim": 16,
}


def table(rows: int = ROWS, seed: int = 0) -> pd.DataFrame:
    """Rows as ganspec hands them over: Int64, float64, object, boolean, datetime64[ns]."""
    rng = np.random.default_rng(seed)
    score = rng.uniform(0, 10, rows).round(2)
    score[::6] = np.nan
    colour = rng.choice(["red", "green", "blue"], rows).astype(object)
    colour[::9] = np.nan
    seconds = rng.integers(0, int((HIGH - LOW).total_seconds()), rows)
    joined = pd.Series(LOW + pd.to_timedelta(seconds, unit="s")).astype("datetime64[ns]")
    joined[::7] = pd.NaT
    return pd.DataFrame(
        {
            "age": pd.array(rng.integers(18, 91, rows), dtype="Int64"),
            "score": score,
            "colour": pd.Series(colour, dtype=object),
            "level": pd.array(rng.choice([1, 2, 3], rows), dtype="Int64"),
            "active": pd.array(rng.random(rows) < 0.4, dtype="boolean"),
            "joined": joined,
        }
    )


@pytest.fixture(scope="module")
def progress() -> list[tuple[int, float, float]]:
    return []


@pytest.fixture(scope="module")
def fitted(progress: list[tuple[int, float, float]]) -> DPGAN:
    """One small model, fitted once for the tests that only read it."""
    model = DPGAN(FIELDS, seed=7, progress=lambda *args: progress.append(args), **SMALL)
    return model.fit(table())


def weights(model: DPGAN) -> dict[str, torch.Tensor]:
    assert model.generator is not None
    return model.generator.state_dict()


# --- privacy --------------------------------------------------------------------------------


def test_privacy_accounting_spends_at_most_the_target_epsilon(fitted: DPGAN) -> None:
    """The privacy record: epsilon spent <= target, noise > 0, every planned D step taken."""
    privacy = fitted.privacy
    assert privacy is not None
    assert 0 < privacy["epsilon_spent"] <= privacy["epsilon_target"] == 0.5
    assert privacy["delta"] == 1e-5
    assert privacy["noise_multiplier"] > 0
    assert privacy["max_grad_norm"] == 1.0
    assert privacy["sample_rate"] == pytest.approx(BATCH / ROWS)
    assert privacy["steps"] == EPOCHS * ROWS // BATCH > 0
    assert privacy["epochs_completed"] == EPOCHS
    assert privacy["accountant"] == "rdp"


def test_the_spent_epsilon_is_what_the_accountant_reports_for_the_steps_taken(
    fitted: DPGAN,
) -> None:
    """epsilon_spent is opacus's accounting of exactly the D steps taken (G steps are free)."""
    p = fitted.privacy
    assert p is not None
    again = epsilon_after("rdp", p["noise_multiplier"], p["sample_rate"], p["steps"], p["delta"])
    assert p["epsilon_spent"] == pytest.approx(again)


def test_training_stops_once_the_budget_is_spent(monkeypatch: pytest.MonkeyPatch) -> None:
    """With noise too small for the planned epochs, training stops at the last affordable step."""
    # opacus calibrates the noise to the planned epochs, so the budget never runs out early on
    # its own: force a noise multiplier that epsilon 1 affords for a few steps only.
    monkeypatch.setattr("opacus.privacy_engine.get_noise_multiplier", lambda **_: 3.0)
    model = DPGAN(FIELDS, seed=1, **{**SMALL, "epsilon": 1.0, "epochs": 5}).fit(table())
    privacy = model.privacy
    assert privacy is not None
    assert privacy["noise_multiplier"] == 3.0
    assert 0 < privacy["steps"] < 5 * ROWS // BATCH
    assert privacy["epochs_completed"] < 5
    assert privacy["epsilon_spent"] <= 1.0
    next_step = epsilon_after("rdp", 3.0, privacy["sample_rate"], privacy["steps"] + 1, 1e-5)
    assert next_step > 1.0
    assert len(model.loss_values) == math.ceil(privacy["steps"] / (ROWS // BATCH))


def private_run(model: DPGAN) -> Any:
    """The model's G and opacus-wrapped D, before any step."""
    return model._private_training(torch.from_numpy(encode(FIELDS, table())))


def test_the_generator_step_leaves_nothing_on_the_discriminator() -> None:
    """G's backward runs through D but writes no gradient there for D's private step to pick up,
    and costs no privacy."""
    model = DPGAN(FIELDS, seed=2, **SMALL)
    run = private_run(model)
    model._step_g(run)
    for parameter in run.discriminator.parameters():
        assert parameter.grad is None
        assert getattr(parameter, "grad_sample", None) is None
    assert run.engine.accountant.history == []


def test_every_d_step_counts_once_even_on_an_empty_poisson_batch() -> None:
    """A D step over real rows, or over none (an empty Poisson draw), is one privacy step."""
    model = DPGAN(FIELDS, seed=2, **SMALL)
    run = private_run(model)
    (real,) = next(iter(run.loader))
    model._step_d(run, real)
    model._step_d(run, real[:0])
    model._step_g(run)
    sigma, rate = run.optimizer_d.noise_multiplier, run.loader.sample_rate
    assert run.engine.accountant.history == [(sigma, rate, 2)]


def test_a_budget_too_small_for_the_accountant_is_refused() -> None:
    """Epsilon 0.05 cannot be certified by the RDP accountant: fit says so instead of training,
    with the error train.py turns into a refusal."""
    with pytest.raises(dpgan.PrivacyBudgetError, match="too small for 50 epochs"):
        DPGAN(FIELDS, seed=1, **{**SMALL, "epsilon": 0.05, "epochs": 50}).fit(table())


def test_a_budget_that_pays_for_no_step_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Noise so low that one D step overspends: fit refuses before any step, naming the noise."""
    monkeypatch.setattr("opacus.privacy_engine.get_noise_multiplier", lambda **_: 0.05)
    assert epsilon_after("rdp", 0.05, BATCH / ROWS, 1, 1e-5) > SMALL["epsilon"]
    model = DPGAN(FIELDS, seed=1, **SMALL)
    with pytest.raises(dpgan.PrivacyBudgetError, match="single training step at noise multiplier"):
        model.fit(table())
    assert model.generator is None and model.privacy is None


def test_the_prv_accountant_is_supported() -> None:
    """accountant='prv' trains and records its spend within the target."""
    model = DPGAN(FIELDS, seed=3, accountant="prv", **{**SMALL, "epochs": 1})
    privacy = model.fit(table()).privacy
    assert privacy is not None
    assert privacy["accountant"] == "prv"
    assert 0 < privacy["epsilon_spent"] <= 0.5


def test_only_the_bce_loss_is_accepted() -> None:
    """A non-bce loss (or an unknown accountant) is refused when the model is built."""
    with pytest.raises(ValueError, match="loss"):
        DPGAN(FIELDS, seed=0, loss="wgan-gp", **SMALL)
    with pytest.raises(ValueError, match="accountant"):
        DPGAN(FIELDS, seed=0, accountant="gdp", **SMALL)


# --- encoding -------------------------------------------------------------------------------


def test_encoding_reads_nothing_from_the_data() -> None:
    """The same value encodes the same way whatever range the rest of its table spans."""
    fields = (
        NumericalField("x", low=0.0, high=100.0, integer=False, decimals=None, nullable=False),
    )
    narrow = pd.DataFrame({"x": [15.0, 10.0, 20.0]})
    wide = pd.DataFrame({"x": [15.0, 0.0, 100.0, 55.0]})
    assert encode(fields, narrow)[0] == encode(fields, wide)[0]
    assert encode(fields, narrow)[0, 0] == pytest.approx(-0.7)  # by the declared bounds


def test_values_outside_the_declared_bounds_are_clipped() -> None:
    """Bounds are the contract: a value past them encodes as the bound itself."""
    fields = (
        NumericalField("x", low=0.0, high=10.0, integer=False, decimals=None, nullable=False),
    )
    encoded = encode(fields, pd.DataFrame({"x": [-5.0, 0.0, 10.0, 50.0]}))[:, 0]
    assert encoded.tolist() == [-1.0, -1.0, 1.0, 1.0]


def test_decoding_an_encoded_table_gives_it_back() -> None:
    """encode then decode is the identity on rows that honour the declarations."""
    frame = table()
    pd.testing.assert_frame_equal(decode(FIELDS, encode(FIELDS, frame)), frame)


def test_missing_values_in_a_non_nullable_column_are_refused() -> None:
    """Nulls are allowed only where declared."""
    frame = table()
    frame.loc[0, "age"] = pd.NA
    with pytest.raises(ValueError, match="age"):
        encode(FIELDS, frame)


def test_undeclared_categories_are_refused() -> None:
    """A category outside the declared values is an error, not a new one-hot slot."""
    frame = table()
    frame.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match="purple"):
        encode(FIELDS, frame)


# --- outputs --------------------------------------------------------------------------------


def test_samples_stay_inside_the_declarations(fitted: DPGAN) -> None:
    """Sampled columns keep their dtypes, bounds, declared values and rounding; nulls only where
    nullable."""
    rows = fitted.sample(400, seed=1)
    assert list(rows.columns) == [field.name for field in FIELDS]
    assert rows.dtypes.to_dict() == table().dtypes.to_dict()
    assert len(rows) == 400
    assert rows["age"].between(18, 90).all()
    score = rows["score"].dropna()
    assert score.between(0.0, 10.0).all() and (score == score.round(2)).all()
    assert set(rows["colour"].dropna()) <= {"red", "green", "blue"}
    assert set(rows["level"]) <= {1, 2, 3}
    assert set(rows["active"]) <= {False, True}
    joined = rows["joined"].dropna()
    assert joined.between(LOW, HIGH).all()
    for name in rows.columns:
        if name not in NULLABLE:
            assert not rows[name].isna().any(), name


def test_loss_values_are_finite_and_one_per_epoch(
    fitted: DPGAN, progress: list[tuple[int, float, float]]
) -> None:
    """loss_values holds one finite G and D loss per epoch, as progress was told."""
    assert [row["epoch"] for row in fitted.loss_values] == list(range(EPOCHS))
    for row in fitted.loss_values:
        assert math.isfinite(row["generator"]) and math.isfinite(row["discriminator"])
    assert progress == [
        (row["epoch"], row["generator"], row["discriminator"]) for row in fitted.loss_values
    ]


# --- reproducibility and storage ------------------------------------------------------------


def test_the_same_seed_gives_the_same_model_and_samples(fitted: DPGAN) -> None:
    """Same seed, same data: same weights, losses, privacy record and rows; and the caller's
    global torch RNG continues as if fit had not run."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    again = DPGAN(FIELDS, seed=7, **SMALL).fit(table())
    assert torch.equal(torch.rand(3), expected)
    for name, tensor in weights(fitted).items():
        assert torch.equal(tensor, weights(again)[name]), name
    assert again.loss_values == fitted.loss_values
    assert again.privacy == fitted.privacy
    pd.testing.assert_frame_equal(again.sample(100, seed=5), fitted.sample(100, seed=5))


def test_sampling_is_fixed_by_its_seed(fitted: DPGAN) -> None:
    """sample(n, seed) repeats its rows; another seed draws others."""
    first = fitted.sample(200, seed=11)
    pd.testing.assert_frame_equal(first, fitted.sample(200, seed=11))
    assert not first.equals(fitted.sample(200, seed=12))


def test_save_and_load_round_trip_samples_the_same_rows(fitted: DPGAN, tmp_path: Path) -> None:
    """A loaded model samples what the saved one did, from plain state (weights_only=True)."""
    path = tmp_path / "dpgan.pt"
    fitted.save(path)
    loaded = DPGAN.load(path)
    pd.testing.assert_frame_equal(loaded.sample(300, seed=2), fitted.sample(300, seed=2))
    assert loaded.fields == fitted.fields
    assert loaded.privacy == fitted.privacy
    assert loaded.loss_values == fitted.loss_values
    plain = (torch.Tensor, list, dict, str, int, float, bool, type(None))

    def check(value: Any) -> None:
        assert isinstance(value, plain), type(value)
        for item in value.values() if isinstance(value, dict) else []:
            check(item)
        for item in value if isinstance(value, list) else []:
            check(item)

    check(torch.load(path, weights_only=True))
