"""The plain context a tabular project's templates receive: every column, constraint and
number of the spec turned into the literal Python the rendered project holds.

Constraints become small pandas expressions here, once, so that contract.py reads as the
contract itself (``df["churn_date"] > df["signup_date"]``) and the templates never re-derive
anything from the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganspec import __version__
from ganspec.render.tabular_prompt import made_ids, prompt_context
from ganspec.spec.tabular import (
    DEFAULT_ID_REGEX,
    Bounds,
    CategoricalColumn,
    Column,
    CustomersSource,
    DatetimeColumn,
    FixedCombinations,
    FixedIncrements,
    Inequality,
    Negative,
    NullRule,
    NumericalColumn,
    OneHot,
    Positive,
    Range,
    TabularSpec,
    constraint_of,
)
from ganspec.tabular.context import TabularContext
from ganspec.tabular.contract import private_columns


def _col(name: str) -> str:
    """``df["name"]`` for any column name (a repr is a valid, escaped Python string)."""
    return f"df[{name!r}]"


def column_context(name: str, column: Column, private: str | None) -> dict[str, Any]:
    """One column as the templates use it: its type, bounds, pandas dtype and fate."""
    info: dict[str, Any] = {
        "name": name,
        "type": column.type,
        "nullable": getattr(column, "nullable", False),
        "private": private,  # None (learned), "fake" or "drop"
        "learned": private is None and column.type != "id",
    }
    if isinstance(column, NumericalColumn):
        whole = int if column.dtype == "int" else float
        info.update(
            dtype=column.dtype,
            min=None if column.min is None else whole(column.min),
            max=None if column.max is None else whole(column.max),
            decimals=column.decimals,
            pandas_dtype="Int64" if column.dtype == "int" else "float64",
        )
    elif isinstance(column, CategoricalColumn):
        ints = column.values is not None and all(isinstance(v, int) for v in column.values)
        info.update(
            values=column.values,
            int_values=ints,
            pandas_dtype="Int64" if ints else "object",
        )
    elif isinstance(column, DatetimeColumn):
        low, high = column.bounds()
        info.update(
            format=column.format,
            aware="%z" in column.format or "%Z" in column.format,
            # naive UTC, as data.py reads every datetime (a %z offset is applied, then dropped)
            min=None if low is None else low.isoformat(),
            max=None if high is None else high.isoformat(),
            pandas_dtype="datetime64[ns]",
        )
    elif column.type == "boolean":
        info.update(pandas_dtype="boolean")
    elif column.type == "id":
        info.update(regex=column.regex, pandas_dtype="string")
    else:  # pii
        info.update(faker=column.faker, pandas_dtype="string")
    return info


def _missing(*names: str) -> str:
    return " | ".join(f"{_col(n)}.isna()" for n in names)


def _holds(condition: str, *names: str) -> str:
    """A row passes when the condition holds or one of its values is missing (SDV's reading)."""
    return f"({_missing(*names)} | ({condition}).fillna(False)).astype(bool)"


def constraint_context(index: int, constraint: object, columns: dict[str, Column]) -> dict:
    """The constraint as a check (a boolean Series expression over ``df``), a sentence, and
    how SDV enforces it (a sdv.cag constructor, or None: checked by contract.py itself)."""
    kind = constraint_of(constraint)
    entry: dict[str, Any] = {"index": index, "kind": kind, "function": f"{kind}_{index}"}
    if isinstance(constraint, Inequality):
        o = constraint.inequality
        op = ">" if o.strict else ">="
        entry.update(
            text=f"{o.high} {op} {o.low}",
            expression=_holds(f"{_col(o.high)} {op} {_col(o.low)}", o.low, o.high),
            sdv=f"Inequality({o.low!r}, {o.high!r}, strict_boundaries={o.strict})",
        )
    elif isinstance(constraint, Range):
        o = constraint.range
        op = "<" if o.strict else "<="
        low, middle, high = _col(o.low), _col(o.middle), _col(o.high)
        condition = f"({low} {op} {middle}) & ({middle} {op} {high})"
        entry.update(
            text=f"{o.low} {op} {o.middle} {op} {o.high}",
            expression=_holds(condition, o.low, o.middle, o.high),
            sdv=f"Range({o.low!r}, {o.middle!r}, {o.high!r}, strict_boundaries={o.strict})",
        )
    elif isinstance(constraint, FixedCombinations):
        names, allowed = constraint.names(), constraint.allowed()
        where = f"{len(allowed)} declared" if allowed else "the real table's"
        entry.update(
            text=f"({', '.join(names)}): only {where} combinations",
            columns=names,
            allowed=None if allowed is None else [tuple(map(str, row)) for row in allowed],
            sdv=f"FixedCombinations({names!r})",
        )
    elif isinstance(constraint, FixedIncrements):
        o = constraint.fixed_increments
        bounds = columns[o.column]
        entry.update(
            column=o.column,
            increment=o.increment,
            min=getattr(bounds, "min", None),
            max=getattr(bounds, "max", None),
            text=f"{o.column} is a multiple of {o.increment}",
            expression=_holds(f"{_col(o.column)} % {o.increment} == 0", o.column),
            sdv=f"FixedIncrements({o.column!r}, {o.increment})",
        )
    elif isinstance(constraint, OneHot):
        names = constraint.one_hot
        total = " + ".join(_col(n) for n in names)
        ones = " & ".join(f"{_col(n)}.isin([0, 1])" for n in names)
        entry.update(
            text=f"exactly one of {', '.join(names)} is 1",
            expression=f"(({ones}) & ({total} == 1)).fillna(False).astype(bool)",
            sdv=f"OneHotEncoding({names!r})",
        )
    elif isinstance(constraint, Positive | Negative):
        name = constraint.positive if isinstance(constraint, Positive) else constraint.negative
        op = ">" if isinstance(constraint, Positive) else "<"
        entry.update(
            text=f"{name} {op} 0",
            expression=_holds(f"{_col(name)} {op} 0", name),
            sdv=None,
        )
    elif isinstance(constraint, Bounds):
        o = constraint.bounds
        above, below = (">", "<") if o.strict else (">=", "<=")
        low_op, high_op = ("<", "<") if o.strict else ("<=", "<=")
        parts = []
        if o.low is not None:
            parts.append(f"({_col(o.column)} {above} {o.low!r})")
        if o.high is not None:
            parts.append(f"({_col(o.column)} {below} {o.high!r})")
        shown = " ".join(
            p for p in (f"{o.low:g} {low_op}" if o.low is not None else "", o.column) if p
        )
        if o.high is not None:
            shown += f" {high_op} {o.high:g}"
        entry.update(text=shown, expression=_holds(" & ".join(parts), o.column), sdv=None)
    elif isinstance(constraint, NullRule):
        o = constraint.null_rule
        equals: Any = o.when.equals
        when = columns[o.when.column]
        if isinstance(when, CategoricalColumn) and not all(
            isinstance(v, int) for v in (when.values or [])
        ):
            equals = str(equals)
        condition = f"{_col(o.when.column)}.eq({equals!r}).fillna(False).astype(bool)"
        shown = str(equals).lower() if isinstance(equals, bool) else equals
        entry.update(
            text=f"{o.column} is missing exactly where {o.when.column} is {shown}",
            target=o.column,
            when=o.when.column,
            condition=condition,
            expression=f"{_col(o.column)}.isna() == {condition}",
            sdv=None,
        )
    return entry


def _example_condition(columns: list[dict[str, Any]]) -> str:
    """A COLUMN=VALUE for sample.py's docstring: the first learned category."""
    for c in columns:
        if c["learned"] and c["type"] == "categorical" and c["values"]:
            return f"{c['name']}={c['values'][0]}"
    for c in columns:
        if c["learned"] and c["type"] == "boolean":
            return f"{c['name']}=true"
    return "COLUMN=VALUE"


def _fake_summary(columns: list[dict[str, Any]]) -> str:
    made = [
        f"{c['name']} ({'Faker ' + c['faker'] if c['type'] == 'pii' else 'declared domain'})"
        for c in columns
        if c["private"] == "fake"
    ]
    dropped = [c["name"] for c in columns if c["private"] == "drop"]
    text = ", ".join(made) or "none"
    return text + (f"; dropped, never written: {', '.join(dropped)}" if dropped else "")


def customers_source() -> str:
    from ganspec.tabular import customers

    return Path(customers.__file__).read_text(encoding="utf-8")


def build_tabular_context(context: TabularContext) -> dict[str, Any]:
    spec: TabularSpec = context.spec
    # Never learned: privacy.sensitive says fake or drop; a pii column not listed is faked.
    private = {name: "fake" for name in private_columns(spec)}
    private.update(spec.privacy.sensitive)
    columns = [
        column_context(name, column, private.get(name))
        for name, column in spec.data.columns.items()
    ]
    constraints = [
        constraint_context(index, constraint, spec.data.columns)
        for index, constraint in enumerate(spec.constraints)
    ]
    dropped = {c["name"] for c in columns if c["private"] == "drop"}
    order = spec.output.column_order or [c["name"] for c in columns]
    dp = spec.privacy.differential_privacy
    ctgan = spec.synthesizer.ctgan
    source = spec.data.source
    sdv_classes = sorted({c["sdv"].split("(")[0] for c in constraints if c["sdv"]})
    if any(not c["sdv"] for c in constraints):
        sdv_classes = sorted([*sdv_classes, "SingleTableProgrammableConstraint"])
    data_path = None
    if source.type in ("csv", "parquet"):
        data_path = str((context.folder / source.path).resolve())
    # Without differential privacy: no DP GAN, and no privacy contracts to hold it to.
    omit = [] if dp is not None else ["dpgan.py", "tests/test_privacy.py.j2"]
    target = spec.validation.ml_efficacy.target if spec.validation.ml_efficacy else None
    # Columns a null rule ties to the ML target give its value away (churn_date is missing
    # exactly when churned is false): ML efficacy leaves them out of the model's inputs.
    leaks = sorted(
        {c["target"] for c in constraints if c["kind"] == "null_rule" and c["when"] == target}
        | {c["when"] for c in constraints if c["kind"] == "null_rule" and c["target"] == target}
    )
    extra_files = {}
    if isinstance(source, CustomersSource):  # the generator validate checked the data with
        extra_files["customers.py"] = customers_source()
    output_columns = [name for name in order if name not in dropped]
    contract_bounds = [
        c["name"]
        for c in columns
        if c["type"] in ("numerical", "datetime")
        and c["max"] is not None
        and c["name"] in output_columns
    ]
    example_condition = _example_condition(columns)
    return {
        **prompt_context(
            spec, columns, constraints, output_columns, bool(contract_bounds), example_condition
        ),
        "kind": "tabular",
        "extra_files": extra_files,
        "ml_leaks": leaks,
        "contract_bounds": contract_bounds,
        "omit": omit,
        "sdv_classes": sdv_classes,
        "data_path": data_path,
        "example_condition": example_condition,
        "fake_summary": _fake_summary(columns),
        "health_rows": 200,
        "ganspec_version": __version__,
        "name": spec.name,
        "description": spec.description,
        "spec": spec.model_dump(mode="json"),
        "seed": spec.seed,
        "table": spec.data.table,
        "primary_key": spec.data.primary_key,
        "columns": columns,
        "by_name": {c["name"]: c for c in columns},
        "default_id_regex": DEFAULT_ID_REGEX,
        "learned": [c["name"] for c in columns if c["learned"]],
        "ids": [c["name"] for c in made_ids(columns)],
        "fakes": [c for c in columns if c["private"] == "fake"],
        "dropped": sorted(dropped),
        "output_columns": output_columns,
        "constraints": constraints,
        "sdv_constraints": [c for c in constraints if c["sdv"]],
        "contract_only": [c for c in constraints if not c["sdv"]],
        "null_rules": [c for c in constraints if c["kind"] == "null_rule"],
        "has_combinations": any(c["kind"] == "fixed_combinations" for c in constraints),
        "dp": None if dp is None else dp.model_dump(mode="json"),
        "ctgan": ctgan.model_dump(mode="json"),
        "source": source.model_dump(mode="json"),
        "parquet": source.type == "parquet" or spec.output.format == "parquet",
        "output": spec.output.model_dump(mode="json"),
        "validation": spec.validation.model_dump(mode="json"),
    }
