"""GS70x-GS71x: the tabular data contract as written. Whether the spec is consistent with
itself and with what CTGAN, opacus and SDV accept, before any data is read."""

from __future__ import annotations

import math
from collections.abc import Iterator

from ganspec.rules.registry import TABULAR, Finding, rule
from ganspec.spec.tabular import (
    CategoricalColumn,
    DatetimeColumn,
    FixedCombinations,
    NullRule,
    NumericalColumn,
)
from ganspec.tabular.context import TabularContext
from ganspec.tabular.contract import constraint_columns, type_problems
from ganspec.tabular.scan import closest

DP = ("privacy", "differential_privacy")
CTGAN = ("synthesizer", "ctgan")


def _learned(ctx: TabularContext) -> Iterator[tuple[str, object]]:
    """Columns the synthesizer learns: not pii, not sensitive."""
    for name, column in ctx.columns.items():
        if name not in ctx.private:
            yield name, column


@rule(
    "GS701",
    "batch-size-and-pac",
    "error",
    summary="synthesizer.ctgan.batch_size is odd, or not a multiple of pac.",
    why="CTGAN asserts batch_size % 2 == 0 when it is built, and its discriminator folds each "
    "batch into groups of pac rows (input.view(-1, pac * width)), asserting batch_size % pac "
    "== 0: the fit stops with an AssertionError before the first epoch.",
    example="synthesizer:\n  ctgan: {batch_size: 505, pac: 10}",
    fix="Use the computed batch_size: a multiple of both 2 and pac.",
    kinds=TABULAR,
)
def batch_and_pac(ctx: TabularContext) -> Iterator[Finding]:
    ctgan = ctx.spec.synthesizer.ctgan
    batch, pac = ctgan.batch_size, ctgan.pac
    problems = []
    if batch % 2:
        problems.append("odd")
    if batch % pac:
        problems.append(f"not a multiple of pac {pac}")
    if not problems:
        return
    step = math.lcm(2, pac)
    down, up = batch - batch % step, batch - batch % step + step
    choices = " or ".join(str(n) for n in (down, up) if n > 0)
    yield Finding(
        (*CTGAN, "batch_size"),
        f"batch_size {batch} is {' and '.join(problems)}: CTGAN needs it even and a multiple "
        f"of pac",
        f"batch_size: {choices}",
    )


@rule(
    "GS702",
    "dp-needs-pac-1",
    "error",
    summary="Differential privacy is asked for with pac above 1.",
    why="DP-SGD clips and noises each sample's gradient; with PacGAN packing a discriminator "
    "sample is pac real rows, so one clipped gradient carries pac people and the accounted "
    "epsilon understates the real loss of privacy.",
    example="privacy:\n  differential_privacy: {epsilon: 3, delta: 1.0e-5}\n"
    "synthesizer:\n  ctgan: {pac: 10}",
    fix="Set synthesizer.ctgan.pac: 1 (DP-CTGAN's setting).",
    kinds=TABULAR,
)
def dp_pac(ctx: TabularContext) -> Iterator[Finding]:
    pac = ctx.spec.synthesizer.ctgan.pac
    if ctx.spec.privacy.differential_privacy is not None and pac != 1:
        yield Finding(
            (*CTGAN, "pac"),
            f"pac {pac} packs {pac} real rows into one sample: DP-SGD's per-sample clipping "
            "then protects packs, not rows",
            "pac: 1",
        )


@rule(
    "GS703",
    "dp-loss-unsupported",
    "error",
    summary="Differential privacy is asked for with the wgan-gp loss.",
    why="opacus computes per-sample gradients with hooks on each layer's forward and "
    "backward pass; WGAN-GP's gradient penalty differentiates through the input gradient "
    "(a double backward) that those hooks cannot split per sample, so training either "
    "fails or is not private.",
    example="privacy:\n  differential_privacy: {epsilon: 3, delta: 1.0e-5, loss: wgan-gp}",
    fix="Use loss: bce (DP-CTGAN's cross-entropy discriminator).",
    kinds=TABULAR,
)
def dp_loss(ctx: TabularContext) -> Iterator[Finding]:
    dp = ctx.spec.privacy.differential_privacy
    if dp is not None and dp.loss == "wgan-gp":
        yield Finding(
            (*DP, "loss"),
            "the wgan-gp gradient penalty needs a double backward opacus cannot privatise",
            "loss: bce",
        )


