"""``validate --explain`` for a tabular spec: the column table (type, domain, nulls, privacy),
the constraints, and what the data pass read. A tabular spec has no layers to trace."""

from __future__ import annotations

from ganspec.spec.tabular import (
    CategoricalColumn,
    Column,
    CsvSource,
    CustomersSource,
    DatetimeColumn,
    FixedCombinations,
    IdColumn,
    NumericalColumn,
    ParquetSource,
    PiiColumn,
    constraint_of,
)
from ganspec.tabular.context import TabularContext
from ganspec.tabular.contract import constraint_columns

MAX_SHOWN_VALUES = 6


def _bound(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return "" if value is None else str(value)


def _domain(column: Column) -> str:
    """Bounds, values, format, regex or Faker provider, in one cell."""
    if isinstance(column, NumericalColumn):
        text = f"[{_bound(column.min) or '-inf'}, {_bound(column.max) or 'inf'}]"
        if column.decimals is not None:
            text += f", {column.decimals} decimal" + ("s" if column.decimals != 1 else "")
        return text
    if isinstance(column, DatetimeColumn):
        low, high = column.bounds()
        shown = [column.format]
        if low or high:
            fmt = column.format
            shown.append(
                f"[{low.strftime(fmt) if low else '...'}, {high.strftime(fmt) if high else '...'}]"
            )
        return " ".join(shown)
    if isinstance(column, CategoricalColumn):
        if column.values is None:
            return "values from the data"
        values = [str(v) for v in column.values]
        more = len(values) - MAX_SHOWN_VALUES
        listed = ", ".join(values[:MAX_SHOWN_VALUES]) + (f", ... (+{more})" if more > 0 else "")
        return f"{{{listed}}}"
    if isinstance(column, IdColumn):
        return f"regex {column.regex}" if column.regex else "any text"
    if isinstance(column, PiiColumn):
        return f"faker {column.faker}"
    return "true/false"


def _type(column: Column) -> str:
    if isinstance(column, NumericalColumn):
        return f"numerical {column.dtype}"
    return column.type


def _privacy(context: TabularContext, name: str) -> str:
    spec = context.spec
    if name == spec.data.primary_key:
        return "primary key"
    action = spec.privacy.sensitive.get(name)
    if action is not None:
        return f"sensitive: {action}"
    if name in context.private:  # pii not listed: faked
        return "pii: fake"
    return "learned"


def _source(context: TabularContext) -> str:
    source = context.spec.data.source
    if isinstance(source, (CsvSource, ParquetSource)):
        return f"{source.type} {source.path}"
    if isinstance(source, CustomersSource):
        return f"customers demo table, {source.rows:,} rows from seed {context.spec.seed}"
    return f"scikit-learn's {source.name}"


def explain_tabular(context: TabularContext) -> str:
    spec = context.spec
    header = ("column", "type", "domain", "nullable", "privacy")
    rows = [header]
    for name, column in spec.data.columns.items():
        nullable = "yes" if getattr(column, "nullable", False) else "no"
        rows.append((name, _type(column), _domain(column), nullable, _privacy(context, name)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        f"table {spec.data.table}: {_source(context)}; "
        f"primary key {spec.data.primary_key or 'none'}",
        "",
    ]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(len(widths))]
        lines.append("  " + "  ".join([*cells, row[-1]]))
    lines += ["", f"constraints ({len(spec.constraints)})"]
    for index, constraint in enumerate(spec.constraints):
        names = ", ".join(name for _, name in constraint_columns(constraint))
        lines.append(f"  [{index}] {constraint_of(constraint)}: {names}{_declared(constraint)}")
    dp = spec.privacy.differential_privacy
    ctgan = spec.synthesizer.ctgan
    lines += [
        "",
        f"synthesizer: CTGAN, {ctgan.epochs} epochs, batch {ctgan.batch_size}, pac {ctgan.pac}"
        + (
            f"; differential privacy epsilon {dp.epsilon:g}, delta {dp.delta:g}"
            if dp is not None
            else "; no differential privacy"
        ),
        _data_line(context),
    ]
    return "\n".join(lines)


def _declared(constraint: object) -> str:
    """How many combinations a fixed_combinations declares, or that it takes the data's."""
    if not isinstance(constraint, FixedCombinations):
        return ""
    allowed = constraint.allowed()
    if allowed is None:
        return " (the combinations seen in the data)"
    return f" ({len(allowed):,} declared combination{'s' * (len(allowed) != 1)})"


def _data_line(context: TabularContext) -> str:
    scan = context.scan
    if scan.label is None:
        return "data: not read (see GS720)"
    read = f"{scan.rows:,} rows" + ("" if scan.complete else " (not all)")
    return f"data: {read} checked in {scan.label}"
