"""Check a tabular spec's contract against its data, row by row: one streaming pass, bounded.

What the data must show: the declared columns and no others, values that parse as their
declared type, a unique and never-missing key, values inside the declared bounds and
categories, nulls only where allowed, and every constraint holding. Each finding carries the
spec path it is about and the data row that shows it. At most ``MAX_ROWS`` rows are read and
``KEEP_PER_CODE`` findings of a code worded; the rest are counted.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ganspec.diagnostics import MAX_PER_CODE, DataLocation, elide
from ganspec.source import PathKey
from ganspec.spec.tabular import (
    Bounds,
    Column,
    DatetimeColumn,
    FixedCombinations,
    FixedIncrements,
    IdColumn,
    Inequality,
    Negative,
    NullRule,
    NumericalColumn,
    OneHot,
    Positive,
    Range,
    TabularSpec,
    constraint_of,
    naive_utc,
)
from ganspec.tabular.contract import constraint_columns, private_columns, type_problems
from ganspec.tabular.tables import Table, Unreadable, open_table

MAX_ROWS = 1_000_000
KEEP_PER_CODE = MAX_PER_CODE + 1  # cap_per_code shows 20 and counts the rest
MAX_DATE_CACHE = 100_000
MAX_UNKNOWN_VALUES = 1_000  # distinct undeclared categories remembered per column
# Cells people write for "no value" that a declared type rejects: the fix then names
# data.source.null_values.
_NULL_LOOKING = frozenset({"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "?"})
# The spellings pandas reads as booleans (tRUE or FaLsE stay text there).
_BOOLEANS = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
}


class _Missing:
    """A cell that did not parse: constraints skip it (its own finding says why)."""


MISSING = _Missing()


@dataclass(frozen=True)
class DataFinding:
    code: str
    path: PathKey
    message: str
    fix: str | None = None
    where: DataLocation | None = None


@dataclass
class Scan:
    """What one pass over the data found, and how much of it was read."""

    label: str | None = None
    rows: int = 0
    complete: bool = False  # every row was read (no unreadable part, no cap)
    findings: dict[str, list[DataFinding]] = field(default_factory=dict)
    unlisted: Counter[str] = field(default_factory=Counter)

    def wants(self, code: str) -> bool:
        """Whether a finding of ``code`` would be kept; counts it when not, so that the row
        loop words (and formats dates for) only the findings that are shown."""
        if len(self.findings.get(code, ())) < KEEP_PER_CODE:
            return True
        self.unlisted[code] += 1
        return False

    def add(self, finding: DataFinding) -> None:
        kept = self.findings.setdefault(finding.code, [])
        if len(kept) < KEEP_PER_CODE:
            kept.append(finding)
        else:
            self.unlisted[finding.code] += 1

    def of(self, code: str) -> list[DataFinding]:
        return self.findings.get(code, [])


# --- parsing one cell ------------------------------------------------------------------------


# What pandas reads as a number: ASCII digits only. Python's int() and float() also take
# surrounding spaces, underscores and Unicode digits (Arabic-Indic, full-width), which the
# render's pandas would not read as numbers.
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _parse_int(cell: Any) -> int:
    if type(cell) is str:
        if _INT.fullmatch(cell) is None:
            raise ValueError
        return int(cell)
    if type(cell) is int:
        return cell
    if type(cell) is float and cell.is_integer():  # Parquet keeps nullable ints as float64
        return int(cell)
    raise ValueError


def _parse_float(cell: Any) -> float:
    if type(cell) is str:
        if _FLOAT.fullmatch(cell) is None:
            raise ValueError
        value = float(cell)
    elif type(cell) in (int, float):
        value = float(cell)
    else:
        raise ValueError
    if not math.isfinite(value):
        raise ValueError
    return value


def _parse_bool(cell: Any) -> bool:
    if type(cell) is bool:
        return cell
    return _BOOLEANS[cell]


def _text(cell: Any) -> str:
    return cell if type(cell) is str else str(cell)


def _datetime_parser(fmt: str) -> Callable[[Any], datetime]:
    """strptime with a bounded cache: dates repeat, and strptime costs microseconds."""
    cache: dict[str, datetime] = {}
    strptime = datetime.strptime

    def parse(cell: Any) -> datetime:
        if type(cell) is str:
            value = cache.get(cell)
            if value is None:
                value = naive_utc(strptime(cell, fmt))
                if len(cache) < MAX_DATE_CACHE:
                    cache[cell] = value
            return value
        if isinstance(cell, datetime):
            return naive_utc(cell)
        if isinstance(cell, date):
            return datetime(cell.year, cell.month, cell.day)
        raise ValueError

    return parse


def _id_parser(regex: str | None) -> Callable[[Any], str]:
    if regex is None:
        return _text
    pattern = re.compile(regex)

    def parse(cell: Any) -> str:
        text = _text(cell)
        if pattern.fullmatch(text) is None:
            raise ValueError
        return text

    return parse


@dataclass
class _ColumnCheck:
    index: int  # position in a record
    slot: int  # position in the parsed row
    name: str
    column: Column
    parse: Callable[[Any], Any]
    expected: str  # what a value must be, in words
    nullable: bool
    hidden: str | None  # why values are not quoted (pii, sensitive), or None
    allowed: frozenset[str] | None = None
    low: Any = None
    high: Any = None
    unknown: dict[str, tuple[DataLocation, int]] = field(default_factory=dict)

    def show(self, value: Any) -> str:
        if self.hidden:
            return f"(a value, not shown: {self.hidden} column)"
        if isinstance(value, datetime) and isinstance(self.column, DatetimeColumn):
            return value.strftime(self.column.format)
        if isinstance(value, float):
            return f"{value:g}"
        return elide(str(value))


def _column_check(
    index: int, slot: int, name: str, column: Column, hidden: str | None
) -> _ColumnCheck:
    nullable = bool(getattr(column, "nullable", False))
    check = _ColumnCheck(index, slot, name, column, _text, "text", nullable, hidden)
    if isinstance(column, IdColumn):
        check.parse = _id_parser(column.regex)
        check.expected = f"an id matching {column.regex}" if column.regex else "an id"
    elif isinstance(column, NumericalColumn):
        whole = column.dtype == "int"
        check.parse = _parse_int if whole else _parse_float
        check.expected = "a whole number" if whole else "a finite number"
        check.low = -math.inf if column.min is None else column.min
        check.high = math.inf if column.max is None else column.max
    elif column.type == "categorical":
        if column.values is not None:  # type: ignore[union-attr]
            check.allowed = frozenset(str(v) for v in column.values)  # type: ignore[union-attr]
    elif column.type == "boolean":
        check.parse, check.expected = _parse_bool, "true or false"
    elif isinstance(column, DatetimeColumn):
        check.parse = _datetime_parser(column.format)
        check.expected = f"a date in the format {column.format}"
        low, high = column.bounds()
        check.low = datetime.min if low is None else low
        check.high = datetime.max if high is None else high
    return check


# --- constraints on parsed rows --------------------------------------------------------------

# A constraint's check of one parsed row: None when it holds, else what breaks it, worded
# only when called (most broken rows are counted, not shown).
RowCheck = Callable[[list[Any]], Callable[[], str] | None]


def _ordered(names: list[str], checks: dict[str, _ColumnCheck], strict: bool) -> RowCheck:
    """Each named column above the one before it (>, or >= when not strict)."""
    slots = [checks[name].slot for name in names]
    is_date = isinstance(checks[names[0]].column, DatetimeColumn)
    below = "before" if is_date else "below"

    def check(row: list[Any]) -> Callable[[], str] | None:
        values = [row[slot] for slot in slots]
        if None in values or MISSING in values:
            return None
        for at in range(1, len(values)):
            a, b = values[at - 1], values[at]
            if b > a or (b == a and not strict):
                continue
            low, high = names[at - 1], names[at]
            relation = below if b < a else "equal to"
            return lambda: (
                f"{high} {checks[high].show(b)} is {relation} {low} {checks[low].show(a)}"
            )
        return None

    return check


def _single(
    name: str, checks: dict[str, _ColumnCheck], holds: Callable[[Any], bool], wanted: str
) -> RowCheck:
    column = checks[name]
    slot = column.slot

    def check(row: list[Any]) -> Callable[[], str] | None:
        value = row[slot]
        if value is None or value is MISSING or holds(value):
            return None
        return lambda: f"{name} {column.show(value)} is not {wanted}"

    return check


def _increments(name: str, checks: dict[str, _ColumnCheck], step: int) -> RowCheck:
    def multiple(value: Any) -> bool:
        if isinstance(value, int):
            return value % step == 0
        ratio = value / step
        return abs(ratio - round(ratio)) <= 1e-9 * max(1.0, abs(ratio))

    return _single(name, checks, multiple, f"a multiple of {step}")


def _bounds(constraint: Bounds, checks: dict[str, _ColumnCheck]) -> RowCheck:
    options = constraint.bounds
    low = -math.inf if options.low is None else options.low
    high = math.inf if options.high is None else options.high
    if options.strict:
        holds: Callable[[Any], bool] = lambda v: low < v < high  # noqa: E731
        wanted = f"strictly between {low:g} and {high:g}"
    else:
        holds = lambda v: low <= v <= high  # noqa: E731
        wanted = f"between {low:g} and {high:g}"
    return _single(options.column, checks, holds, wanted)


def _one_hot(names: list[str], checks: dict[str, _ColumnCheck]) -> RowCheck:
    slots = [checks[name].slot for name in names]

    def check(row: list[Any]) -> Callable[[], str] | None:
        values = [row[slot] for slot in slots]
        if None in values or MISSING in values:
            return None
        if all(v in (0, 1) for v in values) and sum(values) == 1:
            return None

        def describe() -> str:
            pairs = zip(names, values, strict=True)
            shown = ", ".join(f"{n}={checks[n].show(v)}" for n, v in pairs)
            return f"exactly one of {', '.join(names)} must be 1 and the others 0; got {shown}"

        return describe

    return check


def _null_rule(constraint: NullRule, checks: dict[str, _ColumnCheck]) -> RowCheck:
    rule = constraint.null_rule
    target, when = checks[rule.column], checks[rule.when.column]
    equals: Any = rule.when.equals
    if when.column.type == "categorical":
        equals = str(equals)
    shown_equals = str(equals).lower() if isinstance(equals, bool) else str(equals)

    def check(row: list[Any]) -> Callable[[], str] | None:
        value, condition = row[target.slot], row[when.slot]
        if value is MISSING or condition is MISSING:
            return None
        should_miss = condition is not None and condition == equals
        if (value is None) == should_miss:
            return None
        if should_miss:
            return lambda: (
                f"{rule.column} is {target.show(value)}, but must be missing where "
                f"{rule.when.column} is {shown_equals}"
            )
        shown = "missing" if condition is None else when.show(condition)
        return lambda: (
            f"{rule.column} is missing, but may only be where {rule.when.column} is "
            f"{shown_equals} (it is {shown})"
        )

    return check


def _combinations(constraint: FixedCombinations, checks: dict[str, _ColumnCheck]) -> RowCheck:
    """Only the declared combinations. Categorical values are compared as the text the scan
    reads them as; a row with a missing value passes, and so does one with a value its column
    does not declare (GS724 reports that value)."""
    names = constraint.names()
    allowed = {tuple(str(value) for value in row) for row in constraint.allowed() or ()}
    columns = [checks[name] for name in names]
    slots = [column.slot for column in columns]
    declared = [column.allowed for column in columns]

    def check(row: list[Any]) -> Callable[[], str] | None:
        values = tuple(row[slot] for slot in slots)
        if values in allowed or None in values or MISSING in values:
            return None
        for value, known in zip(values, declared, strict=True):
            if known is not None and value not in known:
                return None

        def describe() -> str:
            pairs = zip(columns, values, strict=True)
            shown = ", ".join(f"{c.name} {c.show(v)}" for c, v in pairs)
            return f"{shown} is not a declared combination"

        return describe

    return check


def _row_check(constraint: object, checks: dict[str, _ColumnCheck]) -> RowCheck | None:
    """The check of one constraint on parsed rows; None when it only constrains synthesis
    (fixed_combinations without allowed holds on the real data by definition)."""
    if isinstance(constraint, Inequality):
        options = constraint.inequality
        return _ordered([options.low, options.high], checks, options.strict)
    if isinstance(constraint, Range):
        options = constraint.range
        return _ordered([options.low, options.middle, options.high], checks, options.strict)
    if isinstance(constraint, FixedIncrements):
        options = constraint.fixed_increments
        return _increments(options.column, checks, options.increment)
    if isinstance(constraint, OneHot):
        return _one_hot(constraint.one_hot, checks)
    if isinstance(constraint, Positive):
        return _single(constraint.positive, checks, lambda v: v > 0, "positive (> 0)")
    if isinstance(constraint, Negative):
        return _single(constraint.negative, checks, lambda v: v < 0, "negative (< 0)")
    if isinstance(constraint, Bounds):
        return _bounds(constraint, checks)
    if isinstance(constraint, NullRule):
        return _null_rule(constraint, checks)
    if isinstance(constraint, FixedCombinations) and constraint.allowed() is not None:
        return _combinations(constraint, checks)
    return None


# --- the pass ----------------------------------------------------------------------------------


def closest(word: str, choices: list[str]) -> str | None:
    """The choice a misspelt column name most likely meant, ignoring case."""
    lowered = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _match_header(spec: TabularSpec, table: Table, scan: Scan) -> dict[str, int]:
    """Declared column -> its position in the records; GS721 for what does not match."""
    declared = spec.data.columns
    positions: dict[str, int] = {}
    for index, name in enumerate(table.header):
        if name in positions:
            scan.add(
                DataFinding(
                    "GS721",
                    ("data", "columns"),
                    f"the header names column '{elide(name)}' twice (fields "
                    f"{positions[name] + 1} and {index + 1})",
                    "give every column its own name",
                    table.header_at,
                )
            )
        else:
            positions[name] = index
    extra = [name for name in positions if name not in declared]
    missing = [name for name in declared if name not in positions]
    for name in missing:
        close = closest(name, extra)
        if close is not None:  # one mistake (a renamed column), reported once
            extra.remove(close)
            scan.add(
                DataFinding(
                    "GS721",
                    ("data", "columns", name),
                    f"column '{elide(name)}' is declared, but the data has '{elide(close)}' "
                    "instead",
                    f"rename the declaration to '{elide(close)}', or the data's column to "
                    f"'{elide(name)}'",
                    table.header_at,
                )
            )
            continue
        scan.add(
            DataFinding(
                "GS721",
                ("data", "columns", name),
                f"column '{elide(name)}' is declared but not in the data",
                "remove the declaration, or add the column to the data",
                table.header_at,
            )
        )
    for name in extra:
        if name == "":  # e.g. a trailing delimiter: a name to declare is no fix
            field_number = positions[name] + 1
            scan.add(
                DataFinding(
                    "GS721",
                    ("data", "columns"),
                    f"the header's field {field_number} has no name",
                    f"name the unnamed column (field {field_number}), or remove it from the data",
                    table.header_at,
                )
            )
            continue
        scan.add(
            DataFinding(
                "GS721",
                ("data", "columns"),
                f"the data has a column '{elide(name)}' the spec does not declare",
                f"declare it under data.columns ('{elide(name)}': {{type: ...}}), or remove it "
                "from the data",
                table.header_at,
            )
        )
    return {name: positions[name] for name in declared if name in positions}


def scan_data(spec: TabularSpec, folder: Path) -> Scan:
    """One pass over the data ``spec`` describes; relative paths start at ``folder``."""
    scan = Scan()
    try:
        table = open_table(spec, folder)
    except Unreadable as exc:
        scan.add(DataFinding("GS720", exc.path, exc.message, exc.fix, exc.where))
        return scan
    scan.label = table.label
    try:
        _scan_rows(spec, table, scan)
    except Unreadable as exc:
        scan.complete = False
        scan.add(DataFinding("GS720", exc.path, exc.message, exc.fix, exc.where))
    finally:
        close = getattr(table.records, "close", None)
        if close is not None:
            close()
    return scan


def _scan_rows(spec: TabularSpec, table: Table, scan: Scan) -> None:
    """The row loop: kept flat, it is what validate spends its time on for a large table."""
    positions = _match_header(spec, table, scan)
    private = private_columns(spec)
    checks: dict[str, _ColumnCheck] = {}
    for slot, (name, index) in enumerate(positions.items()):
        column = spec.data.columns[name]
        checks[name] = _column_check(index, slot, name, column, private.get(name))
    constraints = _constraint_checks(spec, checks, private)
    key = _key_check(spec, checks)
    key_slot = -1 if key is None else key.slot
    plan = []
    for c in checks.values():  # text columns (categorical, pii, plain ids): no parse to call
        parse = None if c.parse is _text else c.parse
        plan.append((c.index, c.slot, parse, c.nullable, c.allowed, c.low, c.high, c))
    width, slots = len(table.header), len(plan)
    nulls = table.null_values
    label, lines, limit = table.label, table.lines, MAX_ROWS
    first_of_key: dict[Any, int] = {}  # key -> the line (or row) it was first seen on
    add, wants = scan.add, scan.wants

    def where(line: int | None, row: int) -> DataLocation:
        return DataLocation(label, line, row) if lines else DataLocation(label, row=row)

    row = 0
    for line, cells in table.records:
        row += 1
        if row > limit:
            scan.rows = limit
            add(
                DataFinding(
                    "GS727",
                    ("data", "source"),
                    f"only the first {limit:,} rows were checked; the rest was not read",
                    "check a sample of at most that size, or split the table",
                    where(line, row),
                )
            )
            return
        if len(cells) != width:
            add(
                DataFinding(
                    "GS722",
                    ("data", "columns"),
                    f"the record has {len(cells)} fields, the header has {width}",
                    'quote fields that hold the delimiter ("a,b")',
                    where(line, row),
                )
            )
            continue
        values: list[Any] = [None] * slots
        for index, slot, parse, nullable, allowed, low, high, check in plan:
            cell = cells[index]
            if cell is None or (nulls and cell in nulls):
                if not nullable and slot != key_slot and wants("GS725"):  # no key: GS723
                    add(_null_finding(check, where(line, row)))
                continue
            try:
                value = parse(cell) if parse else cell if type(cell) is str else str(cell)
            except (ValueError, KeyError, TypeError, AttributeError):
                values[slot] = MISSING
                if wants("GS722"):
                    add(_type_finding(check, cell, where(line, row)))
                continue
            values[slot] = value
            if allowed is not None:
                if value not in allowed:
                    _note_unknown(scan, check, value, where, line, row)
            elif low is not None and not low <= value <= high and wants("GS724"):
                add(_bounds_finding(check, value, where(line, row)))
        if key_slot >= 0:
            value = values[key_slot]
            if value is None:
                if wants("GS723"):
                    add(
                        DataFinding(
                            "GS723",
                            ("data", "primary_key"),
                            f"the primary key {key.name} is missing",  # type: ignore[union-attr]
                            "give every row a key",
                            where(line, row),
                        )
                    )
            elif value is not MISSING:
                at = line if lines else row
                first = first_of_key.setdefault(value, at)
                if first != at and wants("GS723"):
                    shown = key.show(value)  # type: ignore[union-attr]
                    unit = "line" if lines else "row"
                    add(
                        DataFinding(
                            "GS723",
                            ("data", "primary_key"),
                            f"the primary key {key.name} {shown} appears again "  # type: ignore[union-attr]
                            f"(first at {unit} {first})",
                            "keep one row per key",
                            where(line, row),
                        )
                    )
        for index, kind, check_row in constraints:
            broken = check_row(values)
            if broken is not None and wants("GS726"):
                add(
                    DataFinding(
                        "GS726",
                        ("constraints", index),
                        f"{broken()} ({kind})",
                        "correct the row, or the constraint if the data is right",
                        where(line, row),
                    )
                )
    scan.rows = row
    scan.complete = True
    if row == 0:
        add(
            DataFinding(
                "GS720",
                ("data", "source"),
                "the table has a header but no rows",
                "give the synthesizer rows to learn from",
                table.header_at,
            )
        )
    for check in checks.values():
        for value, (first, count) in check.unknown.items():
            rows = f" ({count} rows, the first shown)" if count > 1 else ""
            shown = check.show(value) if check.hidden else repr(check.show(value))
            add(
                DataFinding(
                    "GS724",
                    ("data", "columns", check.name, "values"),
                    f"{check.name} {shown} is not one of its declared values{rows}",
                    f"add {check.show(value)!r} to values, or correct the data"
                    if not check.hidden
                    else "add the value to values, or correct the data",
                    first,
                )
            )


def _note_unknown(
    scan: Scan,
    check: _ColumnCheck,
    value: str,
    where: Callable[[int | None, int], DataLocation],
    line: int | None,
    row: int,
) -> None:
    """Undeclared categories are reported once per value, with their first row and count."""
    known = check.unknown.get(value)
    if known is not None:
        check.unknown[value] = (known[0], known[1] + 1)
    elif len(check.unknown) < MAX_UNKNOWN_VALUES:
        check.unknown[value] = (where(line, row), 1)
    else:
        scan.unlisted["GS724"] += 1


def _constraint_checks(
    spec: TabularSpec, checks: dict[str, _ColumnCheck], private: dict[str, str]
) -> list[tuple[int, str, RowCheck]]:
    """Row checks of the constraints whose columns are all declared, in the data, of types
    the constraint accepts and not private (the rules report the others)."""
    found = []
    for index, constraint in enumerate(spec.constraints):
        names = [name for _, name in constraint_columns(constraint)]
        if any(name not in checks or name in private for name in names):
            continue
        if any(True for _ in type_problems(constraint, spec.data.columns)):
            continue
        check = _row_check(constraint, checks)
        if check is not None:
            kind = str(constraint_of(constraint))
            if getattr(getattr(constraint, kind), "strict", False) and kind != "bounds":
                kind += ", strict"
            found.append((index, kind, check))
    return found


def _key_check(spec: TabularSpec, checks: dict[str, _ColumnCheck]) -> _ColumnCheck | None:
    key = spec.data.primary_key
    if key is None or key not in checks or not isinstance(checks[key].column, IdColumn):
        return None  # GS707 or GS709 says what is wrong with the declaration
    return checks[key]


def _null_finding(check: _ColumnCheck, where: DataLocation) -> DataFinding:
    if isinstance(check.column, IdColumn):
        message, fix = f"{check.name} is missing: an id is never missing", "fill the value"
    else:
        message = f"{check.name} is missing, but the column is not nullable"
        fix = "fill the value, or declare nullable: true"
    return DataFinding("GS725", ("data", "columns", check.name), message, fix, where)


def _type_finding(check: _ColumnCheck, cell: Any, where: DataLocation) -> DataFinding:
    shown = check.show(cell) if check.hidden else repr(elide(str(cell)))
    fix = "correct the value, or declare the column's type as the data has it"
    if isinstance(cell, str) and cell.strip() in _NULL_LOOKING:
        fix = f"add {cell!r} to data.source.null_values if it means 'no value'"
    return DataFinding(
        "GS722",
        ("data", "columns", check.name),
        f"{check.name} {shown} is not {check.expected}",
        fix,
        where,
    )


def _bounds_finding(check: _ColumnCheck, value: Any, where: DataLocation) -> DataFinding:
    end = "min" if value < check.low else "max"
    bound = check.low if end == "min" else check.high
    dated = isinstance(check.column, DatetimeColumn)
    relation = ("before" if dated else "below") if end == "min" else ("after" if dated else "above")
    shown = check.show(value)
    return DataFinding(
        "GS724",
        ("data", "columns", check.name, end),
        f"{check.name} {shown} is {relation} its declared {end} {check.show(bound)}",
        f"{end}: {shown}, or correct the row" if not check.hidden else "correct the row",
        where,
    )
