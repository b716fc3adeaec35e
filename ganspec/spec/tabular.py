"""The tabular spec: the data contract a CTGAN (SDV 2.0) learns, and the bar its output clears.

With tabular GANs the networks are the library's job; the spec owns the contract: every column
typed explicitly (never SDV's auto-detection), the primary key, constraints, privacy, the
synthesizer's numbers with SDV's defaults written out, the output and the validation protocol.
Every default below is SDV 2.0.0's ``CTGANSynthesizer`` default or ganspec's stated choice.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from ganspec.spec.common import (
    Count,
    ErrorAt,
    Flag,
    Identifier,
    NonNegative,
    Number,
    RuleCode,
    StrictModel,
)

# A column name as a CSV header or a DataFrame holds it: any printable text, e.g. scikit-learn's
# "od280/od315_of_diluted_wines" or "sepal length (cm)".
ColumnName = Annotated[
    str,
    Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
]
TableName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
Fraction = Annotated[Number, Field(ge=0, le=1)]
FilePath = Annotated[str, Field(min_length=1, max_length=4096)]

# --- data sources ----------------------------------------------------------------------------


class CsvSource(StrictModel):
    """A UTF-8 CSV file with a header row (relative paths start at the spec's folder)."""

    type: Literal["csv"]
    path: FilePath = Field(description="CSV file, relative to the spec file's folder.")
    delimiter: Annotated[str, Field(min_length=1, max_length=1)] = ","
    null_values: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=32)] = (
        Field(
            default_factory=lambda: [""],
            description="Cells that mean 'no value' (the render reads the file with pandas' "
            "keep_default_na=False and na_values set to these): an empty cell by default, so "
            "that a category called NA stays a category.",
        )
    )


class ParquetSource(StrictModel):
    """A Parquet file (validate reads it through pyarrow, when installed)."""

    type: Literal["parquet"]
    path: FilePath = Field(description="Parquet file, relative to the spec file's folder.")


class SklearnSource(StrictModel):
    """One of scikit-learn's bundled tables: offline, no download."""

    type: Literal["sklearn"]
    name: Literal["wine", "diabetes", "breast_cancer", "iris"] = Field(
        description="load_wine, load_diabetes(scaled=False), load_breast_cancer or load_iris, "
        "as_frame: the feature columns plus 'target'."
    )


class CustomersSource(StrictModel):
    """The generated customers demo table (ganspec/tabular/customers.py): an id key, a
    signup/churn date pair, nulls, categoricals and PII, made deterministically from the seed."""

    type: Literal["customers"]
    rows: Annotated[StrictInt, Field(ge=1, le=1_000_000)] = Field(
        description="Rows to generate (the same seed gives the same table)."
    )


TabularSource = Annotated[
    CsvSource | ParquetSource | SklearnSource | CustomersSource,
    Field(discriminator="type"),
]

# --- columns ---------------------------------------------------------------------------------


def _category(value: Any) -> Any:
    """Categories are text or whole numbers. YAML reads a bare yes/no/on/off as a boolean,
    which would never match the data's text: say so instead of a type error."""
    if isinstance(value, bool):
        raise ValueError(
            f"YAML reads this value as {str(value).lower()}; quote it ('yes', 'no', 'on', "
            "'off') if it is a category, or declare the column as type: boolean"
        )
    if isinstance(value, float):
        raise ValueError(f"{value} is not a category: categories are text or whole numbers")
    return value


Category = Annotated[str | StrictInt, BeforeValidator(_category)]
DateBound = datetime | date | str


def naive_utc(value: datetime) -> datetime:
    """Every datetime compared is naive UTC: an aware one (a %z format, a YAML bound with Z)
    cannot be compared with a naive one, so offsets are applied here, once."""
    if value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def as_datetime(value: DateBound, fmt: str) -> datetime:
    """A declared date bound as a naive UTC datetime: YAML dates as they are, text through
    the format."""
    if isinstance(value, datetime):
        return naive_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return naive_utc(datetime.strptime(value, fmt))