@rule(
    "GS704",
    "dp-needs-declared-bounds",
    "error",
    summary="With differential privacy, a learned numerical or datetime column lacks a "
    "declared min or max.",
    why="A synthesizer that takes a column's range from the data publishes its smallest and "
    "largest values (one person's age, one customer's spend) outside any privacy budget; "
    "DP training must scale and clip with bounds known before the data is seen.",
    example="privacy: {differential_privacy: {epsilon: 3, delta: 1.0e-5}}\n"
    "data:\n  columns:\n    age: {type: numerical, dtype: int}   # no min, no max",
    fix="Declare min and max from what the column can be (its definition), not from the data.",
    kinds=TABULAR,
)
def dp_bounds(ctx: TabularContext) -> Iterator[Finding]:
    if ctx.spec.privacy.differential_privacy is None:
        return
    for name, column in _learned(ctx):
        if not isinstance(column, (NumericalColumn, DatetimeColumn)):
            continue
        lacking = [end for end in ("min", "max") if getattr(column, end) is None]
        if lacking:
            yield Finding(
                ("data", "columns", name),
                f"{name} has no declared {' and '.join(lacking)}: bounds taken from the data "
                "would leak its extreme values",
                f"declare {' and '.join(lacking)} from the column's definition",
            )


@rule(
    "GS705",
    "dp-needs-declared-values",
    "error",
    summary="With differential privacy, a learned categorical column does not list its values.",
    why="The set of categories present in the data is itself private (a rare diagnosis code "
    "identifies its one patient); a DP synthesizer encodes only declared categories.",
    example="privacy: {differential_privacy: {epsilon: 3, delta: 1.0e-5}}\n"
    "data:\n  columns:\n    plan: {type: categorical}   # values taken from the data",
    fix="List every possible value under values.",
    kinds=TABULAR,
)
def dp_values(ctx: TabularContext) -> Iterator[Finding]:
    if ctx.spec.privacy.differential_privacy is None:
        return
    for name, column in _learned(ctx):
        if isinstance(column, CategoricalColumn) and column.values is None:
            yield Finding(
                ("data", "columns", name),
                f"{name} does not declare its values: categories taken from the data would "
                "leak the rare ones",
                "values: [every value the column can take]",
            )


@rule(
    "GS706",
    "dp-delta-too-large",
    "error",
    summary="The differential-privacy delta is not below 1/rows of the real table.",
    why="(epsilon, delta)-DP allows a delta chance of failing outright; a mechanism that "
    "publishes one random real row whole satisfies delta = 1/rows. Delta must be well below "
    "that (1/(10 rows) or smaller) to mean anything.",
    example="data:\n  source: {type: customers, rows: 2000}\n"
    "privacy:\n  differential_privacy: {epsilon: 3, delta: 0.001}   # 1/2000 = 0.0005",
    fix="Use the computed delta (1/(10 rows), rounded), or smaller.",
    kinds=TABULAR,
)
def dp_delta(ctx: TabularContext) -> Iterator[Finding]:
    dp = ctx.spec.privacy.differential_privacy
    if dp is None:
        return
    known = ctx.real_rows()
    if known is None:
        return  # GS720 says why the rows are unknown
    rows, exact = known
    if dp.delta < 1 / rows:
        return
    counted = f"{rows:,} rows" if exact else f"at least {rows:,} rows"
    yield Finding(
        (*DP, "delta"),
        f"delta {dp.delta:g} is not below 1/rows = {1 / rows:.3g} ({counted}): a mechanism "
        "that publishes one real row satisfies it",
        f"delta: {float(f'{1 / (10 * rows):.0e}'):g}",
    )


