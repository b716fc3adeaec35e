"""The data contract of customers as code: columns, types, bounds, keys, nulls, constraints.

The same checks run on the real table (train.py refuses to learn from rows that break it) and
on every synthetic one (sample.py keeps only rows that hold, the tests and evaluate.py measure
it). Each constraint is one function returning, row by row, whether it holds; a missing value
passes an ordering check, as in SDV.
"""

from __future__ import annotations

import pandas as pd

PRIMARY_KEY = "customer_id"
# column -> (type, pandas dtype, nullable)
COLUMNS: dict[str, tuple[str, str, bool]] = {
    "customer_id": ("id", "string", False),
    "name": ("pii", "string", False),
    "email": ("pii", "string", False),
    "age": ("numerical", "Int64", False),
    "country": ("categorical", "object", False),
    "city": ("categorical", "object", False),
    "plan": ("categorical", "object", False),
    "monthly_spend": ("numerical", "float64", True),
    "credit_limit": ("numerical", "Int64", False),
    "support_tickets": ("numerical", "Int64", False),
    "signup_date": ("datetime", "datetime64[ns]", False),
    "churned": ("boolean", "boolean", False),
    "churn_date": ("datetime", "datetime64[ns]", True),
}
# numerical and datetime columns -> (min, max) as declared (None: unbounded)
BOUNDS: dict[str, tuple[object, object]] = {
    "age": (18, 90),
    "monthly_spend": (5.0, 500.0),
    "credit_limit": (500, 20000),
    "support_tickets": (0, 30),
    "signup_date": (pd.Timestamp("2019-01-01T00:00:00"), pd.Timestamp("2023-12-31T00:00:00")),
    "churn_date": (pd.Timestamp("2019-01-02T00:00:00"), pd.Timestamp("2024-12-31T00:00:00")),
}
# categorical columns -> every allowed value
VALUES: dict[str, list[object]] = {
    "country": ["US", "DE", "FR", "GB", "IN", "BR", "JP"],
    "city": [
        "New York",
        "Chicago",
        "Austin",
        "Berlin",
        "Munich",
        "Paris",
        "Lyon",
        "London",
        "Manchester",
        "Mumbai",
        "Bengaluru",
        "Sao Paulo",
        "Tokyo",
        "Osaka",
    ],
    "plan": ["basic", "standard", "premium"],
}


def inequality_0(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """constraints[0]: churn_date > signup_date."""
    return (
        df["signup_date"].isna()
        | df["churn_date"].isna()
        | (df["churn_date"] > df["signup_date"]).fillna(False)
    ).astype(bool)


def fixed_combinations_1(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """constraints[1]: (country, city): only the real table's combinations.

    A row with a missing value in these columns passes."""
    names = ["country", "city"]
    known = real[names].dropna()
    seen = set(known.astype(str).itertuples(index=False, name=None))
    rows = df[names].astype(str).itertuples(index=False, name=None)
    allowed = [row in seen for row in rows]
    return pd.Series(allowed, index=df.index, dtype=bool) | df[names].isna().any(axis=1)


def fixed_increments_2(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """constraints[2]: credit_limit is a multiple of 500."""
    return (df["credit_limit"].isna() | (df["credit_limit"] % 500 == 0).fillna(False)).astype(bool)


def positive_3(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """constraints[3]: monthly_spend > 0."""
    return (df["monthly_spend"].isna() | (df["monthly_spend"] > 0).fillna(False)).astype(bool)


def null_rule_4(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """constraints[4]: churn_date is missing exactly where churned is false."""
    return df["churn_date"].isna() == df["churned"].eq(False).fillna(False).astype(bool)


CONSTRAINTS = {
    "constraints[0] inequality": inequality_0,
    "constraints[1] fixed_combinations": fixed_combinations_1,
    "constraints[2] fixed_increments": fixed_increments_2,
    "constraints[3] positive": positive_3,
    "constraints[4] null_rule": null_rule_4,
}


def constraint_checks(df: pd.DataFrame, real: pd.DataFrame) -> dict[str, pd.Series]:
    """Each constraint's verdict per row (True: holds); ``real`` is the training table, whose
    combinations fixed_combinations allows."""
    return {name: check(df, real) for name, check in CONSTRAINTS.items()}


def valid_rows(df: pd.DataFrame, real: pd.DataFrame) -> pd.Series:
    """Rows that keep every constraint and every column's declared domain."""
    keep = pd.Series(True, index=df.index)
    for verdict in constraint_checks(df, real).values():
        keep &= verdict
    for verdict in domain_checks(df).values():
        keep &= verdict
    return keep


def domain_checks(df: pd.DataFrame) -> dict[str, pd.Series]:
    """Per column present in ``df``: the value is in its declared bounds or values, and missing
    only where the column may be."""
    checks = {}
    for name, (low, high) in BOUNDS.items():
        if name in df:
            inside = pd.Series(True, index=df.index)
            if low is not None:
                inside &= (df[name] >= low).fillna(False).astype(bool)
            if high is not None:
                inside &= (df[name] <= high).fillna(False).astype(bool)
            checks[f"{name} within its bounds"] = inside | df[name].isna()
    for name, allowed in VALUES.items():
        if name in df:
            known = df[name].isna() | df[name].astype(str).isin([str(v) for v in allowed])
            checks[f"{name} one of its values"] = known.astype(bool)
    for name, (_type, _dtype, nullable) in COLUMNS.items():
        if name in df and not nullable:
            checks[f"{name} never missing"] = df[name].notna()
    return checks


def problems(df: pd.DataFrame, real: pd.DataFrame, columns: list[str] | None = None) -> list[str]:
    """Everything ``df`` breaks, in words with a count each: [] when it keeps the contract.
    ``columns``: the columns it must have, in order (default: all declared)."""
    found = []
    expected = list(COLUMNS) if columns is None else columns
    if list(df.columns) != expected:
        found.append(f"columns are {list(df.columns)}, expected {expected}")
    for name in df.columns:
        if name in COLUMNS and str(df[name].dtype) != COLUMNS[name][1]:
            found.append(f"{name} has dtype {df[name].dtype}, expected {COLUMNS[name][1]}")
    if PRIMARY_KEY is not None and PRIMARY_KEY in df:
        duplicates = int(df[PRIMARY_KEY].duplicated().sum())
        if duplicates:
            found.append(f"{PRIMARY_KEY}: {duplicates} duplicate key(s)")
    checks = {**domain_checks(df), **constraint_checks(df, real)}
    for name, verdict in checks.items():
        broken = int((~verdict).sum())
        if broken:
            found.append(f"{name}: broken on {broken} of {len(df)} rows")
    return found
