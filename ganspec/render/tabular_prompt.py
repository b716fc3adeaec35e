"""The spec-dependent sentences of a tabular PROMPT.md, computed once here so the template only
places them: where the data comes from, what contract.py does not hold (decimals, date formats,
the key, the columns never learned), the synthesizer's constructor as the code calls it, and
which rows and columns sample.py writes.

Each sentence states what the rendered code does for this spec; the templates never re-derive it.
"""

from __future__ import annotations

from typing import Any

from ganspec.spec.tabular import DEFAULT_ID_REGEX, TabularSpec

# The constructor arguments build() passes, in its order, after the metadata (SDV's CTGAN).
_CTGAN_ARGS = (
    "batch_size",
    "pac",
    "generator_dim",
    "discriminator_dim",
    "embedding_dim",
    "generator_lr",
    "discriminator_lr",
    "generator_decay",
    "discriminator_decay",
    "discriminator_steps",
    "log_frequency",
)
_DP_NETWORK_ARGS = tuple(a for a in _CTGAN_ARGS if a not in ("pac", "log_frequency"))
_ENABLE_GPU = "torch.cuda.is_available() if device == 'auto' else device == 'cuda'"


def receives(spec: TabularSpec) -> str:
    """Where load_real() reads the real table from, as data.py does it."""
    source = spec.data.source
    if source.type == "customers":
        text = (
            f"the generated customers demo table: `customers.text_rows(SEED, {source.rows})` from "
            '`customers.py` (text cells, `""` for missing, columns `customers.COLUMNS`)'
        )
        return text
    if source.type == "sklearn":
        scaled = "scaled=False, " if source.name == "diabetes" else ""
        return (
            f"scikit-learn's bundled `{source.name}` table, "
            f"`sklearn.datasets.load_{source.name}({scaled}as_frame=True).frame` (offline)"
        )
    if source.type == "csv":
        return (
            f"the csv file `{source.path}` (relative to the spec; `DATA_PATH` in data.py), read "
            f"as text: `sep={source.delimiter!r}`, UTF-8, `keep_default_na=False`, "
            f"`na_values={source.null_values!r}` (only those cells are missing)"
        )
    return f"the parquet file `{source.path}` (relative to the spec; `DATA_PATH` in data.py)"


def real_reader(spec: TabularSpec) -> str:
    """The call every read of the real table goes through, as the dotted path the privacy
    contract makes raise while sampling: the demo table's generator, scikit-learn's loader, or
    pandas' reader."""
    source = spec.data.source
    if source.type == "customers":
        return "customers.text_rows"
    if source.type == "sklearn":
        return f"sklearn.datasets.load_{source.name}"
    return f"pandas.read_{source.type}"


def column_notes(columns: list[dict[str, Any]], spec: TabularSpec, dp: bool) -> list[str]:
    """What a column is beyond contract.py's COLUMNS, BOUNDS and VALUES, one line per kind."""
    notes = []
    decimals = [
        f"{c['name']} {c['decimals']}"
        for c in columns
        if c["type"] == "numerical" and c.get("decimals") is not None
    ]
    if decimals:
        notes.append("Decimals (not in contract.py): " + ", ".join(decimals))
    dates = [c for c in columns if c["type"] == "datetime"]
    if dates:
        aware = "; a `%z` date is held as naive UTC" if any(c["aware"] for c in dates) else ""
        notes.append(
            f"Date formats (read and written{aware}): "
            + ", ".join(f"{c['name']} `{c['format']}`" for c in dates)
        )
    key = spec.data.primary_key
    if key:
        regex = next(c.get("regex") for c in columns if c["name"] == key)
        shown = f", matching `{regex}`" if regex else ""
        notes.append(f"Primary key `{key}`: unique and never missing{shown}")
    notes.append(never_learned(columns, dp))
    return notes


