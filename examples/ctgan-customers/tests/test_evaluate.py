"""The validation protocol's own arithmetic: copies are counted, memorization is seen, and a
table is scored against every bar the spec sets."""

from __future__ import annotations

import pandas as pd
import pytest

import evaluate

pytestmark = pytest.mark.surface("validation protocol")


def test_exact_copies_count_rows_equal_to_a_training_row(train_rows: pd.DataFrame) -> None:
    """Three training rows copied into a table are three exact copies."""
    copied = train_rows.head(3)
    assert evaluate.exact_copies(copied, train_rows) == 3


def test_copies_of_training_rows_are_closer_to_train(train_rows: pd.DataFrame) -> None:
    """A 'synthetic' table of training rows is nearer the training rows than held-out ones
    (train and holdout equally large, so the comparison sees every training row)."""
    train, holdout = train_rows.head(40), train_rows.tail(40)
    assert evaluate.closer_to_train(train.head(20), train, holdout) > 0.9


def test_held_out_rows_are_not_closer_to_train(train_rows: pd.DataFrame) -> None:
    """Rows the synthesizer never saw show no memorization (about 0.5, not near 1)."""
    shuffled = train_rows.sample(frac=1.0, random_state=0)  # tables are often sorted
    holdout = shuffled.tail(80)
    train = shuffled.drop(holdout.index)
    assert evaluate.closer_to_train(holdout.head(40), train, holdout.tail(40)) < 0.8


def test_evaluate_scores_every_bar(synthetic: pd.DataFrame) -> None:
    """A sampled table gets every figure of the protocol, each a number in range."""
    report = evaluate.evaluate(synthetic)
    assert 0 <= report["quality"] <= 1 and 0 <= report["diagnostic"] <= 1
    assert report["constraint_adherence"] == 1.0
    assert report["contract_problems"] == []
    assert 0 <= report["closer_to_train"] <= 1
    assert report["ml_efficacy"]["target"] == "plan"
    assert isinstance(report["failed"], list)
