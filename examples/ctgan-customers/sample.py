"""Sample the synthetic customers table and write it as the spec's output declares.

    python sample.py                                  # 2000 rows to synthetic/customers.csv
    python sample.py --rows 100 --out some.csv
    python sample.py --condition country=US --rows 50   # conditional sampling

Rows come from the fitted synthesizer (``train.py`` fits it and writes this table once).
Only rows that keep the contract are written: rows that break a constraint are rejected
and more are drawn, and a final check here refuses to write a table that does not match the
declared schema. Columns never learned
are made here, not sampled: name (Faker name), email (Faker email).
The same fitted synthesizer always writes the same table.
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

import contract
import synthesizer
from data import DataError, load_real, split
from runfolder import synthesizer_path
from storage import CorruptFile, check_file, write_atomic

DEFAULT_RUN = Path("runs") / "ctgan_customers"
ROWS = 2000
OUTPUT = Path("synthetic/customers.csv")
FORMAT = "csv"
NULLS = "keep"  # keep: missing where the synthesizer puts it; none: no missing values
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
DECIMALS = {
    "monthly_spend": 2,
}
DATE_FORMATS = {
    "signup_date": "%Y-%m-%d",
    "churn_date": "%Y-%m-%d",
}
CONDITION_COLUMNS = [
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
]  # learned columns: not ids, not faked or dropped ones
MAX_ROUNDS = 20  # rounds of sampling to replace rows that break the contract
MAX_DRAW = 100_000  # rows drawn in one round at most


class SampleError(Exception):
    """Nothing fit to write; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--run", type=Path, default=DEFAULT_RUN, help="the fit's folder")
    parser.add_argument("--out", type=Path, default=OUTPUT)
    parser.add_argument(
        "--condition",
        action="append",
        default=[],
        metavar="COLUMN=VALUE",
        help="only rows where COLUMN holds VALUE (repeat for several columns)",
    )
    args = parser.parse_args(argv)
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    return args


def conditions(pairs: list[str]) -> dict[str, object]:
    """``['country=US']`` -> ``{'country': 'US'}``, each value in its column's type;
    SampleError for a column that is not learned, or a value that does not parse or lies outside
    its declared values or bounds."""
    values: dict[str, object] = {}
    for pair in pairs:
        column, sep, text = pair.partition("=")
        if not sep or column not in CONDITION_COLUMNS:
            raise SampleError(
                f"--condition {pair!r}: expected COLUMN=VALUE with a learned column, one of "
                f"{CONDITION_COLUMNS}"
            )
        value = typed(column, text)
        allowed = contract.VALUES.get(column)
        if allowed is not None and str(value) not in {str(v) for v in allowed}:
            raise SampleError(f"--condition {pair!r}: {column} is one of {allowed}")
        low, high = contract.BOUNDS.get(column, (None, None))
        if (low is not None and value < low) or (high is not None and value > high):
            raise SampleError(f"--condition {pair!r}: {column} lies in [{low}, {high}]")
        values[column] = value
    return values


def typed(column: str, text: str) -> object:
    kind, dtype, _ = contract.COLUMNS[column]
    try:
        if dtype == "Int64":
            return int(text)
        if dtype == "float64":
            return float(text)
        if dtype == "boolean":
            return {"true": True, "false": False}[text.lower()]
        if dtype.startswith("datetime"):
            return pd.Timestamp(text)
    except (ValueError, KeyError):
        raise SampleError(f"--condition {column}={text}: not a value of a {kind} column") from None
    return text


def reference() -> pd.DataFrame:
    """The real table: its training rows fix which combinations are allowed, and its
    faked and key columns are what no written value may equal."""
    return load_real()


def learned_rows(
    model: object, rows: int, wanted: dict[str, object], real: pd.DataFrame | None
) -> pd.DataFrame:
    """``rows`` sampled rows that keep the contract: rows that break it are dropped and more
    are drawn, as many as the share kept so far says are needed."""
    kept: list[pd.DataFrame] = []
    found = drawn = 0
    for draw in range(MAX_ROUNDS):
        missing = rows - found
        if missing <= 0:
            break
        share = found / drawn if drawn else 1.0
        ask = min(MAX_DRAW, math.ceil(missing / max(share, 0.01)))
        if wanted:
            batch = synthesizer.sample_conditions(model, wanted, ask, draw)
        else:
            batch = synthesizer.sample(model, ask, draw)
        drawn += ask
        batch = as_written(batch)
        batch = batch[contract.valid_rows(batch, batch if real is None else real)]
        if NULLS == "none":
            batch = batch.dropna()
        kept.append(batch)
        found += len(batch)
    if found < rows:
        raise SampleError(
            f"only {found} of {drawn} sampled rows keep the contract after {MAX_ROUNDS} "
            f"rounds, {rows} needed: fit longer (train.py --epochs) or check the constraints"
        )
    return synthesizer.with_ids(pd.concat(kept, ignore_index=True).head(rows))