def _references(ctx: TabularContext) -> Iterator[tuple[tuple[object, ...], str]]:
    """(spec path, column name) of every place the spec names a column."""
    spec = ctx.spec
    if spec.data.primary_key is not None:
        yield ("data", "primary_key"), spec.data.primary_key
    for index, constraint in enumerate(spec.constraints):
        for path, name in constraint_columns(constraint):
            yield ("constraints", index, *path), name
    for name in spec.privacy.sensitive:
        yield ("privacy", "sensitive", name), name
    for index, name in enumerate(spec.output.column_order or []):
        yield ("output", "column_order", index), name
    if spec.validation.ml_efficacy is not None:
        yield ("validation", "ml_efficacy", "target"), spec.validation.ml_efficacy.target


@rule(
    "GS707",
    "unknown-column",
    "error",
    summary="The spec names a column that data.columns does not declare (in the primary key, "
    "a constraint, privacy.sensitive, output.column_order or the ML-efficacy target).",
    why="A misspelt column in a constraint is a constraint on nothing: SDV would reject it at "
    "fit time, after the data was loaded, or, for a privacy setting, the column meant to be "
    "protected would be learned as it is.",
    example="constraints:\n  - inequality: {low: signup_dte, high: churn_date}",
    fix="Use a declared column name (the message suggests the closest).",
    kinds=TABULAR,
)
def unknown_columns(ctx: TabularContext) -> Iterator[Finding]:
    declared = list(ctx.columns)
    for path, name in _references(ctx):
        if name in ctx.columns:
            continue
        close = closest(name, declared)
        hint = f"; did you mean '{close}'?" if close else ""
        if close is None:
            fix = "declare it under data.columns, or name a declared one"
        elif path[:2] == ("privacy", "sensitive"):
            fix = f"rename the key to '{close}'"
        elif isinstance(path[-1], str):
            fix = f"{path[-1]}: {close}"
        else:
            fix = f"'{close}'"
        yield Finding(path, f"column '{name}' is not declared in data.columns{hint}", fix)  # type: ignore[arg-type]


@rule(
    "GS708",
    "constraint-column-type",
    "error",
    summary="A constraint names columns of a type it cannot use, the same column twice, or a "
    "value its column cannot hold.",
    why="inequality and range compare two (three) numerical or datetime columns; "
    "fixed_combinations fixes categorical ones (its declared combinations use their columns' "
    "declared values); fixed_increments, one_hot, positive, negative and bounds are about "
    "numbers (SDV 2.0's sdv.cag rules). SDV refuses anything else when the constraint is "
    "added, after the data was loaded.",
    example="constraints:\n  - inequality: {low: plan, high: churn_date}   # plan is categorical",
    fix="Name columns of the types the constraint accepts, or remove the constraint.",
    kinds=TABULAR,
)
def constraint_types(ctx: TabularContext) -> Iterator[Finding]:
    for index, constraint in enumerate(ctx.spec.constraints):
        for path, message, fix in type_problems(constraint, ctx.columns):
            yield Finding(("constraints", index, *path), message, fix)


@rule(
    "GS709",
    "primary-key-not-id",
    "error",
    summary="data.primary_key names a column that is not of type id.",
    why="A key names rows: it is unique, never missing and carries nothing to learn. Declared "
    "as a number or a category, the synthesizer would learn its distribution and produce "
    "duplicate keys.",
    example="data:\n  primary_key: age\n  columns:\n    age: {type: numerical, dtype: int}",
    fix="Declare the key column as {type: id} (with its regex), or set primary_key: null.",
    kinds=TABULAR,
)
def primary_key_is_id(ctx: TabularContext) -> Iterator[Finding]:
    key = ctx.spec.data.primary_key
    column = ctx.columns.get(key) if key is not None else None
    if column is not None and column.type != "id":
        yield Finding(
            ("data", "primary_key"),
            f"primary key '{key}' is a {column.type} column; a key must be an id column",
            f"declare {key} as {{type: id}}, or primary_key: null",
        )


