"""kind: tabular: the spec's data contract, checked as written and against the data.

Each GS7xx rule fires on a spec broken its way and is silent once the spec is fixed as the
finding says; the data checks run on small CSV files written here, and every finding about the
data names the data row as well as the spec line. The customers demo table is a pure function
of its seed and keeps its own contract. Nothing here imports pandas, SDV or torch.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import random
import subprocess
import sys
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ganspec import diagnostics
from ganspec.cli import cli
from ganspec.diagnostics import Diagnostic
from ganspec.rules import RULES
from ganspec.tabular import customers, scan, tables
from ganspec.validate import Report, validate_file, validate_text
from tests.conftest import DELETE, ROOT, SPECS, TABULAR_PRESETS, mutated, preset_data
from tests.test_fuzz import dump, mutate_tree, problems_with

CUSTOMERS = SPECS / "ctgan-customers.yaml"

# --- a small table of our own ------------------------------------------------------------------

COLUMNS: dict[str, Any] = {
    "customer_id": {"type": "id", "regex": "C[0-9]{3}"},
    "email": {"type": "pii", "faker": "email"},
    "age": {"type": "numerical", "dtype": "int", "min": 18, "max": 90},
    "plan": {"type": "categorical", "values": ["basic", "pro"]},
    "spend": {"type": "numerical", "dtype": "float", "min": 0, "max": 100, "nullable": True},
    "signup_date": {"type": "datetime", "format": "%Y-%m-%d"},
    "churn_date": {"type": "datetime", "format": "%Y-%m-%d", "nullable": True},
}
HEADER = "customer_id,email,age,plan,spend,signup_date,churn_date"
ROWS = [  # line 2 onwards
    "C001,ann@example.com,30,basic,10.5,2021-01-01,",
    "C002,bob@example.com,41,pro,,2021-02-01,2021-05-01",
    "C003,cy@example.com,25,basic,99.0,2020-07-15,2020-07-16",
    "C004,dee@example.com,67,pro,0,2022-03-03,",
]
SIGNUP_BEFORE_CHURN = {"inequality": {"low": "signup_date", "high": "churn_date"}}


def spec_data(**changes: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "ganspec": 1,
        "name": "shop",
        "kind": "tabular",
        "data": {
            "source": {"type": "csv", "path": "shop.csv"},
            "table": "shop",
            "primary_key": "customer_id",
            "columns": copy.deepcopy(COLUMNS),
        },
        "constraints": [SIGNUP_BEFORE_CHURN],
        "output": {"rows": 10, "path": "synthetic.csv"},
    }
    spec.update(changes)
    return spec


def write(
    folder: Path,
    rows: list[str] | None = None,
    *,
    header: str = HEADER,
    spec: dict[str, Any] | None = None,
    raw: bytes | None = None,
) -> Path:
    """shop.csv (header + rows, or raw bytes) and spec.yaml next to it; the spec's path."""
    data = raw if raw is not None else "\n".join([header, *(ROWS if rows is None else rows)])
    (folder / "shop.csv").write_bytes(data if isinstance(data, bytes) else (data + "\n").encode())
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec or spec_data(), sort_keys=False), encoding="utf-8")
    return path


def found(report: Report, code: str) -> list[Diagnostic]:
    return [d for d in report.diagnostics if d.code == code]


def described(report: Report) -> str:
    return "\n".join(d.as_text() for d in report.diagnostics) or "(no diagnostics)"


def only(report: Report, code: str) -> Diagnostic:
    """The one finding of ``code``, and no other error or warning."""
    others = [d for d in report.diagnostics if d.code != code and d.severity != "info"]
    assert not others, described(report)
    [diagnostic] = found(report, code)
    return diagnostic


def test_the_small_table_is_clean(tmp_path: Path) -> None:
    """The base every data test below breaks in one way."""
    report = validate_file(write(tmp_path))
    assert report.exit_code == 0 and report.diagnostics == [], described(report)


# --- the data, row by row ----------------------------------------------------------------------


def test_a_broken_constraint_names_the_data_line_and_the_constraint(tmp_path: Path) -> None:
    rows = [*ROWS[:3], "C004,dee@example.com,67,pro,0,2021-02-01,2021-01-03"]  # line 5
    report = validate_file(write(tmp_path, rows))
    finding = only(report, "GS726")
    assert report.exit_code == 1
    assert finding.data is not None and finding.data.line == 5 and finding.data.row == 4
    assert finding.path == "constraints[0]"
    assert "churn_date 2021-01-03 is before signup_date 2021-02-01 (inequality" in finding.message
    text = finding.as_text()
    assert text.startswith(f"{tmp_path / 'shop.csv'}:5: GS726 [error] constraints[0]: ")
    assert f"({tmp_path / 'spec.yaml'}:{finding.line}:" in text


def test_the_data_row_travels_in_every_output_format(tmp_path: Path) -> None:
    rows = [*ROWS[:3], "C004,dee@example.com,67,pro,0,2021-02-01,2021-01-03"]
    report = validate_file(write(tmp_path, rows))
    finding = only(report, "GS726")
    payload = json.loads(diagnostics.format_json([finding]))[0]
    assert payload["data"] == {"file": str(tmp_path / "shop.csv"), "line": 5, "row": 4}
    assert payload["line"] == finding.line  # the spec line stays the primary location
    github = diagnostics.format_github([finding])
    assert github.startswith(f"::error file={tmp_path / 'spec.yaml'},line={finding.line},")
    assert "shop.csv%3A5" not in github and f"{tmp_path / 'shop.csv'}:5: constraints[0]" in github


