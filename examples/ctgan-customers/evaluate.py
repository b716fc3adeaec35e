"""Measure the synthetic customers table against the spec's validation protocol.

    python evaluate.py                      # the table sample.py wrote (synthetic/customers.csv)
    python evaluate.py --table other.csv

Scores, each against its bar from the spec:
- quality: SDMetrics' QualityReport (column shapes and column pairs) >= 0.8
- diagnostic: SDMetrics' DiagnosticReport (validity, structure) must be 1.0
- constraint adherence: share of rows keeping every constraint >= 1.0
- keys unique, missing values only in nullable columns (shares compared with the real table)
- privacy: synthetic rows equal to a training row <= 0; of the synthetic rows, the share
  whose closest real row is a training row rather than a held-out one <= 0.6
  (0.5: no sign of memorization)
- ML efficacy: a model trained on synthetic rows predicts plan on held-out real rows at
  >= 0.5 of the score of one trained on real rows
The figures go to OUT/evaluation.json and a picture of real vs synthetic per column to
OUT/columns.html; exit 1 when a bar is missed, naming it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import contract
from data import PARSERS, DataError, load_real, split
from metadata import METADATA, TABLE
from storage import write_atomic

DEFAULT_RUN = Path("runs") / "ctgan_customers"
TABLE_PATH = Path("synthetic/customers.csv")
SEED = 0
MIN_QUALITY = 0.8
DIAGNOSTIC_PERFECT = True
MIN_ADHERENCE = 1.0
MAX_EXACT_COPIES = 0
MAX_CLOSER_TO_TRAIN = 0.6
ML_TARGET = "plan"
MIN_ML_RATIO = 0.5
LEARNED = [
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
]  # the columns the synthesizer learned (ids and private ones are not)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=TABLE_PATH, help="the synthetic table")
    parser.add_argument("--out", type=Path, default=DEFAULT_RUN, help="where the figures go")
    parser.add_argument("--no-plots", action="store_true", help="skip columns.html")
    return parser.parse_args(argv)


def read_synthetic(path: Path) -> pd.DataFrame:
    """The written table, read back with the declared types (what a user of it would get)."""
    if not path.is_file():
        raise DataError(f"{path} does not exist: write it first with `python sample.py`")
    if path.suffix in (".parquet", ".pq"):
        raw = pd.read_parquet(path).astype(object).where(lambda t: t.notna(), None)
        raw = raw.map(lambda v: v if v is None else str(v))
    else:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
    unknown = [name for name in raw.columns if name not in PARSERS]
    missing = [name for name in LEARNED if name not in raw.columns]
    if unknown or missing:
        raise DataError(
            f"{path} is not a table of this spec: undeclared columns {unknown}, learned "
            f"columns missing {missing}"
        )
    try:
        return pd.DataFrame({name: PARSERS[name](raw[name]) for name in raw.columns})
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None


# --- privacy -----------------------------------------------------------------------------------


def exact_copies(synthetic: pd.DataFrame, train: pd.DataFrame) -> int:
    """Synthetic rows whose learned columns equal a training row's, value for value (as text);
    each such row counts, a repeated one too."""
    seen = set(train[LEARNED].astype(str).itertuples(index=False, name=None))
    rows = synthetic[LEARNED].astype(str).itertuples(index=False, name=None)
    return sum(row in seen for row in rows)


def as_numbers(column: pd.Series) -> pd.Series:
    """Numbers as floats, dates as seconds since 1970 (NaN where missing)."""
    if str(column.dtype).startswith("datetime"):
        return (column - pd.Timestamp("1970-01-01")).dt.total_seconds()
    return column.astype("float64")


def is_ordered(name: str) -> bool:
    return contract.COLUMNS[name][0] in ("numerical", "datetime")


def encode(table: pd.DataFrame, reference: pd.DataFrame) -> np.ndarray:
    """Rows as points for distances: numbers and dates scaled by the reference's range,
    categories one-hot over the reference's values, a missing value as its own coordinate."""
    parts = []
    for name in LEARNED:
        if is_ordered(name):
            values, known = as_numbers(table[name]), as_numbers(reference[name])
            low, span = known.min(), (known.max() - known.min()) or 1.0
            parts.append(((values - low) / span).fillna(0).to_numpy()[:, None])
            parts.append(values.isna().to_numpy(dtype=float)[:, None])
        else:
            text = table[name].astype(str).to_numpy()
            for value in sorted(reference[name].astype(str).unique()):
                parts.append((text == value).astype(float)[:, None])
    return np.hstack(parts)