def never_learned(columns: list[dict[str, Any]], dp: bool) -> str:
    """The columns the synthesizer never sees, and how sample.py makes each of them."""
    faked = [c for c in columns if c["private"] == "fake"]
    dropped = [c["name"] for c in columns if c["private"] == "drop"]
    ids = made_ids(columns)
    if not (faked or dropped or ids):
        return "Every column is learned; none is faked or dropped"
    parts = []
    if ids:
        names = ", ".join(
            f"`{c['name']}` (`{c['regex']}`)"
            if c.get("regex")
            else f"`{c['name']}` (no regex declared: the code draws from `{DEFAULT_ID_REGEX}`)"
            for c in ids
        )
        if dp:
            parts.append(
                f"ids {names}: distinct values drawn with `random.Random(SEED)` from the regex, "
                "sorted, nothing real read (an id can equal a real one by chance)"
            )
        else:
            parts.append(
                f"ids {names}: SDV makes them; sample.py replaces one equal to a real id by "
                "the next value of rdt's `strings_from_regex(regex)` that no row and no real "
                "row holds"
            )
    pii = [f"`{c['name']}` (`fake.{c['faker']}()`)" for c in faked if c["type"] == "pii"]
    if pii:
        again = (
            "nothing real read, so a fake can equal a real value by chance"
            if dp
            else "a value equal to one of that column's real values is drawn again, up to 100 "
            "times (then SampleError)"
        )
        parts.append(
            f"faked {', '.join(pii)}: `Faker('en_US')`, `seed_instance(SEED)`, one call per "
            f"row, {again}"
        )
    fake_ids = [f"`{c['name']}`" for c in faked if c["type"] == "id"]
    if fake_ids:
        parts.append(f"faked {', '.join(fake_ids)}: `fake00000000`, `fake00000001`, ... by row")
    domain = [f"`{c['name']}`" for c in faked if c["type"] not in ("pii", "id")]
    if domain:
        parts.append(
            f"faked {', '.join(domain)}: uniform over the declared domain, "
            "`np.random.default_rng(SEED)`"
        )
    if dropped:
        parts.append(f"dropped (never written) {', '.join(f'`{n}`' for n in dropped)}")
    return "Not learned: " + "; ".join(parts)


def build_call(spec: TabularSpec, constraints: list[dict[str, Any]]) -> str:
    """The synthesizer's constructor with every argument build() passes, as the code writes it,
    and the constraints it adds."""
    ctgan = spec.synthesizer.ctgan.model_dump(mode="json")
    dp = spec.privacy.differential_privacy
    if dp is None:
        args = ", ".join(f"{name}={ctgan[name]!r}" for name in _CTGAN_ARGS)
        call = (
            "`CTGANSynthesizer(Metadata.load_from_dict(METADATA), enforce_min_max_values=True, "
            f"enforce_rounding=True, epochs=epochs, {args}, enable_gpu={_ENABLE_GPU}, "
            "verbose=True)`"
        )
        added = [c["sdv"] for c in constraints if c["sdv"]]
        if any(not c["sdv"] for c in constraints):
            added.insert(0, "ContractRules()")
        if added:
            call += f", then `add_constraints([{', '.join(added)}])`"
        return call + "; SDV's CTGAN uses Adam with betas (0.5, 0.9) for G and D"
    args = ", ".join(f"{name}={ctgan[name]!r}" for name in _DP_NETWORK_ARGS)
    return (
        f"`DPGAN(FIELDS, seed=SEED, epsilon={dp.epsilon!r}, delta={dp.delta!r}, "
        f"max_grad_norm={dp.max_grad_norm!r}, accountant={dp.accountant!r}, loss={dp.loss!r}, "
        f"epochs=epochs, {args}, device=device)`; device `auto` is `cuda` when torch sees one"
    )


def written_columns(columns: list[dict[str, Any]], output_columns: list[str]) -> str:
    """Which columns sample.py writes, in words when they are the declared ones in order."""
    declared = [c["name"] for c in columns if c["private"] != "drop"]
    if output_columns == declared:
        dropped = [c["name"] for c in columns if c["private"] == "drop"]
        but = f" but {', '.join(dropped)}" if dropped else ""
        return f"every declared column{but}, in declared order"
    return "columns " + ", ".join(output_columns)