def test_a_duplicate_key_names_both_lines(tmp_path: Path) -> None:
    rows = [*ROWS[:3], ROWS[3].replace("C004", "C002")]
    finding = only(validate_file(write(tmp_path, rows)), "GS723")
    assert finding.data is not None and finding.data.line == 5
    assert "C002 appears again (first at line 3)" in finding.message
    assert finding.path == "data.primary_key"


def test_a_missing_key_is_reported(tmp_path: Path) -> None:
    rows = [*ROWS[:3], ROWS[3].replace("C004", "")]
    finding = only(validate_file(write(tmp_path, rows)), "GS723")
    assert "missing" in finding.message and finding.data.line == 5  # type: ignore[union-attr]


def test_an_undeclared_column_is_an_error_at_the_header(tmp_path: Path) -> None:
    header = HEADER + ",region"
    rows = [row + ",north" for row in ROWS]
    report = validate_file(write(tmp_path, rows, header=header))
    finding = only(report, "GS721")
    assert "'region' the spec does not declare" in finding.message
    assert finding.data is not None and finding.data.line == 1
    assert report.exit_code == 1


def test_a_renamed_column_is_one_finding_with_the_name_the_data_has(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, header=HEADER.replace("signup_date", "signup")))
    finding = only(report, "GS721")
    assert finding.path == "data.columns.signup_date"
    assert "the data has 'signup' instead" in finding.message


@pytest.mark.parametrize(
    ("row", "code", "phrase"),
    [
        ("C004,dee@example.com,forty,pro,0,2022-03-03,", "GS722", "age 'forty' is not a whole"),
        ("C004,dee@example.com,67,pro,0,03/03/2022,", "GS722", "a date in the format %Y-%m-%d"),
        ("C04,dee@example.com,67,pro,0,2022-03-03,", "GS722", "an id matching C[0-9]{3}"),
        ("C004,dee@example.com,67,pro,NA,2022-03-03,", "GS722", "data.source.null_values"),
        ("C004,dee@example.com,67,pro,0,2022-03-03,", "GS722", "7 fields, the header has 8"),
        ("C004,dee@example.com,17,pro,0,2022-03-03,", "GS724", "age 17 is below its declared"),
        ("C004,dee@example.com,67,gold,0,2022-03-03,", "GS724", "plan 'gold' is not one of"),
        ("C004,dee@example.com,,pro,0,2022-03-03,", "GS725", "age is missing"),
    ],
)
def test_each_bad_value_is_its_rule_at_its_line(
    tmp_path: Path, row: str, code: str, phrase: str
) -> None:
    header = HEADER + ",note" if "fields" in phrase else HEADER
    rows = [r + ",x" for r in ROWS[:3]] + [row] if "fields" in phrase else [*ROWS[:3], row]
    spec = spec_data()
    if "fields" in phrase:
        spec["data"]["columns"]["note"] = {"type": "categorical"}
    report = validate_file(write(tmp_path, rows, header=header, spec=spec))
    finding = only(report, code)
    assert phrase in finding.message + " " + (finding.fix or ""), described(report)
    assert finding.data is not None and finding.data.line == 5


def test_an_undeclared_category_is_one_finding_per_value_with_its_count(tmp_path: Path) -> None:
    rows = [f"C{n:03d},x@example.com,30,gold,1,2021-01-01," for n in range(1, 31)]
    finding = only(validate_file(write(tmp_path, rows)), "GS724")
    assert "(30 rows, the first shown)" in finding.message
    assert finding.data is not None and finding.data.line == 2


def test_findings_are_capped_and_the_rest_counted(tmp_path: Path) -> None:
    rows = [f"C{n:03d},x@example.com,{n}x,basic,1,2021-01-01," for n in range(1, 51)]
    report = validate_file(write(tmp_path, rows))
    shown = found(report, "GS722")
    assert len(shown) == diagnostics.MAX_PER_CODE
    assert shown[-1].message.endswith("(and 30 more GS722 findings, not shown)")
    assert report.errors == 50


def test_many_missing_keys_are_all_missing_keys_never_duplicates(tmp_path: Path) -> None:
    """Past the findings shown, rows are counted, not remembered: a missing key stays a
    missing key (a regression: uncounted ones were once taken as keys)."""
    rows = [",x@example.com,30,basic,1,2021-01-01," for _ in range(30)]
    report = validate_file(write(tmp_path, rows))
    shown = found(report, "GS723")
    assert all("is missing" in d.message for d in shown), described(report)
    assert report.errors == 30


def test_values_of_private_columns_are_never_quoted(tmp_path: Path) -> None:
    spec = spec_data()
    spec["privacy"] = {"sensitive": {"plan": "drop"}}
    rows = [*ROWS[:3], "C004,dee@example.com,67,secret-tier,0,2022-03-03,"]
    finding = only(validate_file(write(tmp_path, rows, spec=spec)), "GS724")
    assert "secret-tier" not in finding.message + (finding.fix or "")
    assert "not shown: sensitive (drop) column" in finding.message


