"""The synthesizer: SDV 2.0's CTGANSynthesizer with this spec's metadata, numbers and
constraints written out, and a fit that the seed makes repeatable.

SDV 2.0 API (not 1.x): ``Metadata.load_from_dict``, ``synthesizer.add_constraints`` with
``sdv.cag`` classes, ``fit`` and ``sample`` take and give ``{table: DataFrame}``,
``sdv.utils.load_synthesizer``. SDV 2.0 has no Positive, Negative or ScalarRange: those rules
and the null rules are ``ContractRules`` below, checked by contract.py.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import IO

import cloudpickle
import numpy as np
import pandas as pd
import torch
from sdv.cag import (
    FixedCombinations,
    FixedIncrements,
    Inequality,
    SingleTableProgrammableConstraint,
)
from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer
from sdv.utils import load_synthesizer

import contract
from metadata import METADATA, TABLE

SEED = 0
EPOCHS = 300
MODEL_COLUMNS = list(METADATA["tables"][TABLE]["columns"])  # ids included: SDV makes new ones


class ContractRules(SingleTableProgrammableConstraint):
    """The constraints SDV 2.0 has no class for, enforced by rejection: sampled rows that break
    them are dropped and resampled; a null rule's "missing where" half is
    repaired instead (the value is removed)."""

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        return data

    def get_updated_metadata(self, metadata: Metadata) -> Metadata:
        return metadata

    def reverse_transform(self, data: pd.DataFrame) -> pd.DataFrame:
        df = data
        # constraints[4]: churn_date is missing where the rule says
        data.loc[df["churned"].eq(False).fillna(False).astype(bool), "churn_date"] = None
        return data

    def is_valid(self, data: pd.DataFrame) -> pd.Series:
        df = data
        keep = pd.Series(True, index=df.index)
        keep &= contract.positive_3(df, df)
        keep &= contract.null_rule_4(df, df)
        return keep


def seed_everything(seed: int = SEED) -> None:
    """CTGAN draws from Python's, NumPy's and torch's generators, and its data transformer fits
    Gaussian mixtures from NumPy's: seeding all three makes the same seed fit the same model
    (on the same device and thread count)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build(epochs: int = EPOCHS, device: str = "auto") -> CTGANSynthesizer:
    """CTGAN with every number of the spec's synthesizer.ctgan written out, and any constraints
    added; device auto means CUDA when torch sees one."""
    use_gpu = torch.cuda.is_available() if device == "auto" else device == "cuda"
    synthesizer = CTGANSynthesizer(
        Metadata.load_from_dict(METADATA),
        enforce_min_max_values=True,
        enforce_rounding=True,
        epochs=epochs,
        batch_size=500,
        pac=10,
        generator_dim=[256, 256],
        discriminator_dim=[256, 256],
        embedding_dim=128,
        generator_lr=0.0002,
        discriminator_lr=0.0002,
        generator_decay=1e-06,
        discriminator_decay=1e-06,
        discriminator_steps=1,
        log_frequency=True,
        enable_gpu=use_gpu,
        verbose=True,  # CTGAN's own progress bar, with both losses
    )
    # ContractRules goes first: SDV undoes constraints in reverse order, so it checks rows
    # after every other constraint has restored its columns.
    synthesizer.add_constraints(
        [
            ContractRules(),
            Inequality("signup_date", "churn_date", strict_boundaries=True),  # constraints[0]
            FixedCombinations(["country", "city"]),  # constraints[1]
            FixedIncrements("credit_limit", 500),  # constraints[2]
        ]
    )
    return synthesizer


def fit(synthesizer: CTGANSynthesizer, train: pd.DataFrame, seed: int = SEED) -> None:
    """Fit on the training rows' model columns, seeded first (SDV does not seed its fit)."""
    seed_everything(seed)
    synthesizer.fit({TABLE: train[MODEL_COLUMNS]})


def sample(synthesizer: CTGANSynthesizer, rows: int, draw: int = 0) -> pd.DataFrame:
    """``rows`` rows of the model's columns. Draw 0 first calls ``reset_sampling()``: SDV then
    samples from its own fixed seed, as after a fit, so the same fitted synthesizer gives the
    same rows (saved or not); later draws go on from there."""
    if draw == 0:
        synthesizer.reset_sampling()
    return synthesizer.sample(rows)[TABLE]


def sample_conditions(
    synthesizer: CTGANSynthesizer, values: dict[str, object], rows: int, draw: int = 0
) -> pd.DataFrame:
    """``rows`` rows whose columns hold ``values``, through SDV's sample_from_conditions."""
    from sdv.sampling import Condition

    if draw == 0:
        synthesizer.reset_sampling()
    found = synthesizer.sample_from_conditions([Condition(values, num_rows=rows)])
    return found[TABLE]


def with_ids(table: pd.DataFrame) -> pd.DataFrame:
    """SDV made the ids already, from the metadata's regex (sample.py replaces one that
    equals a real id)."""
    return table


def losses(synthesizer: CTGANSynthesizer) -> list[dict[str, float]]:
    """Per epoch: the generator's and the discriminator's last loss."""
    table = synthesizer.get_loss_values()
    return [
        {
            "epoch": int(row["Epoch"]),
            "generator": float(row["Generator Loss"]),
            "discriminator": float(row["Discriminator Loss"]),
        }
        for _, row in table.iterrows()
    ]


def save(synthesizer: CTGANSynthesizer, file: IO[bytes]) -> None:
    """What ``synthesizer.save`` writes (cloudpickle), into an open file: storage.py makes the
    write atomic and checksummed."""
    cloudpickle.dump(synthesizer, file)


def load(path: Path) -> CTGANSynthesizer:
    return load_synthesizer(str(path))
