"""GS72x: the tabular data contract against the data. One streaming pass over the table
(ganspec/tabular/scan.py) finds what each rule reports, with the spec line and the data row."""

from __future__ import annotations

from collections.abc import Iterator

from ganspec.rules.registry import TABULAR, Finding, rule
from ganspec.tabular.context import TabularContext
from ganspec.tabular.scan import MAX_ROWS


def _found(ctx: TabularContext, code: str) -> Iterator[Finding]:
    for finding in ctx.scan.of(code):
        yield Finding(finding.path, finding.message, finding.fix, finding.where)


@rule(
    "GS720",
    "data-unreadable",
    "error",
    summary="The data cannot be read as a table: no such file, not a regular file, not UTF-8, "
    "malformed CSV, empty, no rows, Parquet without pyarrow, or scikit-learn missing for a "
    "bundled table.",
    why="Nothing about the data can be checked, and the rendered project would fail at its "
    "first line of loading; the message names the line where reading stopped.",
    example="data:\n  source: {type: csv, path: customers.csv}   # saved as Latin-1",
    fix="Fix the path (relative to the spec's folder), save the file as UTF-8 with a header "
    "row, or install what the message names.",
    kinds=TABULAR,
)
def unreadable(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS720")


@rule(
    "GS721",
    "data-columns-mismatch",
    "error",
    summary="The data's columns and the declared ones differ: a declared column is missing "
    "from the data, the data has a column the spec does not declare, or a header names one "
    "twice.",
    why="Every column is typed explicitly, never by SDV's auto-detection (which took `city` "
    "for PII and would have replaced it): an undeclared column would be guessed, a missing "
    "one cannot be learned.",
    example="data:\n  columns:\n    signup_date: {type: datetime, format: '%Y-%m-%d'}\n"
    "# customers.csv:1: customer_id,...,signup,...",
    fix="Declare every column the data has, with the data's exact names.",
    kinds=TABULAR,
)
def columns_match(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS721")


@rule(
    "GS722",
    "data-value-type",
    "error",
    summary="A value does not parse as its column's declared type (a whole number, a finite "
    "number, true/false, a date in the declared format, an id matching its regex), or a "
    "record has another number of fields than the header.",
    why="The synthesizer reads the column as declared; one bad value makes pandas read the "
    "whole column as text and SDV model it as a category, or stops the fit.",
    example="data:\n  columns:\n    age: {type: numerical, dtype: int}\n"
    "# customers.csv:48: C0000047,...,forty,...",
    fix="Correct the value, declare the type the data has, or list the text that means 'no "
    "value' under data.source.null_values.",
    kinds=TABULAR,
)
def value_types(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS722")


@rule(
    "GS723",
    "data-key-not-unique",
    "error",
    summary="The primary key has a duplicate or a missing value in the data.",
    why="SDV's metadata validation rejects a table whose primary key is not unique, and the "
    "synthetic keys are only meaningful if the real ones name one row each.",
    example="data:\n  primary_key: customer_id\n# customers.csv:48 repeats the key of line 12",
    fix="Keep one row per key, or choose another key column.",
    kinds=TABULAR,
)
def key_unique(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS723")


@rule(
    "GS724",
    "data-outside-declared",
    "error",
    summary="A value lies outside its column's declared min/max, or a categorical value is not "
    "one of its declared values.",
    why="The declaration is the contract the synthetic table is checked against (and, with "
    "differential privacy, the only range the synthesizer knows); real data outside it means "
    "the declaration or the data is wrong, and the synthetic table would break it.",
    example="data:\n  columns:\n    age: {type: numerical, dtype: int, min: 18, max: 90}\n"
    "# customers.csv:48: ...,17,...",
    fix="Widen the declaration (min, max, values) to what the column can be, or correct the data.",
    kinds=TABULAR,
)
def inside_declared(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS724")


@rule(
    "GS725",
    "data-null-not-allowed",
    "error",
    summary="A value is missing in a column not declared nullable.",
    why="Nulls are part of the contract: the synthesizer learns a column's missing rate only "
    "if it is declared to have one, and the output is checked against it.",
    example="data:\n  columns:\n    monthly_spend: {type: numerical, dtype: float}\n"
    "# customers.csv:48: ...,,...   (empty cell)",
    fix="Declare nullable: true, or fill the value.",
    kinds=TABULAR,
)
def nulls_allowed(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS725")


@rule(
    "GS726",
    "data-breaks-constraint",
    "error",
    summary="A real row breaks a declared constraint.",
    why="SDV learns constraints as rules that always hold; a real row that breaks one is "
    "either a data error or a wrong constraint, and the synthesizer would be fitted on a "
    "contradiction (SDV 2.0 refuses to fit data that breaks a constraint).",
    example="constraints:\n  - inequality: {low: signup_date, high: churn_date}\n"
    "# customers.csv:48: ...,2021-02-01,...,2021-01-03",
    fix="Correct the row, or the constraint if the data is right.",
    kinds=TABULAR,
)
def constraints_hold(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS726")


@rule(
    "GS727",
    "data-partly-checked",
    "info",
    summary=f"The table has more than {MAX_ROWS:,} rows; only those were checked.",
    why="validate reads the data in one bounded pass so that it stays fast on any file; rows "
    "past the limit are not checked here (the rendered project's contract tests check every "
    "row it trains on).",
    example="data:\n  source: {type: csv, path: events.csv}   # 30 million rows",
    fix="Nothing to do; or validate a sample of the table.",
    kinds=TABULAR,
)
def partly_checked(ctx: TabularContext) -> Iterator[Finding]:
    yield from _found(ctx, "GS727")
