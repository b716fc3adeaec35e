"""Facts about a tabular spec's contract that the rules and the data scan share: which columns
a constraint names, which column types it accepts, which columns are private."""

from __future__ import annotations

import difflib
from collections.abc import Iterator

from ganspec.diagnostics import elide
from ganspec.source import PathKey
from ganspec.spec.tabular import (
    Bounds,
    CategoricalColumn,
    Column,
    FixedCombinations,
    FixedCombinationsOptions,
    FixedIncrements,
    Inequality,
    Negative,
    NullRule,
    OneHot,
    Positive,
    Range,
    TabularSpec,
    constraint_of,
)

# The column types each constraint kind accepts (SDV 2.0's sdv.cag rules where SDV has it).
ORDERED = ("numerical", "datetime")
ACCEPTS: dict[str, tuple[str, ...]] = {
    "inequality": ORDERED,
    "range": ORDERED,
    "fixed_combinations": ("categorical",),
    "fixed_increments": ("numerical",),
    "one_hot": ("numerical",),
    "positive": ("numerical",),
    "negative": ("numerical",),
    "bounds": ("numerical",),
    "null_rule": ("numerical", "categorical", "boolean", "datetime"),
}


def constraint_columns(constraint: object) -> Iterator[tuple[PathKey, str]]:
    """(path inside the constraint, column name) of every column a constraint names."""
    if isinstance(constraint, Inequality):
        yield ("inequality", "low"), constraint.inequality.low
        yield ("inequality", "high"), constraint.inequality.high
    elif isinstance(constraint, Range):
        for end in ("low", "middle", "high"):
            yield ("range", end), getattr(constraint.range, end)
    elif isinstance(constraint, FixedCombinations):
        declared = isinstance(constraint.fixed_combinations, FixedCombinationsOptions)
        at: PathKey = ("fixed_combinations", "columns") if declared else ("fixed_combinations",)
        for index, name in enumerate(constraint.names()):
            yield (*at, index), name
    elif isinstance(constraint, OneHot):
        for index, name in enumerate(constraint.one_hot):
            yield ("one_hot", index), name
    elif isinstance(constraint, FixedIncrements):
        yield ("fixed_increments", "column"), constraint.fixed_increments.column
    elif isinstance(constraint, Positive):
        yield ("positive",), constraint.positive
    elif isinstance(constraint, Negative):
        yield ("negative",), constraint.negative
    elif isinstance(constraint, Bounds):
        yield ("bounds", "column"), constraint.bounds.column
    elif isinstance(constraint, NullRule):
        yield ("null_rule", "column"), constraint.null_rule.column
        yield ("null_rule", "when", "column"), constraint.null_rule.when.column


def type_problems(
    constraint: object, columns: dict[str, Column]
) -> Iterator[tuple[PathKey, str, str]]:
    """(path inside the constraint, message, fix) for each column of a type the constraint
    cannot use, a column named twice, or values that do not fit. Undeclared columns are
    GS707's, not these."""
    kind = constraint_of(constraint)
    assert kind is not None
    accepts = ACCEPTS[kind]
    named = list(constraint_columns(constraint))
    seen: dict[str, PathKey] = {}
    for path, name in named:
        column = columns.get(name)
        if column is None or column.type == "pii":  # undeclared: GS707; pii: GS710
            continue
        if name in seen and kind != "null_rule":
            yield (
                path,
                f"column '{name}' is named twice in one {kind} constraint",
                ("name each column once"),
            )
        seen.setdefault(name, path)
        if column.type not in accepts:
            wanted = " or ".join(accepts)
            yield (
                path,
                f"{kind} needs {wanted} columns; '{name}' is {column.type}",
                (f"name a {wanted} column, or remove the constraint"),
            )
    declared = [columns[name] for _, name in named if name in columns]
    declared = [column for column in declared if column.type in ORDERED]
    if kind in ("inequality", "range") and len({c.type for c in declared}) > 1:
        yield (
            (kind,),
            f"{kind} compares columns of one type; these mix numerical and datetime",
            ("compare numbers with numbers and dates with dates"),
        )
    if isinstance(constraint, NullRule):
        yield from _null_rule_problems(constraint, columns)
    if isinstance(constraint, FixedCombinations):
        yield from _combination_problems(constraint, columns)


def _combination_problems(
    constraint: FixedCombinations, columns: dict[str, Column]
) -> Iterator[tuple[PathKey, str, str]]:
    """Each declared combination's values must be declared values of their columns (when the
    column lists its values): a value no row can hold allows a combination that never is."""
    rows = constraint.allowed()
    if rows is None:
        return
    known: dict[int, tuple[str, set[str], list[str]]] = {}
    for at, name in enumerate(constraint.names()):
        column = columns.get(name)
        if isinstance(column, CategoricalColumn) and column.values is not None:
            values = [str(value) for value in column.values]
            known[at] = (name, set(values), values)
    suggested: dict[tuple[int, str], str | None] = {}
    for row, combination in enumerate(rows):
        for at, (name, allowed, values) in known.items():
            value = str(combination[at])
            if value in allowed:
                continue
            key = (at, value)
            if key not in suggested:
                close = difflib.get_close_matches(value, values, n=1, cutoff=0.6)
                suggested[key] = close[0] if close else None
            close = suggested[key]
            hint = f"; did you mean '{elide(close)}'?" if close else ""
            yield (
                ("fixed_combinations", "allowed", row, at),
                f"'{elide(value)}' is not one of the declared values of '{name}'{hint}",
                f"'{elide(close)}'"
                if close
                else f"add '{elide(value)}' to the values of {name}, or remove the combination",
            )


def _null_rule_problems(
    constraint: NullRule, columns: dict[str, Column]
) -> Iterator[tuple[PathKey, str, str]]:
    rule = constraint.null_rule
    target, when = columns.get(rule.column), columns.get(rule.when.column)
    if rule.column == rule.when.column:
        yield (
            ("null_rule", "when", "column"),
            "a column cannot decide its own nulls",
            ("name another column under when"),
        )
    if target is not None and not getattr(target, "nullable", False):
        yield (
            ("null_rule", "column"),
            f"'{rule.column}' is not nullable, so it is never missing",
            (f"set nullable: true on column {rule.column}"),
        )
    if when is None:
        return
    equals = rule.when.equals
    path: PathKey = ("null_rule", "when", "equals")
    if when.type == "boolean" and not isinstance(equals, bool):
        yield (
            path,
            f"'{rule.when.column}' is boolean; equals must be true or false",
            ("equals: true"),
        )
    elif when.type == "categorical" and when.values is not None:  # type: ignore[union-attr]
        allowed = {str(v) for v in when.values}  # type: ignore[union-attr]
        if isinstance(equals, bool) or str(equals) not in allowed:
            yield (
                path,
                f"{equals!r} is not one of the declared values of '{rule.when.column}'",
                (f"equals: one of {sorted(allowed)}"),
            )
    elif when.type == "numerical" and (isinstance(equals, bool) or not isinstance(equals, int)):
        yield path, f"'{rule.when.column}' is numerical; equals must be a number", "equals: 0"


def private_columns(spec: TabularSpec) -> dict[str, str]:
    """Columns never learned, with why: pii columns and privacy.sensitive ones."""
    private = {name: f"sensitive ({action})" for name, action in spec.privacy.sensitive.items()}
    for name, column in spec.data.columns.items():
        if column.type == "pii":
            private[name] = "pii"
    return private