def constraint_lines(constraints: list[dict[str, Any]], dp: bool) -> list[str]:
    """Each constraint in words, with what enforces it on sampled rows."""
    lines = []
    for c in constraints:
        if dp and c["kind"] == "fixed_increments":
            how = "`synthesizer.repair` rounds it to the nearest multiple inside the bounds"
        elif c["kind"] == "null_rule":
            where = "`synthesizer.repair`" if dp else "`ContractRules.reverse_transform`"
            how = f"{where} removes the value where the rule says; other breaking rows are rejected"
        elif dp or not c["sdv"]:
            how = "rows that break it are rejected" + ("" if dp else " by `ContractRules`")
        else:
            how = f"SDV `{c['sdv']}`"
        lines.append(f"`constraints[{c['index']}]` {c['kind']}: {c['text']} ({how})")
    return lines


def forbidden_cases(has_bounds: bool, key_written: bool) -> str:
    """What test_the_contract_catches_what_it_forbids breaks and sees reported, in words."""
    cases = ["A value missing where none may be"]
    if has_bounds:
        cases.append("one out of bounds")
    if key_written:
        cases.append("a duplicate key")
    listed = cases[0] if len(cases) == 1 else ", ".join(cases[:-1]) + " and " + cases[-1]
    return f"{listed} {'is' if len(cases) == 1 else 'are'} reported."


def typed_example(condition: str, by_name: dict[str, dict[str, Any]]) -> str:
    """``--condition`` example as sample.conditions returns it: {"target": 0} for target=0."""
    column, _, text = condition.partition("=")
    info = by_name.get(column)
    value: object = text
    if info is not None and info["type"] == "boolean":
        value = text.lower() == "true"
    elif info is not None and info.get("int_values"):
        value = int(text)
    return repr({column: value})


def _has(columns: list[dict[str, Any]], kind: str) -> bool:
    return any(c["type"] == kind for c in columns)