def fake_columns(table: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """The columns never learned, made from their declared domain or a Faker provider (seeded);
    a fake value that happens to equal a real one is drawn again."""
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(synthesizer.SEED)
    rows = len(table)
    table["name"] = pd.array(
        distinct_fakes(lambda: fake.name(), rows, set(real["name"].dropna())),
        dtype="string",
    )
    table["email"] = pd.array(
        distinct_fakes(lambda: fake.email(), rows, set(real["email"].dropna())),
        dtype="string",
    )
    return table


def distinct_fakes(make: Callable[[], str], rows: int, real: set[str]) -> list[str]:
    """``rows`` fake values, none equal to a real one (Faker's names can be real people's)."""
    values = []
    for _ in range(rows):
        value = make()
        for _ in range(100):
            if value not in real:
                break
            value = make()
        else:
            raise SampleError("Faker keeps making values that are in the real table")
        values.append(value)
    return values


def as_written(table: pd.DataFrame) -> pd.DataFrame:
    """Values as the file will hold them: declared decimals, dates in their declared format
    (read back), so the contract is checked on exactly what is written."""
    for name, places in DECIMALS.items():
        if name in table:
            table[name] = table[name].round(places)
    for name, fmt in DATE_FORMATS.items():
        if name in table:
            text = date_text(table[name], fmt)
            table[name] = pd.to_datetime(text, format=fmt, utc=is_aware(fmt)).dt.tz_localize(None)
    return table


def is_aware(fmt: str) -> bool:
    return "%z" in fmt or "%Z" in fmt


def date_text(column: pd.Series, fmt: str) -> pd.Series:
    """Dates (naive UTC, as data.py reads them) written in their declared format."""
    return (column.dt.tz_localize("UTC") if is_aware(fmt) else column).dt.strftime(fmt)


def finish(table: pd.DataFrame) -> pd.DataFrame:
    """Declared dtypes, declared column order."""
    for name in table.columns:
        table[name] = table[name].astype(contract.COLUMNS[name][1])
    return table[OUTPUT_COLUMNS]


def encoded(table: pd.DataFrame) -> bytes:
    """The table as the declared format's bytes, dates in their declared formats."""
    out = table.copy()
    for name, fmt in DATE_FORMATS.items():
        if name in out:
            out[name] = date_text(out[name], fmt)
    if FORMAT == "parquet":
        buffer = io.BytesIO()
        out.to_parquet(buffer, index=False)
        return buffer.getvalue()
    return out.to_csv(index=False).encode("utf-8")


def synthetic_table(run: Path, rows: int, wanted: dict[str, object]) -> pd.DataFrame:
    """The synthetic table of the fit saved in ``run``; SampleError when there is none."""
    path = synthesizer_path(run)
    if not path.is_file():
        raise SampleError(f"{path} does not exist: fit one first with `python train.py`")
    check_file(path)
    return table_from(synthesizer.load(path), rows, wanted)


def table_from(
    model: object, rows: int, wanted: dict[str, object], real: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The synthetic table as it will be written; SampleError when it cannot keep the contract.
    ``real``: the real table when the caller has read it already (train.py), else it is read."""
    if real is None:
        real = reference()
    train = split(real)[0]
    try:
        table = learned_rows(model, rows, wanted, train)
    except ValueError as exc:  # SDV cannot meet a condition, for one
        raise SampleError(
            f"cannot sample {rows} rows{' for ' + str(wanted) if wanted else ''}: {exc}"
        ) from None
    table = fresh_keys(table, real)
    table = fake_columns(table, real)
    table = finish(table)
    broken = contract.problems(table, train, columns=OUTPUT_COLUMNS)
    if broken:
        raise SampleError("the sampled table breaks the contract:\n  " + "\n  ".join(broken))
    return table


def fresh_keys(table: pd.DataFrame, real: pd.DataFrame) -> pd.DataFrame:
    """SDV makes ids from the regex in order, the way many real keys were made: an id equal to
    a real one is replaced by the next regex value no row and no real row holds."""
    from rdt.transformers.utils import strings_from_regex

    taken = set(real["customer_id"].dropna()) | set(table["customer_id"].dropna())
    clashes = table["customer_id"].isin(set(real["customer_id"].dropna()))
    if clashes.any():
        generated, _ = strings_from_regex("C[0-9]{7}")
        free = (value for value in generated if value not in taken)
        replacements = [next(free, None) for _ in range(int(clashes.sum()))]
        if None in replacements:
            raise SampleError("the id regex has too few values to avoid the real ids")
        table.loc[clashes, "customer_id"] = replacements
    return table


def write_table(path: Path, table: pd.DataFrame) -> None:
    """The table in the declared format, written atomically (a crash leaves the old file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, encoded(table))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        table = synthetic_table(args.run, args.rows, conditions(args.condition))
        write_table(args.out, table)
    except (SampleError, DataError, CorruptFile) as exc:
        print(f"sample.py: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {len(table)} rows to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