DEFAULT_ID_REGEX = "[0-9]{10}"  # what new ids are drawn from when a column declares no regex


class IdColumn(StrictModel):
    """A key or identifier: names a row, carries no information to learn; new ids are made."""

    type: Literal["id"]
    regex: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None,
        description="Every value matches this Python regular expression in full; the render "
        "makes synthetic ids from it.",
    )

    @field_validator("regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from None
        return value


class NumericalColumn(StrictModel):
    """Numbers: whole (int) or real (float), with the bounds the data and the output keep to."""

    type: Literal["numerical"]
    dtype: Literal["int", "float"] = Field(description="int: whole numbers; float: real numbers.")
    min: Number | None = Field(None, description="Smallest allowed value (inclusive).")
    max: Number | None = Field(None, description="Largest allowed value (inclusive).")
    decimals: Annotated[StrictInt, Field(ge=0, le=15)] | None = Field(
        None, description="float only: decimal places of the synthetic values."
    )
    nullable: Flag = Field(False, description="Whether a value may be missing.")

    @model_validator(mode="after")
    def _consistent(self) -> NumericalColumn:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min:g} is larger than max {self.max:g}")
        if self.dtype == "int":
            if self.decimals is not None:
                raise ValueError("decimals is for dtype: float; whole numbers have none")
            for bound in (self.min, self.max):
                if bound is not None and bound != int(bound):
                    raise ValueError(f"bound {bound:g} of an int column must be a whole number")
        return self


class CategoricalColumn(StrictModel):
    """A fixed set of values (text or whole numbers)."""

    type: Literal["categorical"]
    values: Annotated[list[Category], Field(min_length=1, max_length=10_000)] | None = Field(
        None,
        description="Every allowed value. Omit to take them from the data (not allowed with "
        "differential privacy: the list itself would leak).",
    )
    nullable: Flag = Field(False, description="Whether a value may be missing.")

    @field_validator("values")
    @classmethod
    def _distinct(cls, values: list[str | int] | None) -> list[str | int] | None:
        if values is not None:
            seen: set[str] = set()
            for value in values:
                if str(value) in seen:
                    raise ValueError(f"value {value!r} is listed twice")
                seen.add(str(value))
        return values


class BooleanColumn(StrictModel):
    """true/false (true, True or TRUE in a CSV file, as pandas reads them)."""

    type: Literal["boolean"]
    nullable: Flag = Field(False, description="Whether a value may be missing.")


# Any aware datetime with every field set: the round trip that checks a format.
_FORMAT_PROBE = datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=timezone.utc)


class DatetimeColumn(StrictModel):
    """Dates or times written in one strftime format."""

    type: Literal["datetime"]
    format: Annotated[str, Field(min_length=2, max_length=64)] = Field(
        description="strftime format of the values, e.g. %Y-%m-%d."
    )
    min: DateBound | None = Field(None, description="Earliest allowed value (inclusive).")
    max: DateBound | None = Field(None, description="Latest allowed value (inclusive).")
    nullable: Flag = Field(False, description="Whether a value may be missing.")

    @field_validator("format")
    @classmethod
    def _parses(cls, value: str) -> str:
        """A format strptime cannot use would blame every row of the data: catch it here, by
        writing a fixed datetime in the format and reading it back."""
        try:
            datetime.strptime(_FORMAT_PROBE.strftime(value), value)
        except ValueError as exc:
            raise ValueError(f"format {value!r} cannot be read back: {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> DatetimeColumn:
        if "%" not in self.format:
            raise ValueError(f"format {self.format!r} has no strftime directive such as %Y")
        bounds = []
        for name in ("min", "max"):
            value = getattr(self, name)
            if value is None:
                continue
            try:
                bounds.append(as_datetime(value, self.format))
            except ValueError:
                shown = f"{name} {value!r}"
                raise ValueError(f"{shown} does not match format {self.format!r}") from None
        if len(bounds) == 2 and bounds[0] > bounds[1]:
            raise ValueError(f"min {self.min} is later than max {self.max}")
        return self

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        low = None if self.min is None else as_datetime(self.min, self.format)
        high = None if self.max is None else as_datetime(self.max, self.format)
        return low, high


class PiiColumn(StrictModel):
    """Personal data (names, emails, phone numbers): never learned, always replaced by fake
    values from a Faker provider (or dropped: privacy.sensitive)."""

    type: Literal["pii"]
    faker: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")] = Field(
        description="Faker provider method that makes the fake values: name, email, "
        "phone_number, address, ..."
    )
    nullable: Flag = Field(False, description="Whether a value may be missing.")