@rule(
    "GS710",
    "private-column-in-constraint",
    "error",
    summary="A constraint names a pii column or a privacy.sensitive one.",
    why="Private columns are never learned: they are faked or dropped, so the synthesizer "
    "cannot keep a relation between them and other columns, and checking the constraint on "
    "the real rows would read the private values it promised not to use.",
    example="data:\n  columns:\n    email: {type: pii, faker: email}\nconstraints:\n"
    "  - fixed_combinations: [email, country]",
    fix="Remove the column from the constraint (or the constraint).",
    kinds=TABULAR,
)
def private_in_constraints(ctx: TabularContext) -> Iterator[Finding]:
    for index, constraint in enumerate(ctx.spec.constraints):
        for path, name in constraint_columns(constraint):
            why = ctx.private.get(name)
            if why is not None and name in ctx.columns:
                yield Finding(
                    ("constraints", index, *path),
                    f"'{name}' is a {why} column: it is never learned, so no constraint can "
                    "tie it to other columns",
                    "remove it from the constraint",
                )


@rule(
    "GS711",
    "ml-target-unusable",
    "error",
    summary="validation.ml_efficacy.target is a private column (pii, sensitive), an id or a "
    "datetime.",
    why="ML efficacy trains a model on synthetic rows to predict the target and tests it on "
    "real ones. A faked or dropped column has no real relation to learn, and an id or a "
    "timestamp is no classification or regression target.",
    example="validation:\n  ml_efficacy: {target: email}",
    fix="Use a learned categorical, boolean or numerical column.",
    kinds=TABULAR,
)
def ml_target(ctx: TabularContext) -> Iterator[Finding]:
    efficacy = ctx.spec.validation.ml_efficacy
    if efficacy is None or efficacy.target not in ctx.columns:
        return  # GS707 reports an undeclared target
    target, column = efficacy.target, ctx.columns[efficacy.target]
    why = ctx.private.get(target)
    if why is not None:
        problem = f"is a {why} column: it is never learned"
    elif column.type in ("id", "datetime"):
        problem = f"is an {column.type} column, not something a model predicts"
    else:
        return
    candidates = [
        name
        for name, c in ctx.columns.items()
        if c.type in ("categorical", "boolean") and name not in ctx.private
    ]
    yield Finding(
        ("validation", "ml_efficacy", "target"),
        f"target '{target}' {problem}",
        f"target: {candidates[0]}" if candidates else "a learned categorical or numerical column",
    )


@rule(
    "GS712",
    "column-order-incomplete",
    "error",
    summary="output.column_order does not list every output column exactly once, or lists a "
    "dropped one.",
    why="The order is the output's schema: a column left out would be silently missing from "
    "the synthetic table, one listed twice is ambiguous, and a dropped sensitive column "
    "cannot be written.",
    example="output:\n  column_order: [customer_id, age]   # the table has 13 columns",
    fix="List each declared column once, except those privacy.sensitive drops.",
    kinds=TABULAR,
)
def column_order(ctx: TabularContext) -> Iterator[Finding]:
    order = ctx.spec.output.column_order
    if order is None:
        return
    dropped = {n for n, action in ctx.spec.privacy.sensitive.items() if action == "drop"}
    seen: set[str] = set()
    for index, name in enumerate(order):
        if name in seen:
            yield Finding(
                ("output", "column_order", index), f"'{name}' is listed twice", "list it once"
            )
        elif name in dropped:
            yield Finding(
                ("output", "column_order", index),
                f"'{name}' is dropped (privacy.sensitive) and not in the output",
                f"remove '{name}'",
            )
        seen.add(name)
    left_out = [n for n in ctx.columns if n not in seen and n not in dropped]
    if left_out:
        yield Finding(
            ("output", "column_order"),
            f"leaves out {', '.join(left_out)}: the output would miss "
            f"{'them' if len(left_out) > 1 else 'it'}",
            f"add {', '.join(left_out)}",
        )


