"""The real customers table, read with the types the spec declares, and its seeded split.

Every column is typed here, never guessed: SDV's auto-detection would, for instance, take a
city for personal data and replace it. Text cells are parsed column by column; a value that
does not parse is reported with its row, not trained on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SEED = 0
HOLDOUT = 0.2  # share of real rows kept out of training, for the privacy checks
COLUMNS = [
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
BOOLEANS = {
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
}


class DataError(ValueError):
    """The real table does not match the spec: a clear message, never a traceback."""


def load_real() -> pd.DataFrame:
    """The real table with every column in its declared type (missing values as NA)."""
    raw = _read_raw()
    missing = [name for name in COLUMNS if name not in raw.columns]
    extra = [name for name in raw.columns if name not in COLUMNS]
    if missing or extra:
        raise DataError(
            f"the table's columns do not match the spec: missing {missing}, undeclared {extra}"
        )
    return pd.DataFrame({name: PARSERS[name](raw[name]) for name in COLUMNS})


def _read_raw() -> pd.DataFrame:
    """The customers demo table, made from the seed (customers.py, standard library only)."""
    import customers

    rows = customers.text_rows(SEED, 2000)
    return pd.DataFrame(rows, columns=list(customers.COLUMNS)).replace("", pd.NA)


def _bad(series: pd.Series, parsed: pd.Series, what: str) -> None:
    """Refuse a column whose values did not parse, naming the first rows that failed."""
    failed = parsed.isna() & series.notna()
    if failed.any():
        where = [int(i) + 1 for i in series.index[failed][:5]]
        place = "row(s)"
        values = [str(v) for v in series[failed][:5]]
        raise DataError(
            f"column {series.name!r}: {int(failed.sum())} value(s) are not {what}, e.g. "
            f"{values} on {place} {where}"
        )


def _number(series: pd.Series) -> pd.Series:
    parsed = pd.to_numeric(series, errors="coerce")
    _bad(series, parsed, "numbers")
    return parsed


def parse_0(series: pd.Series) -> pd.Series:
    """customer_id: an id."""
    return series.astype("string")


def parse_1(series: pd.Series) -> pd.Series:
    """name: personal data (name), never learned."""
    return series.astype("string")


def parse_2(series: pd.Series) -> pd.Series:
    """email: personal data (email), never learned."""
    return series.astype("string")


def parse_3(series: pd.Series) -> pd.Series:
    """age: int, >= 18, <= 90."""
    parsed = _number(series)
    fractional = parsed.notna() & (parsed != parsed.round())
    _bad(series, parsed.mask(fractional), "whole numbers")
    return parsed.astype("Int64")


def parse_4(series: pd.Series) -> pd.Series:
    """country: one of 7 declared values."""
    return (
        series.astype(object)
        .where(series.notna(), None)
        .map(lambda value: value if value is None else str(value))
    )


def parse_5(series: pd.Series) -> pd.Series:
    """city: one of 14 declared values."""
    return (
        series.astype(object)
        .where(series.notna(), None)
        .map(lambda value: value if value is None else str(value))
    )


def parse_6(series: pd.Series) -> pd.Series:
    """plan: one of 3 declared values."""
    return (
        series.astype(object)
        .where(series.notna(), None)
        .map(lambda value: value if value is None else str(value))
    )


def parse_7(series: pd.Series) -> pd.Series:
    """monthly_spend: float, >= 5.0, <= 500.0, may be missing."""
    return _number(series).astype("float64")


def parse_8(series: pd.Series) -> pd.Series:
    """credit_limit: int, >= 500, <= 20000."""
    parsed = _number(series)
    fractional = parsed.notna() & (parsed != parsed.round())
    _bad(series, parsed.mask(fractional), "whole numbers")
    return parsed.astype("Int64")


def parse_9(series: pd.Series) -> pd.Series:
    """support_tickets: int, >= 0, <= 30."""
    parsed = _number(series)
    fractional = parsed.notna() & (parsed != parsed.round())
    _bad(series, parsed.mask(fractional), "whole numbers")
    return parsed.astype("Int64")


def parse_10(series: pd.Series) -> pd.Series:
    """signup_date: a date written as %Y-%m-%d."""
    parsed = pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")
    _bad(series, parsed, "dates written as %Y-%m-%d")
    return parsed.astype("datetime64[ns]")


def parse_11(series: pd.Series) -> pd.Series:
    """churned: true or false."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype("boolean")
    parsed = series.map(BOOLEANS.get)
    _bad(series, parsed, "true/false")
    return parsed.astype("boolean")


def parse_12(series: pd.Series) -> pd.Series:
    """churn_date: a date written as %Y-%m-%d, may be missing."""
    parsed = pd.to_datetime(series, format="%Y-%m-%d", errors="coerce")
    _bad(series, parsed, "dates written as %Y-%m-%d")
    return parsed.astype("datetime64[ns]")


PARSERS = {
    "customer_id": parse_0,
    "name": parse_1,
    "email": parse_2,
    "age": parse_3,
    "country": parse_4,
    "city": parse_5,
    "plan": parse_6,
    "monthly_spend": parse_7,
    "credit_limit": parse_8,
    "support_tickets": parse_9,
    "signup_date": parse_10,
    "churned": parse_11,
    "churn_date": parse_12,
}


def split(real: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(train, holdout): the same seed holds out the same rows, so the privacy checks compare
    synthetic rows with real rows the synthesizer never saw."""
    order = np.random.default_rng(SEED).permutation(len(real))
    cut = len(real) - max(1, round(HOLDOUT * len(real)))
    return real.iloc[np.sort(order[:cut])], real.iloc[np.sort(order[cut:])]