Column = Annotated[
    IdColumn | NumericalColumn | CategoricalColumn | BooleanColumn | DatetimeColumn | PiiColumn,
    Field(discriminator="type"),
]
COLUMN_TYPES = ("id", "numerical", "categorical", "boolean", "datetime", "pii")


class TabularData(StrictModel):
    """The real table: where it comes from and every column with its declared type."""

    source: TabularSource
    table: TableName = Field(description="The table's name (SDV metadata's table name).")
    primary_key: ColumnName | None = Field(
        None, description="The id column whose values are unique and never missing."
    )
    columns: Annotated[dict[ColumnName, Column], Field(min_length=1, max_length=1000)] = Field(
        description="Every column of the table with its type, in the table's order."
    )


# --- constraints -----------------------------------------------------------------------------


class InequalityOptions(StrictModel):
    low: ColumnName
    high: ColumnName
    strict: Flag = Field(True, description="high > low (true, SDV's default) or high >= low.")


class Inequality(StrictModel):
    """high > low on every row (two numerical or two datetime columns); missing values pass."""

    inequality: InequalityOptions


class RangeOptions(StrictModel):
    low: ColumnName
    middle: ColumnName
    high: ColumnName
    strict: Flag = Field(True, description="low < middle < high (true) or with <=.")


class Range(StrictModel):
    """low <= middle <= high on every row (three numerical or three datetime columns)."""

    range: RangeOptions


CombinationColumns = Annotated[list[ColumnName], Field(min_length=2, max_length=32)]


class FixedCombinationsOptions(StrictModel):
    """The declared form: every allowed combination written out, so that none is read from
    the data (differential privacy needs this: the set present in the data is private)."""

    columns: CombinationColumns = Field(description="The categorical columns, in order.")
    allowed: Annotated[list[list[Category]], Field(min_length=1, max_length=100_000)] = Field(
        description="Every allowed combination: one list of values per row, in the order of "
        "columns, e.g. [[US, New York], [DE, Berlin]]."
    )

    @model_validator(mode="after")
    def _rows(self) -> FixedCombinationsOptions:
        width = len(self.columns)
        first: dict[tuple[str, ...], int] = {}
        for index, row in enumerate(self.allowed):
            if len(row) != width:
                raise ErrorAt(
                    f"allowed[{index}] has {len(row)} value{'s' * (len(row) != 1)}, but "
                    f"columns names {width} "
                    f"({', '.join(self.columns)}): give one value per column",
                    "allowed",
                    index,
                )
            key = tuple(str(value) for value in row)
            seen = first.setdefault(key, index)
            if seen != index:
                raise ErrorAt(
                    f"allowed[{index}] repeats allowed[{seen}] "
                    f"[{', '.join(key)}]: list each combination once",
                    "allowed",
                    index,
                )
        return self