def made_ids(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The id columns sample.py numbers itself (a ``private`` one is faked or dropped)."""
    return [c for c in columns if c["type"] == "id" and c["private"] is None]


# What a (type, pandas dtype) pair is called in words, for the parsed dtypes' sentence.
_KIND_WORDS = {
    ("numerical", "float64"): "float numbers",
    ("numerical", "Int64"): "ints",
    ("categorical", "Int64"): "integer categories",
    ("categorical", "object"): "text categories",
    ("boolean", "boolean"): "booleans",
    ("id", "string"): "ids",
    ("pii", "string"): "pii columns",
    ("datetime", "datetime64[ns]"): "dates",
}


def parsed_dtypes(columns: list[dict[str, Any]]) -> str:
    """The exact dtype data.py's parser gives each kind of column the spec has."""
    kinds: dict[str, list[str]] = {}
    for c in columns:
        dtype = c["pandas_dtype"]
        word = _KIND_WORDS.get((c["type"], dtype), f"{c['type']} columns")
        if word not in kinds.setdefault(dtype, []):
            kinds[dtype].append(word)
    return ", ".join(f"`{dtype}` for {' and '.join(words)}" for dtype, words in kinds.items())


def parse_rules(columns: list[dict[str, Any]]) -> str:
    """How load_real parses each kind of column the spec has, as data.py does."""
    rules = ["numbers by `pd.to_numeric`"]
    if any(c.get("dtype") == "int" for c in columns):
        rules.append("ints whole: a fraction does not parse")
    if _has(columns, "boolean"):
        rules.append("booleans from true/false")
    if _has(columns, "datetime"):
        rules.append("dates by their format")
    return ", ".join(rules)


def metadata_rules(columns: list[dict[str, Any]]) -> str:
    """How METADATA writes the spec's columns, naming only the kinds the spec has."""
    ids = bool(made_ids(columns))
    dates = "; no `datetime_format`" if _has(columns, "datetime") else ""
    text = (
        f'each learned{" or id" if ids else ""} column as `{{"sdtype": TYPE}}` only '
        f"(no `computer_representation`, deprecated in SDV 2.0{dates})"
    )
    if ids:
        text += (
            ', an id as `{"sdtype": "id", "regex_format": REGEX}` (no `regex_format` without '
            "a declared regex)"
        )
    if any(c["private"] for c in columns):
        text += "; faked and dropped columns absent"
    return text


def python_values(columns: list[dict[str, Any]]) -> str:
    """The plain Python type sample.conditions gives each kind of learned column."""
    learned = [c for c in columns if c["learned"]]
    kinds = []
    if any(c["pandas_dtype"] == "Int64" for c in learned):
        kinds.append("`int` for an Int64 column")
    if any(c["pandas_dtype"] == "float64" for c in learned):
        kinds.append("`float` for a float64 one")
    if _has(learned, "boolean"):
        kinds.append("`bool` for a boolean")
    if _has(learned, "datetime"):
        kinds.append("`pd.Timestamp` for a date")
    if any(c["pandas_dtype"] == "object" for c in learned):
        kinds.append("`str` for text categories")
    return ", ".join(kinds)


def as_written_steps(columns: list[dict[str, Any]], dp: bool) -> str:
    """What sample.py does to sampled rows before valid_rows sees them, and the dtypes the
    batch holds then (valid_rows compares VALUES as text, so they decide a row's fate)."""
    steps = "round floats to their declared decimals"
    if _has(columns, "datetime"):
        steps += " and dates through their format"
    if not dp:
        steps += " (SDV's `enforce_rounding` learns decimals from the data, not the spec)"
    maker = "`DPGAN.sample` decodes to them" if dp else "SDV returns the dtypes it was fit on"
    learned = [c for c in columns if c["learned"]]
    ints = any(c["pandas_dtype"] == "Int64" for c in learned)
    whole = "; Int64 values whole, never rounded or cast" if ints else ""
    steps += (
        f"; the batch's numbers and categories then already hold their `contract.COLUMNS` dtypes "
        f"({maker}{whole}), which valid_rows needs: it compares `VALUES` as text"
    )
    typed_ints = [
        c["name"] for c in learned if c["type"] == "categorical" and c["pandas_dtype"] == "Int64"
    ]
    if typed_ints:
        steps += f" (a float `0.0` in {typed_ints[0]} is not `0`)"
    return steps


def made_columns(columns: list[dict[str, Any]]) -> str:
    """The columns sample.py makes after sampling, in words (empty when there are none)."""
    ids = bool(made_ids(columns))
    fakes = any(c["private"] == "fake" for c in columns)
    made = [w for w, present in (("ids", ids), ("fakes", fakes)) if present]
    return f", the {' and '.join(made)} made" if made else ""


def read_back(output_format: str) -> str:
    """How read_synthetic reads the written table before data.py's parsers."""
    if output_format == "parquet":
        return "parquet values as text"
    return 'csv as text with `keep_default_na=False, na_values=[""]`'


def point_encoding(columns: list[dict[str, Any]]) -> str:
    """How closer_to_train turns rows into points, for the kinds the spec has."""
    dates = " and dates (seconds since 1970)" if _has(columns, "datetime") else ""
    ordered = [c for c in columns if c["learned"] and c["type"] in ("numerical", "datetime")]
    # Every number has its missing coordinate; it moves no distance unless a value can be missing.
    missing = ", plus a 0/1 missing coordinate (missing: 0, 1)"
    return f"numbers{dates} as (x - min) / range of the training rows (range 0: 1)" + (
        missing if any(c["nullable"] for c in ordered) else ""
    )


def ml_model(columns: list[dict[str, Any]], target: str | None) -> dict[str, str] | None:
    """The model ML efficacy fits for the target's kind, its metric, and how inputs are coded
    (None: the spec measures no ML efficacy)."""
    if target is None:
        return None
    kind = next(c["type"] for c in columns if c["name"] == target)
    dates = ", dates as seconds" if _has(columns, "datetime") else ""
    inputs = f"numbers as floats{dates}"
    if kind in ("categorical", "boolean"):
        return {"model": "HistGradientBoostingClassifier", "metric": "accuracy", "inputs": inputs}
    return {"model": "HistGradientBoostingRegressor", "metric": "r2", "inputs": inputs}


def other_names(dp: bool) -> str:
    """Names PROMPT.md uses that the interface list (what the tests import) leaves out, each in
    the module ganspec's render defines it."""
    model = "model: DPGAN" if dp else "synthesizer: CTGANSynthesizer"
    synthesizer = "`EPOCHS`, `FIELDS`, `MODEL_COLUMNS`" if dp else "`EPOCHS`, `MODEL_COLUMNS`"
    source = (
        "`model.loss_values`"
        if dp
        else '`synthesizer.get_loss_values()[["Epoch", "Generator Loss", "Discriminator Loss"]]`, '
        "a row each"
    )
    return (
        "`SEED`, `HOLDOUT`, `DataError` (a `ValueError`) in data.py; `TABLE`, `METADATA` in "
        f"metadata.py; {synthesizer}, `sample_conditions({model}, values: dict[str, object], "
        "rows: int, draw: int = 0) -> pd.DataFrame` and "
        f"`losses({model}) -> list[dict[str, float]]` (fit.json's losses, from {source}) in "
        "synthesizer.py; `OUTPUT_COLUMNS`, `MAX_ROUNDS`, `SampleError` in sample.py; "
        "`CorruptFile` (a `ValueError`) in storage.py"
    )


def written_file(output_format: str, columns: list[dict[str, Any]]) -> str:
    """How the synthetic table's file is encoded, naming only what the spec can hold."""
    dates = ", dates in their declared formats" if _has(columns, "datetime") else ""
    if output_format == "parquet":
        return f"`to_parquet(index=False)`{dates}"
    nullable = any(c["nullable"] for c in columns)
    missing = ", missing as an empty cell" if nullable else ""
    return f"`to_csv(index=False)`, UTF-8{missing}{dates}"


def missing_share(columns: list[dict[str, Any]]) -> str:
    """evaluation.json's missing_share for this spec."""
    if any(c["nullable"] and c["learned"] for c in columns):
        return '`{column: {"real", "synthetic"}}` per nullable learned column'
    return "`{}`: no learned column is nullable"


def prompt_context(
    spec: TabularSpec,
    columns: list[dict[str, Any]],
    constraints: list[dict[str, Any]],
    output_columns: list[str],
    has_bounds: bool,
    example_condition: str,
) -> dict[str, Any]:
    """Everything PROMPT.md.j2 and the test docstrings place as it is."""
    dp = spec.privacy.differential_privacy is not None
    efficacy = spec.validation.ml_efficacy
    by_name = {c["name"]: c for c in columns}
    key = spec.data.primary_key
    keyed = bool(key) and by_name[key]["private"] is None
    table = '"primary_key": KEY, "columns": {...}' if keyed else '"columns": {...}'
    return {
        "keyed": keyed,
        "metadata_shape": f'{{"METADATA_SPEC_VERSION": "V1", "tables": {{TABLE: {{{table}}}}}}}',
        "constraint_lines": constraint_lines(constraints, dp),
        "seed_note": "DPGAN seeds its own fit" if dp else "SDV's own fit is not seeded",
        "receives": receives(spec),
        "real_reader": real_reader(spec),
        "column_notes": column_notes(columns, spec, dp),
        "build_call": build_call(spec, constraints),
        "written_columns": written_columns(columns, output_columns),
        "forbidden_cases": forbidden_cases(has_bounds, bool(key) and key in output_columns),
        "example_condition_typed": typed_example(example_condition, by_name),
        "parse_rules": parse_rules(columns),
        "parsed_dtypes": parsed_dtypes(columns),
        "metadata_rules": metadata_rules(columns),
        "python_values": python_values(columns),
        "as_written_steps": as_written_steps(columns, dp),
        "made_columns": made_columns(columns),
        "read_back": read_back(spec.output.format),
        "point_encoding": point_encoding(columns),
        "ml_model": ml_model(columns, efficacy.target if efficacy else None),
        "written_file": written_file(spec.output.format, columns),
        "missing_share": missing_share(columns),
        "other_names": other_names(dp),
    }