@pytest.mark.parametrize(
    ("raw", "line", "phrase"),
    [
        (
            (HEADER + "\n" + ROWS[0] + "\nC002,b\xe9@example.com,41,pro,,2021-02-01,\n").encode(
                "latin-1"
            ),
            3,
            "line 3 is not UTF-8 text (byte 0xe9",
        ),
        ((HEADER + '\nC001,"ann@example.com"x,30,basic,1,2021-01-01,\n').encode(), 2, "CSV"),
        (
            (HEADER + '\nC001,"ann@example.com,30,basic,1,2021-01-01,\n' + ROWS[1] + "\n").encode(),
            2,
            "a quoted field opened on line 2 is never closed",
        ),
        ("\r".join([HEADER, *ROWS, ""]).encode(), 1, "the file uses CR line endings (old Mac)"),
        (b"", None, "is empty"),
        ((HEADER + "\n").encode(), 1, "a header but no rows"),
    ],
    ids=["latin-1", "bad-quote", "unclosed-quote", "cr-only", "empty", "header-only"],
)
def test_unreadable_data_is_one_clear_error_with_its_line(
    tmp_path: Path, raw: bytes, line: int | None, phrase: str
) -> None:
    report = validate_file(write(tmp_path, raw=raw))
    finding = only(report, "GS720")
    assert phrase in finding.message, described(report)
    assert finding.data is not None and finding.data.line == line
    assert report.exit_code == 1


def test_a_missing_data_file_points_at_the_path_in_the_spec(tmp_path: Path) -> None:
    spec = write(tmp_path)
    (tmp_path / "shop.csv").unlink()
    report = validate_file(spec)
    finding = only(report, "GS720")
    assert "no such file" in finding.message and finding.path == "data.source.path"
    text = spec.read_text().splitlines()
    assert "shop.csv" in text[finding.line - 1]


def test_a_fifo_or_a_folder_is_refused_without_reading_it(tmp_path: Path) -> None:
    write(tmp_path)
    (tmp_path / "shop.csv").unlink()
    os.mkfifo(tmp_path / "shop.csv")  # nobody writes to it: reading would wait forever
    assert "not a regular file" in only(validate_file(tmp_path / "spec.yaml"), "GS720").message


def test_data_paths_start_at_the_spec_folder_not_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = write(tmp_path)
    monkeypatch.chdir(ROOT)
    assert validate_file(spec).diagnostics == []


def test_rows_past_the_cap_are_counted_not_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GS727's trigger: the pass stops at MAX_ROWS, says so (info) and checks nothing beyond."""
    monkeypatch.setattr(scan, "MAX_ROWS", 3)
    rows = [*ROWS, "C005,eve@example.com,forty,pro,0,2022-03-03,"]  # a bad row past the cap
    report = validate_file(write(tmp_path, rows))
    finding = only(report, "GS727")
    assert finding.severity == "info" and "first 3 rows" in finding.message
    assert finding.data is not None and finding.data.line == 5
    assert report.exit_code == 0


def test_parquet_without_pyarrow_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = spec_data()
    spec["data"]["source"] = {"type": "parquet", "path": "shop.parquet"}
    path = write(tmp_path, spec=spec)
    (tmp_path / "shop.parquet").write_bytes(b"PAR1")
    real = tables.importlib.util.find_spec
    monkeypatch.setattr(
        tables.importlib.util, "find_spec", lambda name: None if name == "pyarrow" else real(name)
    )
    finding = only(validate_file(path), "GS720")
    assert "needs pyarrow" in finding.message and "pip install pyarrow" in (finding.fix or "")