def combinations_form(value: Any) -> str | None:
    """Which form a fixed_combinations value is written in: a list of columns, or a mapping
    with columns and allowed. Also the tag pydantic puts in an error's location."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict | FixedCombinationsOptions):
        return "mapping"
    return None


class FixedCombinations(StrictModel):
    """Only some combinations of these categorical columns (e.g. country and city): those seen
    in the data (a list of columns, SDV's FixedCombinations), or those declared under allowed
    (a mapping: {columns, allowed})."""

    fixed_combinations: Annotated[
        Annotated[CombinationColumns, Tag("list")]
        | Annotated[FixedCombinationsOptions, Tag("mapping")],
        Discriminator(
            combinations_form,
            custom_error_type="combinations_form",
            custom_error_message="fixed_combinations is a list of columns, [a, b], or a "
            "mapping {columns: [a, b], allowed: [[x, y], ...]}",
        ),
    ] = Field(
        description="A list of categorical columns (only the combinations seen in the data), "
        "or {columns, allowed} (only the combinations declared: needed with differential "
        "privacy)."
    )

    def names(self) -> list[str]:
        """The columns, whichever the form."""
        value = self.fixed_combinations
        return list(value.columns if isinstance(value, FixedCombinationsOptions) else value)

    def allowed(self) -> list[tuple[str | int, ...]] | None:
        """The declared combinations; None when they are the data's."""
        value = self.fixed_combinations
        if isinstance(value, FixedCombinationsOptions):
            return [tuple(row) for row in value.allowed]
        return None


class FixedIncrementsOptions(StrictModel):
    column: ColumnName
    increment: Annotated[StrictInt, Field(ge=1, le=10**12)] = Field(
        description="Every value is a multiple of it (a positive whole number, as SDV needs)."
    )


class FixedIncrements(StrictModel):
    """Every value of a numerical column is a multiple of the increment."""

    fixed_increments: FixedIncrementsOptions


class OneHot(StrictModel):
    """Exactly one of these numerical 0/1 columns is 1 on every row."""

    one_hot: Annotated[list[ColumnName], Field(min_length=2, max_length=1000)]


class Positive(StrictModel):
    """The column's values are > 0 (SDV 2.0 has no Positive: see README, Tabular)."""

    positive: ColumnName


class Negative(StrictModel):
    """The column's values are < 0."""

    negative: ColumnName


class BoundsOptions(StrictModel):
    column: ColumnName
    low: Number | None = None
    high: Number | None = None
    strict: Flag = Field(False, description="low < value < high (true) or with <=.")

    @model_validator(mode="after")
    def _some_bound(self) -> BoundsOptions:
        if self.low is None and self.high is None:
            raise ValueError("give low, high or both")
        if self.low is not None and self.high is not None and self.low >= self.high:
            raise ValueError(f"low {self.low:g} must be smaller than high {self.high:g}")
        return self


class Bounds(StrictModel):
    """low <= value <= high for a numerical column (SDV 1.x's ScalarRange)."""

    bounds: BoundsOptions


def _equals_value(value: Any) -> Any:
    """One message naming the value and what is accepted, not one per branch of the union."""
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, date):
        raise ValueError(
            f"YAML reads {value} as a date; equals takes text, a whole number or true/false: "
            f"quote it ('{value}')"
        )
    if isinstance(value, float):
        raise ValueError(
            f"{value:g} is a real number; equals takes text, a whole number or true/false: "
            f"quote it ('{value:g}') if the column holds that text"
        )
    raise ValueError("equals takes text, a whole number or true/false")


class NullWhen(StrictModel):
    column: ColumnName
    equals: Annotated[
        StrictBool | StrictInt | Annotated[str, Field(max_length=200)],
        BeforeValidator(_equals_value),
    ]


class NullRuleOptions(StrictModel):
    column: ColumnName = Field(description="The column that is sometimes missing.")
    when: NullWhen = Field(
        description="It is missing exactly on the rows where this column has this value."
    )


class NullRule(StrictModel):
    """A column is missing exactly when another column has a given value (churn_date is empty
    exactly when churned is false)."""

    null_rule: NullRuleOptions


CONSTRAINT_TYPES: dict[str, type[StrictModel]] = {
    "inequality": Inequality,
    "range": Range,
    "fixed_combinations": FixedCombinations,
    "fixed_increments": FixedIncrements,
    "one_hot": OneHot,
    "positive": Positive,
    "negative": Negative,
    "bounds": Bounds,
    "null_rule": NullRule,
}
CONSTRAINT_KEYS = tuple(CONSTRAINT_TYPES)