def closer_to_train(
    synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame, draws: int = 5
) -> float:
    """Share of synthetic rows whose closest real row is a training row rather than a
    held-out one, against equally large random samples of training rows (the mean over
    ``draws`` samples, since one sample's few nearest rows sway it): 0.5 when the
    synthesizer did not memorise, towards 1 when it copies its training rows."""
    rng = np.random.default_rng(SEED)
    n = min(len(holdout), len(train))
    points = encode(synthetic, train)
    to_holdout = _nearest(points, encode(holdout.iloc[:n], train))
    shares = []
    for _ in range(draws):
        train_sample = train.iloc[rng.choice(len(train), n, replace=False)]
        to_train = _nearest(points, encode(train_sample, train))
        ties = to_train == to_holdout
        shares.append(float(((to_train < to_holdout) + 0.5 * ties).mean()))
    return float(np.mean(shares))


def _nearest(points: np.ndarray, others: np.ndarray) -> np.ndarray:
    """Distance from each point to its closest other, in chunks to bound memory."""
    out = np.empty(len(points))
    for start in range(0, len(points), 512):
        chunk = points[start : start + 512]
        squared = ((chunk[:, None, :] - others[None, :, :]) ** 2).sum(axis=2)
        out[start : start + 512] = np.sqrt(squared.min(axis=1))
    return out


# --- ML efficacy -------------------------------------------------------------------------------