def test_parquet_is_read_through_pyarrow(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    spec = spec_data()
    spec["data"]["source"] = {"type": "parquet", "path": "shop.parquet"}
    path = write(tmp_path, spec=spec)
    columns = list(zip(*(row.split(",") for row in ROWS), strict=True))
    table = {  # Parquet has real nulls: an empty cell is None
        name: [value or None for value in values]
        for name, values in zip(HEADER.split(","), columns, strict=True)
    }
    table["age"] = [int(v) for v in table["age"]]
    table["age"][3] = 17  # below min: reported at row 4
    pq.write_table(pa.table(table), tmp_path / "shop.parquet")
    finding = only(validate_file(path), "GS724")
    assert finding.data is not None and (finding.data.line, finding.data.row) == (None, 4)


def test_bundled_tables_need_scikit_learn_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tables.importlib.util.find_spec
    monkeypatch.setattr(
        tables.importlib.util, "find_spec", lambda name: None if name == "sklearn" else real(name)
    )
    report = validate_file(SPECS / "ctgan-wine.yaml")
    finding = only(report, "GS720")
    assert "scikit-learn is not installed" in finding.message
    assert finding.path == "data.source.name" and report.exit_code == 1


@pytest.mark.parametrize("name", sorted(tables.SKLEARN_COLUMNS))
def test_every_bundled_table_reads_whole_under_sklearns_column_names(name: str) -> None:
    columns: dict[str, Any] = {
        column: {"type": "numerical", "dtype": "float"} for column in tables.SKLEARN_COLUMNS[name]
    }
    spec = spec_data()
    spec["data"] = {
        "source": {"type": "sklearn", "name": name},
        "table": name,
        "columns": columns,
    }
    spec["constraints"] = []
    report = validate_text(yaml.safe_dump(spec), f"{name}.yaml")
    assert report.diagnostics == [], described(report)
    assert report.context.scan.rows == tables.SKLEARN_ROWS[name]  # type: ignore[union-attr]


def test_bundled_column_names_are_sklearns() -> None:
    datasets = pytest.importorskip("sklearn.datasets")
    loaders = {
        "wine": datasets.load_wine,
        "iris": datasets.load_iris,
        "breast_cancer": datasets.load_breast_cancer,
        "diabetes": lambda **kw: datasets.load_diabetes(scaled=False, **kw),
    }
    for name, load in loaders.items():
        bunch = load()  # as_frame=True gives these columns, feature_names then "target"
        assert (*bunch.feature_names, "target") == tables.SKLEARN_COLUMNS[name], name
        assert len(bunch.data) == tables.SKLEARN_ROWS[name], name


# --- the spec as written: each rule fires, and is silent once fixed ------------------------


def _dp(**changes: Any) -> dict[str, Any]:
    return {"privacy.differential_privacy": {"epsilon": 3.0, "delta": 1e-5, **changes}}


SMALL = {"data.source.rows": 200}  # the customers presets' table, small: fast tests
# Every (country, city) pair the customers table makes.
PAIRS = [[country, city] for country, cities in customers.CITIES.items() for city in cities]
# code -> (preset, changes that break it, changes that fix it as the finding suggests)
FIRES_THEN_FIXED: dict[str, tuple[str, dict[str, Any], dict[str, Any]]] = {
    "GS701": (
        "ctgan-customers",
        {"synthesizer.ctgan.batch_size": 505},
        {"synthesizer.ctgan.batch_size": 500},
    ),
    "GS702": ("dpctgan-customers", {"synthesizer.ctgan.pac": 10}, {"synthesizer.ctgan.pac": 1}),
    "GS703": (
        "dpctgan-customers",
        {"privacy.differential_privacy.loss": "wgan-gp"},
        {"privacy.differential_privacy.loss": "bce"},
    ),
    "GS704": (
        "dpctgan-customers",
        {"data.columns.signup_date.min": DELETE},
        {"data.columns.signup_date.min": "2019-01-01"},
    ),
    "GS705": (
        "dpctgan-customers",
        {"data.columns.plan.values": DELETE},
        {"data.columns.plan.values": ["basic", "standard", "premium"]},
    ),
    "GS706": (
        "dpctgan-customers",
        {"privacy.differential_privacy.delta": 0.01},  # 1/200 = 0.005
        {"privacy.differential_privacy.delta": 5e-4},
    ),
    "GS707": (
        "ctgan-customers",
        {"constraints[0].inequality.low": "signup_dte"},
        {"constraints[0].inequality.low": "signup_date"},
    ),
    "GS708": (
        "ctgan-customers",
        {"constraints[1].fixed_combinations": ["country", "age"]},
        {"constraints[1].fixed_combinations": ["country", "city"]},
    ),
    "GS709": (
        "ctgan-customers",
        {"data.primary_key": "age"},
        {"data.primary_key": "customer_id"},
    ),
    "GS710": (
        "ctgan-customers",
        {"constraints[1].fixed_combinations": ["country", "email"]},
        {"constraints[1].fixed_combinations": ["country", "city"]},
    ),
    "GS711": (
        "ctgan-customers",
        {"validation.ml_efficacy.target": "customer_id"},
        {"validation.ml_efficacy.target": "plan"},
    ),
    "GS712": (
        "dpctgan-customers",
        {"output.column_order": ["customer_id", "name", "email"]},
        {"output.column_order": DELETE},
    ),
    "GS713": (
        "ctgan-customers",
        {"privacy.sensitive.age": "fake", "data.columns.age.max": DELETE},
        {"privacy.sensitive.age": "drop", "data.columns.age.max": DELETE},
    ),
    "GS714": (
        "dpctgan-customers",
        {"constraints[1].fixed_combinations": ["country", "city"]},
        {"constraints[1].fixed_combinations": {"columns": ["country", "city"], "allowed": PAIRS}},
    ),
    "GS715": ("ctgan-customers", {"output.nulls": "none"}, {"output.nulls": "keep"}),
}


@pytest.mark.parametrize("code", sorted(FIRES_THEN_FIXED))
def test_rule_fires_on_the_broken_spec_and_is_silent_on_the_fixed_one(code: str) -> None:
    preset, broken, fixed = FIRES_THEN_FIXED[code]
    broken = {**SMALL, **broken}
    report = validate_text(mutated(preset, broken), "broken.yaml")
    assert found(report, code), described(report)
    assert all(d.severity == "error" for d in found(report, code))
    healed = validate_text(mutated(preset, {**broken, **fixed}), "fixed.yaml")
    assert healed.exit_code == 0 and not healed.diagnostics, described(healed)


def test_every_tabular_rule_is_documented_and_runs_on_tabular_specs_only() -> None:
    tabular = {code for code, rule in RULES.items() if code.startswith("GS7")}
    assert tabular == {f"GS7{n:02d}" for n in range(1, 16)} | {f"GS72{n}" for n in range(8)}
    for code in tabular:
        assert RULES[code].kinds == {"tabular"} and RULES[code].family == "tabular data contract"
    assert RULES["GS601"].kinds == RULES["GS602"].kinds == {"image", "tabular", "superres"}
    assert RULES["GS201"].kinds == {"image"}


def test_a_suggested_batch_size_is_even_and_a_multiple_of_pac() -> None:
    report = validate_text(
        mutated(
            "ctgan-customers", {"synthesizer.ctgan.batch_size": 77, "synthesizer.ctgan.pac": 3}
        ),
        "odd.yaml",
    )
    [finding] = found(report, "GS701")
    assert finding.fix == "batch_size: 72 or 78"


def test_the_suggested_delta_is_accepted() -> None:
    [finding] = found(
        validate_text(mutated("dpctgan-customers", _dp(delta=0.01)), "dp.yaml"), "GS706"
    )
    assert "1/rows = 0.0005 (2,000 rows)" in finding.message
    suggested = float((finding.fix or "").split(": ")[1])
    assert suggested < 1 / 2000
    assert not found(validate_text(mutated("dpctgan-customers", _dp(delta=suggested))), "GS706")


def test_an_unknown_column_gets_a_did_you_mean_everywhere_columns_are_named() -> None:
    report = validate_text(
        mutated(
            "ctgan-customers",
            {
                "data.primary_key": "customer_ib",
                "privacy.sensitive": {"emial": "fake"},
                "validation.ml_efficacy.target": "churnd",
                "constraints[2].fixed_increments.column": "credit_limt",
            },
        ),
        "typos.yaml",
    )
    suggestions = sorted(
        (d.path, d.message.split("did you mean ")[1]) for d in found(report, "GS707")
    )
    assert suggestions == [
        ("constraints[2].fixed_increments.column", "'credit_limit'?"),
        ("data.primary_key", "'customer_id'?"),
        ("privacy.sensitive.emial", "'email'?"),
        ("validation.ml_efficacy.target", "'churned'?"),
    ]


# --- fixed_combinations: the data's, or declared ----------------------------------------------

DP_CUSTOMERS = SPECS / "dpctgan-customers.yaml"


def _line_of(text: str, diagnostic: Diagnostic) -> str:
    return text.splitlines()[diagnostic.line - 1]


def test_declared_combinations_parse_and_validate_clean() -> None:
    """The mapping form: the columns and every allowed tuple, checked against the data."""
    report = validate_text(mutated("dpctgan-customers", SMALL), "declared.yaml")
    assert report.diagnostics == [], described(report)
    constraint = report.context.spec.constraints[1]  # type: ignore[union-attr]
    assert constraint.names() == ["country", "city"]
    assert constraint.allowed() == [tuple(pair) for pair in PAIRS]
    listed = validate_text(mutated("ctgan-customers", SMALL), "seen.yaml")
    combinations = listed.context.spec.constraints[1]  # type: ignore[union-attr]
    assert combinations.names() == ["country", "city"] and combinations.allowed() is None


@pytest.mark.parametrize(
    ("old", "new", "phrase"),
    [
        ("- [DE, Munich]", "- [DE]", "allowed[4] has 1 value, but columns names 2"),
        ("- [DE, Munich]", "- [US, Chicago]", "allowed[4] repeats allowed[1] [US, Chicago]"),
    ],
    ids=["short-row", "duplicate-row"],
)
def test_a_bad_declared_combination_is_a_schema_error_at_its_row(
    old: str, new: str, phrase: str
) -> None:
    text = DP_CUSTOMERS.read_text().replace(old, new)
    [finding] = validate_text(text, "rows.yaml").diagnostics
    assert finding.code == "GS104" and phrase in finding.message, finding
    assert finding.path == "constraints[1].fixed_combinations.allowed[4]"
    assert _line_of(text, finding).strip() == new


def test_an_undeclared_value_in_a_combination_is_flagged_at_its_line() -> None:
    text = DP_CUSTOMERS.read_text().replace("- [FR, Paris]", "- [FR, Pariss]")
    report = validate_text(text, "typo.yaml")
    finding = only(report, "GS708")
    assert finding.path == "constraints[1].fixed_combinations.allowed[5][1]"
    assert "'Pariss' is not one of the declared values of 'city'" in finding.message
    assert finding.fix == "'Paris'" and "Pariss" in _line_of(text, finding)


def test_a_column_of_the_mapping_form_is_placed_on_its_line() -> None:
    text = DP_CUSTOMERS.read_text().replace("columns: [country, city]", "columns: [country, citty]")
    finding = only(validate_text(text, "column.yaml"), "GS707")
    assert finding.path == "constraints[1].fixed_combinations.columns[1]"
    assert "columns: [country, citty]" in _line_of(text, finding)
    assert "did you mean 'city'?" in finding.message


def _customers_csv(folder: Path, cities: dict[str, str]) -> dict[str, Any]:
    """30 customers rows, the first row of each country named in ``cities`` given that city;
    the spec changes that read them."""
    rows = [list(row) for row in customers.text_rows(0, 30)]
    country, city = customers.COLUMNS.index("country"), customers.COLUMNS.index("city")
    for name, value in cities.items():
        next(row for row in rows if row[country] == name)[city] = value
    lines = [",".join(row) for row in [list(customers.COLUMNS), *rows]]
    (folder / "c.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"data.source": {"type": "csv", "path": "c.csv"}}


def test_a_real_row_outside_the_declared_combinations_is_gs726_with_its_row(
    tmp_path: Path,
) -> None:
    """Without DP too; a row missing one of the columns passes (city declares no values here,
    so only the missing-value rule lets the empty city through)."""
    changes = _customers_csv(tmp_path, {"US": "Paris", "DE": ""})
    changes["data.columns.city"] = {"type": "categorical", "nullable": True}
    changes["constraints[1].fixed_combinations"] = {
        "columns": ["country", "city"],
        "allowed": PAIRS,
    }
    (tmp_path / "spec.yaml").write_text(mutated("ctgan-customers", changes))
    finding = only(validate_file(tmp_path / "spec.yaml"), "GS726")
    assert finding.path == "constraints[1]"
    assert finding.message.startswith(
        "country US, city Paris is not a declared combination (fixed_combinations)"
    )
    country = customers.COLUMNS.index("country")
    us = next(i for i, row in enumerate(customers.text_rows(0, 30)) if row[country] == "US")
    assert finding.data is not None and (finding.data.line, finding.data.row) == (us + 2, us + 1)


def test_an_undeclared_city_in_the_data_is_one_finding_not_also_a_combination(
    tmp_path: Path,
) -> None:
    (tmp_path / "spec.yaml").write_text(
        mutated("dpctgan-customers", _customers_csv(tmp_path, {"US": "Pariss"}))
    )
    finding = only(validate_file(tmp_path / "spec.yaml"), "GS724")
    assert "city 'Pariss' is not one of its declared values" in finding.message


def test_explain_says_where_the_combinations_come_from() -> None:
    code, out = run("validate", str(DP_CUSTOMERS), "--explain")
    assert code == 0 and "[1] fixed_combinations: country, city (14 declared combinations)" in out
    code, out = run("validate", str(CUSTOMERS), "--explain")
    assert "[1] fixed_combinations: country, city (the combinations seen in the data)" in out


# --- the schema: one clear message per mistake ------------------------------------------------


def test_an_unknown_kind_is_one_message_with_a_did_you_mean() -> None:
    text = CUSTOMERS.read_text().replace("kind: tabular", "kind: tabluar")
    report = validate_text(text, "kind.yaml")
    [finding] = report.diagnostics
    assert finding.code == "GS106" and "did you mean 'tabular'?" in finding.message
    assert finding.fix == "kind: tabular"


@pytest.mark.parametrize(
    ("old", "new", "code", "path", "phrase"),
    [
        ("min: 18, max: 90", "min: 18, maxx: 90", "GS103", "data.columns.age.maxx", "'max'"),
        ("{type: boolean}", "{type: bool}", "GS104", "data.columns.churned.type", "boolean"),
        (
            "  - positive: monthly_spend",
            "  - postive: monthly_spend",
            "GS103",
            "constraints[3].postive",
            "'positive'",
        ),
        (
            "[basic, standard, premium]",
            "[basic, yes, premium]",
            "GS104",
            "data.columns.plan.values[1]",
            "quote it",
        ),
        (
            "min: 2019-01-01, max: 2023",
            "min: 2024-01-01, max: 2023",
            "GS104",
            "data.columns.signup_date",
            "later than",
        ),
        (
            "type: customers, rows: 2000",
            "type: customers, rows: 0",
            "GS104",
            "data.source.rows",
            "at least 1",
        ),
        (
            'format: "%Y-%m-%d", min: 2019-01-01',
            'format: "%Y-%m-%d %Q", min: 2019-01-01',
            "GS104",
            "data.columns.signup_date.format",
            "'Q' is a bad directive",
        ),
        (
            "equals: false}",
            "equals: 2020-01-01}",
            "GS104",
            "constraints[4].null_rule.when.equals",
            "quote it ('2020-01-01')",
        ),
        (
            "equals: false}",
            "equals: 1.5}",
            "GS104",
            "constraints[4].null_rule.when.equals",
            "1.5 is a real number; equals takes",
        ),
    ],
)
def test_schema_errors_in_tabular_specs_are_placed_and_worded(
    old: str, new: str, code: str, path: str, phrase: str
) -> None:
    text = CUSTOMERS.read_text()
    assert old in text
    report = validate_text(text.replace(old, new), "schema.yaml")
    [finding] = report.diagnostics
    assert finding.code == code and phrase in f"{finding.message} {finding.fix}", finding
    assert finding.path == path
    line = text.replace(old, new).splitlines()[finding.line - 1]
    assert new.split(":")[0].strip(" -{") in line


def test_a_column_named_like_a_constraint_is_a_key_not_a_union_tag() -> None:
    spec = spec_data()
    spec["data"]["columns"]["range"] = {"type": "numerical", "dtype": "int", "maxx": 3}
    report = validate_text(yaml.safe_dump(spec, sort_keys=False), "range.yaml")
    [finding] = report.diagnostics
    assert finding.path == "data.columns.range.maxx" and "did you mean 'max'?" in finding.message


def test_the_json_schema_covers_every_kind() -> None:
    result = CliRunner().invoke(cli, ["schema"])
    schema = json.loads(result.output)
    kinds = {
        schema["$defs"][ref["$ref"].split("/")[-1]]["properties"]["kind"]["const"]
        for ref in schema["oneOf"]
    }
    assert kinds == {"image", "tabular", "superres"}
    assert "Cells that mean 'no value'" in result.output and "Square kernel size." in result.output


# --- the customers demo table ------------------------------------------------------------------


def test_the_customers_table_is_a_function_of_its_seed() -> None:
    assert list(customers.rows(7, 300)) == list(customers.rows(7, 300))
    assert list(customers.rows(7, 300)) != list(customers.rows(8, 300))
    assert list(customers.rows(7, 300))[:100] == list(customers.rows(7, 100))


def test_the_customers_table_at_seed_0_is_pinned() -> None:
    """Rendered projects train on this table: a change to the generator changes every figure
    measured on it. Update the digest only on purpose."""
    text = "\n".join(",".join(row) for row in customers.text_rows(0, 500))
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == "3aea160f3c177b09"


@pytest.mark.parametrize(("seed", "rows"), [(0, 1), (1, 300), (12345, 900)])
def test_the_customers_table_keeps_the_presets_contract(seed: int, rows: int) -> None:
    for preset in ("ctgan-customers", "dpctgan-customers"):
        text = mutated(preset, {"seed": seed, "data.source.rows": rows})
        report = validate_text(text, f"{preset}.yaml")
        assert report.diagnostics == [], described(report)


def test_the_customers_csv_is_what_validate_checks(tmp_path: Path) -> None:
    assert customers.main(["--rows", "120", "--seed", "3", "--out", str(tmp_path / "c.csv")]) == 0
    lines = (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",".join(customers.COLUMNS)
    assert lines[1:] == [",".join(row) for row in customers.text_rows(3, 120)]
    spec = mutated("ctgan-customers", {"seed": 3, "data.source": {"type": "csv", "path": "c.csv"}})
    (tmp_path / "spec.yaml").write_text(spec)
    assert validate_file(tmp_path / "spec.yaml").diagnostics == []


def test_the_customers_module_imports_nothing_of_ganspec() -> None:
    """It is copied into rendered projects, which never import ganspec."""
    source = Path(customers.__file__).read_text(encoding="utf-8")
    assert "ganspec" not in source.replace("ganspec validates", "").replace("ganspec/tabular", "")


# --- the command line --------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_render_reports_errors_first_with_exit_1(tmp_path: Path) -> None:
    spec = write(tmp_path, [*ROWS[:3], ROWS[3].replace("C004", "C002")])
    code, out = run("render", str(spec), "--out", str(tmp_path / "p"))
    assert code == 1 and "GS723" in out


def test_validate_exit_codes_and_explain(tmp_path: Path) -> None:
    code, out = run("validate", str(CUSTOMERS), "--explain")
    assert code == 0 and "0 errors, 0 warnings" in out
    assert "monthly_spend    numerical float  [5, 500], 2 decimals" in out
    assert "churn_date" in out and "data: 2,000 rows checked" in out
    code, out = run("validate", str(write(tmp_path, [ROWS[0], ROWS[0]])))
    assert code == 1 and ":3: GS723 [error]" in out


def test_init_rule_and_presets_know_the_tabular_kind(tmp_path: Path) -> None:
    code, out = run("init", "--preset", "dpctgan-customers", "--out", str(tmp_path / "s.yaml"))
    assert code == 0
    assert validate_file(tmp_path / "s.yaml").diagnostics == []
    code, out = run("rule", "--all", "--format", "json")
    listed = {rule["code"]: rule for rule in json.loads(out)}
    assert {f"GS7{n:02d}" for n in range(1, 15)} <= set(listed)
    assert listed["GS726"]["kinds"] == ["tabular"] and listed["GS601"]["kinds"] == [
        "image",
        "tabular",
        "superres",
    ]
    code, out = run("presets")
    assert {"ctgan-customers", "ctgan-wine", "dpctgan-customers"} <= {
        line.split()[0] for line in out.splitlines()
    }


def test_validate_of_a_tabular_spec_imports_no_data_library() -> None:
    probe = (
        "import sys\n"
        "from ganspec.cli import cli\n"
        "for spec in sys.argv[1:]:\n"
        "    try:\n"
        "        cli(['validate', spec, '--explain'])\n"
        "    except SystemExit as exc:\n"
        "        assert exc.code == 0, exc.code\n"
        "heavy = {'torch', 'pandas', 'sklearn', 'sdv', 'numpy', 'pyarrow'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    specs = [str(SPECS / f"{name}.yaml") for name in TABULAR_PRESETS]
    result = subprocess.run(
        [sys.executable, "-c", probe, *specs], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- fuzz: whatever the edit, exit 0, 1 or 2 with placed findings ------------------------------


def test_mutated_tabular_specs_never_crash() -> None:
    rng = random.Random(20_240_610)
    trees = {name: preset_data(name) for name in TABULAR_PRESETS}
    for tree in trees.values():  # small tables: this tests the checks, not the generator
        if tree["data"]["source"]["type"] == "customers":
            tree["data"]["source"]["rows"] = 40
    failures = []
    for _ in range(150):
        name = rng.choice(sorted(trees))
        tree = copy.deepcopy(trees[name])
        steps = [mutate_tree(rng, tree) for _ in range(rng.choice([1, 1, 2, 3]))]
        text = dump(rng, tree)
        try:
            problems = problems_with(validate_text(text, "<fuzz>"), text)
        except Exception as exc:  # the contract under test: no exception escapes
            problems = [f"{type(exc).__name__}: {exc}"]
        failures += [f"{name} {steps}: {problem}" for problem in problems]
    assert not failures, "\n".join(failures[:5])


def test_diagnostic_json_round_trips_with_the_data_location(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, [ROWS[0], ROWS[0]]))
    payload = json.loads(diagnostics.format_json(report.diagnostics))
    assert payload == [asdict(d) for d in report.diagnostics]
    assert payload[0]["data"]["line"] == 3


# --- review findings: values that once crashed or passed wrongly --------------------------------


def test_time_zones_are_compared_in_utc_never_a_traceback(tmp_path: Path) -> None:
    """A %z format gives aware datetimes, a YAML bound ending in Z is aware too; the data and
    the other bounds are naive. All of them are compared as naive UTC."""
    spec = spec_data()
    columns = spec["data"]["columns"]
    columns["signup_date"] = {
        "type": "datetime",
        "format": "%Y-%m-%d %H:%M%z",
        "max": "2030-01-01 00:00+0000",
    }
    columns["churn_date"]["min"] = datetime(2019, 1, 1, tzinfo=timezone.utc)
    rows = [
        "C001,ann@example.com,30,basic,10.5,2021-01-01 10:00+0200,",
        "C002,bob@example.com,41,pro,,2021-02-01 23:30-0300,2021-02-03",  # 02:30 UTC on the 2nd
    ]
    report = validate_file(write(tmp_path, rows, spec=spec))
    assert report.diagnostics == [], described(report)
    broken = [rows[0], "C002,bob@example.com,41,pro,,2021-02-02 01:00+0200,2021-02-01"]
    finding = only(validate_file(write(tmp_path, broken, spec=spec)), "GS726")
    assert finding.data is not None and finding.data.line == 3
    early = [rows[0], "C002,bob@example.com,41,pro,,2018-02-01 01:00+0200,2018-06-01"]
    finding = only(validate_file(write(tmp_path, early, spec=spec)), "GS724")
    assert "churn_date" in finding.message


@pytest.mark.parametrize(
    ("cell", "column"),
    [
        (" 67", "age"),
        ("67 ", "age"),
        ("6_7", "age"),
        ("\u0666\u0667", "age"),  # Arabic-Indic digits
        ("\uff16\uff17", "age"),  # full-width digits
        ("67.0", "age"),
        (" 1.5", "spend"),
        ("1_0.5", "spend"),
        ("\u0661.5", "spend"),
        ("0x10", "spend"),
        ("nan", "spend"),
    ],
)
def test_numbers_are_what_pandas_reads_ascii_digits_without_spaces(
    tmp_path: Path, cell: str, column: str
) -> None:
    values = {"age": "67", "spend": "0", column: cell}
    row = f"C004,dee@example.com,{values['age']},pro,{values['spend']},2022-03-03,"
    finding = only(validate_file(write(tmp_path, [*ROWS[:3], row])), "GS722")
    assert finding.message.startswith(f"{column} {cell!r} is not a "), finding.message


@pytest.mark.parametrize("cell", ["+67", "-0", "1e1", "1.", ".5", "-2.5E-1"])
def test_plain_signed_and_exponent_numbers_are_read(tmp_path: Path, cell: str) -> None:
    spec = spec_data()
    spec["data"]["columns"]["spend"] = {"type": "numerical", "dtype": "float", "nullable": True}
    spec["data"]["columns"]["age"].pop("min")
    age = cell if cell in ("+67", "-0") else "67"
    row = f"C004,dee@example.com,{age},pro,{cell},2022-03-03,"
    report = validate_file(write(tmp_path, [*ROWS[:3], row], spec=spec))
    assert report.diagnostics == [], described(report)


def test_parquet_whole_floats_are_whole_numbers() -> None:
    """Parquet (through pandas) keeps a nullable int column as float64: 7.0 is a whole number."""
    assert scan._parse_int(7.0) == 7
    with pytest.raises(ValueError):
        scan._parse_int(7.5)


def test_a_long_field_is_read_up_to_ganspecs_own_cap(tmp_path: Path) -> None:
    """Python's csv refuses fields over 128 KiB by default; pandas does not, nor does ganspec
    below its 1 MiB cap. Past the cap the message names the cap, not a quoting mistake."""
    long = "x" * 200_000
    rows = [*ROWS[:3], f"C004,{long}@example.com,67,pro,0,2022-03-03,"]
    report = validate_file(write(tmp_path, rows))
    assert report.diagnostics == [], described(report)
    lines = "\n".join(["y" * 400_000] * 3)  # each line under the cap, the field over it
    rows = [*ROWS[:3], f'C004,"{lines}",67,pro,0,2022-03-03,']
    finding = only(validate_file(write(tmp_path, rows)), "GS720")
    assert "longer than ganspec checks (1 MiB)" in finding.message
    assert "not valid CSV" not in finding.message and finding.fix is None
    assert finding.data is not None and finding.data.line == 5  # where the record starts


def test_crlf_line_endings_are_read(tmp_path: Path) -> None:
    report = validate_file(write(tmp_path, raw="\r\n".join([HEADER, *ROWS, ""]).encode()))
    assert report.diagnostics == [], described(report)


@pytest.mark.parametrize(
    ("cell", "ok"),
    [("true", True), ("True", True), ("TRUE", True), ("FALSE", True), ("tRUE", False)],
)
def test_booleans_are_spelled_as_pandas_reads_them(tmp_path: Path, cell: str, ok: bool) -> None:
    spec = spec_data()
    spec["data"]["columns"]["vip"] = {"type": "boolean"}
    rows = [f"{row},false" for row in ROWS[:3]] + [f"{ROWS[3]},{cell}"]
    report = validate_file(write(tmp_path, rows, header=HEADER + ",vip", spec=spec))
    if ok:
        assert report.diagnostics == [], described(report)
    else:
        assert f"vip '{cell}' is not true or false" in only(report, "GS722").message


def test_an_unnamed_header_field_asks_for_a_name(tmp_path: Path) -> None:
    rows = [f"{row},x" for row in ROWS]
    finding = only(validate_file(write(tmp_path, rows, header=HEADER + ",")), "GS721")
    assert finding.message == "the header's field 8 has no name"
    assert finding.fix == "name the unnamed column (field 8), or remove it from the data"