def constraint_of(constraint: Any) -> str | None:
    """The kind of a raw constraint mapping or a parsed one; None unless exactly one key is a
    constraint kind."""
    if isinstance(constraint, StrictModel):
        return next(iter(type(constraint).model_fields))
    if isinstance(constraint, dict):
        found = [key for key in CONSTRAINT_KEYS if key in constraint]
        return found[0] if len(found) == 1 else None
    return None


Constraint = Annotated[
    Annotated[Inequality, Tag("inequality")]
    | Annotated[Range, Tag("range")]
    | Annotated[FixedCombinations, Tag("fixed_combinations")]
    | Annotated[FixedIncrements, Tag("fixed_increments")]
    | Annotated[OneHot, Tag("one_hot")]
    | Annotated[Positive, Tag("positive")]
    | Annotated[Negative, Tag("negative")]
    | Annotated[Bounds, Tag("bounds")]
    | Annotated[NullRule, Tag("null_rule")],
    Discriminator(
        constraint_of,
        custom_error_type="constraint_kind",
        custom_error_message="a constraint needs exactly one kind key",
    ),
]

# --- privacy ---------------------------------------------------------------------------------


class DifferentialPrivacy(StrictModel):
    """DP-SGD on the discriminator (opacus): the synthetic table is (epsilon, delta)-DP."""

    epsilon: Annotated[Number, Field(gt=0, le=100)] = Field(
        description="Privacy budget: training stops when it is spent."
    )
    delta: Annotated[Number, Field(gt=0, lt=1)] = Field(
        description="Failure probability; must be below 1/rows of the real table."
    )
    max_grad_norm: Annotated[Number, Field(gt=0, le=100)] = Field(
        1.0, description="Per-sample gradient clipping norm."
    )
    loss: Literal["bce", "wgan-gp"] = Field(
        "bce",
        description="The discriminator's loss. bce: opacus computes its per-sample gradients; "
        "wgan-gp (CTGAN's own) needs a gradient penalty opacus cannot privatise.",
    )
    accountant: Literal["rdp", "prv"] = Field("rdp", description="opacus privacy accountant.")


class Privacy(StrictModel):
    """What is never learned, and the differential-privacy budget."""

    sensitive: Annotated[dict[ColumnName, Literal["fake", "drop"]], Field(max_length=1000)] = Field(
        default_factory=dict,
        description="Columns never learned: fake (replaced by values that come from the "
        "declared domain or a Faker provider, not from the data) or drop (left out of the "
        "output). pii columns are faked when not listed.",
    )
    differential_privacy: DifferentialPrivacy | None = None


# --- synthesizer -----------------------------------------------------------------------------

LayerSizes = Annotated[tuple[Count, ...], Field(min_length=1, max_length=8)]
Rate = Annotated[Number, Field(gt=0, le=1)]
Decay = Annotated[Number, Field(ge=0, lt=1)]


class Ctgan(StrictModel):
    """CTGANSynthesizer's numbers; the defaults are SDV 2.0.0's."""

    epochs: Annotated[Count, Field(le=100_000)] = 300
    batch_size: Count = Field(500, description="Rows per step: even, and a multiple of pac.")
    pac: Annotated[Count, Field(le=64)] = Field(
        10, description="PacGAN packing: D judges this many rows together."
    )
    generator_dim: LayerSizes = (256, 256)
    discriminator_dim: LayerSizes = (256, 256)
    embedding_dim: Annotated[Count, Field(le=100_000)] = Field(
        128, description="Size of the random noise G starts from."
    )
    generator_lr: Rate = 2e-4
    discriminator_lr: Rate = 2e-4
    generator_decay: Decay = 1e-6
    discriminator_decay: Decay = 1e-6
    discriminator_steps: Annotated[Count, Field(le=100)] = 1
    log_frequency: Flag = Field(
        True, description="Sample conditions by log frequency, so rare categories are trained."
    )
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="auto: CUDA when available (SDV's enable_gpu=True)."
    )