@rule(
    "GS713",
    "fake-needs-declared-domain",
    "error",
    summary="A privacy.sensitive column to fake is not pii and has no declared domain (min and "
    "max, or values).",
    why="A faked column gets values that do not come from the data: a pii column from its "
    "Faker provider, any other from its declared bounds or values. Without them the only "
    "source left is the real column, which the spec promised never to use.",
    example="privacy:\n  sensitive: {income: fake}\ndata:\n  columns:\n"
    "    income: {type: numerical, dtype: float}   # no min, no max",
    fix="Declare the column's min and max (or values), or drop it instead (drop).",
    kinds=TABULAR,
)
def fake_domain(ctx: TabularContext) -> Iterator[Finding]:
    for name, action in ctx.spec.privacy.sensitive.items():
        column = ctx.columns.get(name)
        if action != "fake" or column is None:
            continue
        if isinstance(column, (NumericalColumn, DatetimeColumn)):
            lacking = [end for end in ("min", "max") if getattr(column, end) is None]
        elif isinstance(column, CategoricalColumn):
            lacking = ["values"] if column.values is None else []
        else:
            lacking = []  # pii: Faker; id: regex; boolean: true/false
        if lacking:
            yield Finding(
                ("privacy", "sensitive", name),
                f"{name} is to be faked but declares no {' and '.join(lacking)} to fake it from",
                f"declare {' and '.join(lacking)} on column {name}, or {name}: drop",
            )


# GS714 sits with GS704 and GS705 in meaning (what DP must not read from the data); it is
# registered last so that `ganspec rule --all` lists the codes in order.
@rule(
    "GS714",
    "dp-needs-declared-combinations",
    "error",
    summary="With differential privacy, a fixed_combinations constraint does not declare its "
    "allowed combinations.",
    why="The combinations present in the data are private: a rare pair (a city seen once in "
    "a country) points at the people behind it. Taking the allowed set from the data, as "
    "SDV's FixedCombinations does, reads it outside the privacy budget; a DP synthesizer "
    "keeps to combinations declared before the data is seen.",
    example="privacy: {differential_privacy: {epsilon: 3, delta: 1.0e-5}}\n"
    "constraints:\n  - fixed_combinations: [country, city]   # the pairs the data has",
    fix="Write the mapping form with every allowed combination: fixed_combinations: "
    "{columns: [country, city], allowed: [[US, New York], [DE, Berlin], ...]}.",
    kinds=TABULAR,
)
def dp_combinations(ctx: TabularContext) -> Iterator[Finding]:
    if ctx.spec.privacy.differential_privacy is None:
        return
    for index, constraint in enumerate(ctx.spec.constraints):
        if isinstance(constraint, FixedCombinations) and constraint.allowed() is None:
            names = constraint.names()
            yield Finding(
                ("constraints", index, "fixed_combinations"),
                f"the combinations of {', '.join(names)} present in the data are private: "
                "read from the data, a rare one would leak the rows that hold it",
                f"fixed_combinations: {{columns: [{', '.join(names)}], allowed: [[every "
                "allowed combination], ...]}",
            )


@rule(
    "GS715",
    "no-nulls-against-a-null-rule",
    "error",
    summary="output.nulls is none, yet a null_rule says a column must be missing on some rows.",
    why="With nulls: none the output keeps only rows without a missing value, so every row on "
    "which the null rule requires one is thrown away: the output silently loses a whole group "
    "of rows (every customer who has not churned), or sampling runs out of rows.",
    example="output: {nulls: none}\n"
    "constraints:\n  - null_rule: {column: churn_date, when: {column: churned, equals: false}}",
    fix="Keep missing values in the output (nulls: keep), or remove the null rule.",
    kinds=TABULAR,
)
def nulls_against_null_rule(ctx: TabularContext) -> Iterator[Finding]:
    if ctx.spec.output.nulls != "none":
        return
    for index, constraint in enumerate(ctx.spec.constraints):
        if isinstance(constraint, NullRule):
            rule = constraint.null_rule
            yield Finding(
                ("output", "nulls"),
                f"nulls: none drops every row on which constraints[{index}] requires "
                f"{rule.column} to be missing ({rule.when.column} is {rule.when.equals})",
                "nulls: keep",
            )