def features(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Model inputs: numbers as they are, dates as seconds, categories one-hot (NaN kept: the
    gradient-boosted trees below handle missing values)."""
    out = {}
    for name in columns:
        column = table[name]
        if is_ordered(name):
            out[name] = as_numbers(column)
        else:
            for value in contract.VALUES.get(name, sorted(column.dropna().astype(str).unique())):
                out[f"{name}={value}"] = (column.astype(str) == str(value)).astype("float64")
    return pd.DataFrame(out, index=table.index)


def ml_efficacy(synthetic: pd.DataFrame, train: pd.DataFrame, holdout: pd.DataFrame) -> dict:
    """Train on synthetic, test on real (TSTR) over train on real, test on real (TRTR)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import accuracy_score, r2_score

    inputs = [name for name in LEARNED if name != ML_TARGET]
    categorical = contract.COLUMNS[ML_TARGET][0] in ("categorical", "boolean")
    model_class = HistGradientBoostingClassifier if categorical else HistGradientBoostingRegressor
    score = accuracy_score if categorical else r2_score

    def fitted_score(rows: pd.DataFrame) -> float:
        rows = rows[rows[ML_TARGET].notna()]
        labels = rows[ML_TARGET].astype(str) if categorical else rows[ML_TARGET].astype(float)
        model = model_class(random_state=SEED).fit(features(rows, inputs), labels)
        test = holdout[holdout[ML_TARGET].notna()]
        truth = test[ML_TARGET].astype(str) if categorical else test[ML_TARGET].astype(float)
        return float(score(truth, model.predict(features(test, inputs))))

    real_score, synthetic_score = fitted_score(train), fitted_score(synthetic)
    ratio = synthetic_score / real_score if real_score > 0 else 0.0
    return {
        "target": ML_TARGET,
        "metric": "accuracy" if categorical else "r2",
        "train_real_test_real": real_score,
        "train_synthetic_test_real": synthetic_score,
        "ratio": ratio,
    }


# --- the report --------------------------------------------------------------------------------


def sdv_reports(synthetic: pd.DataFrame, train: pd.DataFrame) -> tuple[float, float, dict]:
    """SDMetrics' quality and diagnostic scores (through sdv.evaluation, SDV 2.0), per property."""
    from sdv.evaluation import evaluate_quality, run_diagnostic
    from sdv.metadata import Metadata

    metadata = Metadata.load_from_dict(METADATA)
    columns = list(METADATA["tables"][TABLE]["columns"])
    quality = evaluate_quality(train[columns], synthetic[columns], metadata, verbose=False)
    diagnostic = run_diagnostic(train[columns], synthetic[columns], metadata, verbose=False)
    properties = {  # None: a property with nothing to score (JSON has no NaN)
        row["Property"]: None if pd.isna(row["Score"]) else float(row["Score"])
        for report in (quality, diagnostic)
        for _, row in report.get_properties().iterrows()
    }
    return float(quality.get_score()), float(diagnostic.get_score()), properties


def column_plots(synthetic: pd.DataFrame, train: pd.DataFrame, path: Path) -> None:
    """One HTML page with a real-vs-synthetic plot per learned column (plotly, offline)."""
    from sdv.evaluation import get_column_plot
    from sdv.metadata import Metadata

    metadata = Metadata.load_from_dict(METADATA)
    parts = []
    for index, name in enumerate(LEARNED):
        figure = get_column_plot({TABLE: train}, {TABLE: synthetic}, metadata, TABLE, name)
        parts.append(figure.to_html(full_html=False, include_plotlyjs=index == 0))
    page = "<html><head><meta charset='utf-8'></head><body>" + "".join(parts) + "</body></html>"
    write_atomic(path, page.encode("utf-8"))


def evaluate(synthetic: pd.DataFrame, plots: Path | None = None) -> dict:
    """Every figure and, under "failed", each bar the table misses; ``plots`` is the HTML file
    the column plots go to (None: none)."""
    train, holdout = split(load_real())
    quality, diagnostic, properties = sdv_reports(synthetic, train)
    verdicts = contract.constraint_checks(synthetic, train)
    valid = contract.valid_rows(synthetic, train)
    report = {
        "rows": len(synthetic),
        "quality": quality,
        "diagnostic": diagnostic,
        "properties": properties,
        "constraint_adherence": float(valid.mean()) if len(synthetic) else 0.0,
        "per_constraint": {name: float(v.mean()) for name, v in verdicts.items()},
        "contract_problems": contract.problems(synthetic, train, columns=list(synthetic.columns)),
        "missing_share": {
            name: {
                "real": float(train[name].isna().mean()),
                "synthetic": float(synthetic[name].isna().mean()),
            }
            for name in LEARNED
            if contract.COLUMNS[name][2]
        },
        "exact_copies": exact_copies(synthetic, train),
        "closer_to_train": closer_to_train(synthetic, train, holdout),
    }
    failed = []
    if quality < MIN_QUALITY:
        failed.append(f"quality {quality:.3f} < {MIN_QUALITY}")
    if DIAGNOSTIC_PERFECT and diagnostic < 1.0:
        failed.append(f"diagnostic {diagnostic:.4f} < 1.0")
    if report["constraint_adherence"] < MIN_ADHERENCE:
        failed.append(
            f"constraint adherence {report['constraint_adherence']:.3f} < {MIN_ADHERENCE}"
        )
    if report["contract_problems"]:
        failed.append("contract: " + "; ".join(report["contract_problems"]))
    if report["exact_copies"] > MAX_EXACT_COPIES:
        failed.append(f"{report['exact_copies']} exact copies > {MAX_EXACT_COPIES}")
    if report["closer_to_train"] > MAX_CLOSER_TO_TRAIN:
        failed.append(f"closer to train {report['closer_to_train']:.3f} > {MAX_CLOSER_TO_TRAIN}")
    report["ml_efficacy"] = ml_efficacy(synthetic, train, holdout)
    ml = report["ml_efficacy"]
    if ml["train_real_test_real"] <= 0:
        failed.append(
            f"ML efficacy: a model trained on real rows scores {ml['train_real_test_real']:.3f} "
            "on held-out rows, so there is nothing to compare the synthetic rows against"
        )
    elif ml["ratio"] < MIN_ML_RATIO:
        failed.append(f"ML efficacy ratio {ml['ratio']:.3f} < {MIN_ML_RATIO}")
    if plots is not None:
        column_plots(synthetic, train, plots)
    report["failed"] = failed
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        synthetic = read_synthetic(args.table)
        args.out.mkdir(parents=True, exist_ok=True)
        report = evaluate(synthetic, None if args.no_plots else args.out / "columns.html")
    except DataError as exc:
        print(f"evaluate.py: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=2, allow_nan=False)
    write_atomic(args.out / "evaluation.json", text.encode("utf-8"))
    print(
        f"quality {report['quality']:.3f}, diagnostic {report['diagnostic']:.4f}, adherence "
        f"{report['constraint_adherence']:.3f}, exact copies {report['exact_copies']}, "
        f"closer to train {report['closer_to_train']:.3f}"
    )
    ml = report["ml_efficacy"]
    print(
        f"ML efficacy ({ml['target']}, {ml['metric']}): synthetic "
        f"{ml['train_synthetic_test_real']:.3f} / real {ml['train_real_test_real']:.3f} = "
        f"{ml['ratio']:.3f}"
    )
    for failure in report["failed"]:
        print(f"FAILED: {failure}", file=sys.stderr)
    print(f"figures: {args.out / 'evaluation.json'}")
    return 1 if report["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