class Synthesizer(StrictModel):
    ctgan: Ctgan = Field(default_factory=Ctgan)


# --- output and validation -------------------------------------------------------------------


class Output(StrictModel):
    """The synthetic table the project writes."""

    rows: Annotated[StrictInt, Field(ge=1, le=100_000_000)]
    format: Literal["csv", "parquet"] = "csv"
    path: FilePath = Field(description="Where sample.py writes the table.")
    nulls: Literal["keep", "none"] = Field(
        "keep",
        description="keep: nullable columns miss values at the real table's rates; none: no "
        "missing values in the output.",
    )
    column_order: Annotated[list[ColumnName], Field(max_length=1000)] | None = Field(
        None, description="Output columns in this order; default: the declared order."
    )

    @model_validator(mode="after")
    def _suffix(self) -> Output:
        suffixes = {"csv": (".csv",), "parquet": (".parquet", ".pq")}[self.format]
        if not self.path.lower().endswith(suffixes):
            raise ValueError(
                f"path {self.path!r} does not end in {suffixes[0]} (format: {self.format})"
            )
        return self


class PrivacyChecks(StrictModel):
    max_exact_copies: NonNegative = Field(
        0, description="Synthetic rows allowed to equal a real training row."
    )
    max_closer_to_train: Annotated[Number, Field(ge=0.5, le=1)] = Field(
        0.6,
        description="Distance to closest record: share of synthetic rows whose nearest real row "
        "is a training row rather than a held-out one (equal-sized samples); 0.5 means no "
        "memorization.",
    )


class MlEfficacy(StrictModel):
    target: ColumnName = Field(description="Column a model predicts from the others.")
    min_ratio: Annotated[Number, Field(gt=0, le=10)] = Field(
        0.8,
        description="Train-on-synthetic/test-on-real score over train-on-real/test-on-real "
        "(accuracy for a category, R^2 for a number) on the held-out rows.",
    )


class TabularValidation(StrictModel):
    """The protocol that proves the synthetic table is good, valid and private."""

    min_quality: Fraction = Field(
        0.8, description="SDMetrics QualityReport overall score (column shapes and pairs)."
    )
    diagnostic_perfect: Flag = Field(
        True, description="SDMetrics DiagnosticReport (validity and structure) must score 1.0."
    )
    constraint_adherence: Fraction = Field(
        1.0, description="Share of synthetic rows that satisfy every constraint."
    )
    holdout: Annotated[Number, Field(gt=0, le=0.5)] = Field(
        0.2, description="Share of real rows held out of training (seeded split)."
    )
    privacy: PrivacyChecks = Field(default_factory=PrivacyChecks)
    ml_efficacy: MlEfficacy | None = None


# --- the root --------------------------------------------------------------------------------


class TabularSpec(StrictModel):
    """Synthetic tabular data: the spec owns the data contract, CTGAN (SDV 2.0) learns it."""

    ganspec: Literal[1] = Field(description="Spec format version.")
    name: Identifier = Field(description="Becomes the rendered package name.")
    kind: Literal["tabular"]
    description: Annotated[str, Field(max_length=2000)] = ""
    seed: Annotated[StrictInt, Field(ge=0, lt=2**32)] = 0
    ignore: list[RuleCode] = Field(
        default_factory=list, description="Rule codes to silence, e.g. [GS727]."
    )
    data: TabularData
    constraints: Annotated[list[Constraint], Field(max_length=1000)] = Field(
        default_factory=list, description="Rules every real and synthetic row satisfies."
    )
    privacy: Privacy = Field(default_factory=Privacy)
    synthesizer: Synthesizer = Field(default_factory=Synthesizer)
    output: Output
    validation: TabularValidation = Field(default_factory=TabularValidation)
