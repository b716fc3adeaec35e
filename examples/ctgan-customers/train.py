"""Fit the synthesizer on the real customers table, then write the synthetic one.

    python train.py                    # 300 epochs into runs/ctgan_customers/, then the table
    python train.py --epochs 5         # a quick fit
    python train.py --no-sample        # fit only (sample.py writes the table later)
    python train.py --overwrite        # fit afresh; the previous fit moves to previous-<time>/

The real table is read with its declared types and checked against the contract first: a
table that breaks it is refused with the rows named, never learned from. The seeded split
keeps 20.0% of the rows out of training for evaluate.py's privacy checks. The same
seed fits the same synthesizer. It is written atomically with its sha256 beside it
(``synthesizer.pkl.sha256``), and ``fit.json`` records the seed, epochs, time and losses.

Then the synthetic table is written from the model in memory, exactly as sample.py writes it:
2000 rows to synthetic/customers.csv.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

import contract
import sample
import synthesizer
from data import DataError, load_real, split
from runfolder import FIT_RECORD, RunFolderError, prepare_fresh, synthesizer_path
from storage import write_atomic, write_checked

DEFAULT_OUT = Path("runs") / "ctgan_customers"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=synthesizer.EPOCHS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    parser.add_argument(
        "--overwrite", action="store_true", help="move a previous fit aside instead of stopping"
    )
    parser.add_argument(
        "--no-sample", action="store_true", help="do not write the synthetic table after the fit"
    )
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


def checked_real() -> pd.DataFrame:
    """The real table, when it keeps the contract; DataError otherwise."""
    real = load_real()
    broken = contract.problems(real, real)
    if broken:
        raise DataError(
            "the real table breaks the spec's contract (`ganspec validate` names each row):\n  "
            + "\n  ".join(broken)
        )
    return real


def train(args: argparse.Namespace) -> dict:
    """Fit and save; the fit record (also written to OUT/fit.json)."""
    real = checked_real()
    train_rows, holdout = split(real)
    moved = prepare_fresh(args.out, args.overwrite)
    if moved is not None:
        print(f"the previous fit was moved to {moved}", file=sys.stderr)
    model = synthesizer.build(epochs=args.epochs, device=args.device)
    started = time.perf_counter()
    synthesizer.fit(model, train_rows)
    seconds = time.perf_counter() - started
    write_checked([synthesizer_path(args.out)], lambda file: synthesizer.save(model, file))
    record = {
        "seed": synthesizer.SEED,
        "epochs": args.epochs,
        "train_rows": len(train_rows),
        "holdout_rows": len(holdout),
        "seconds": round(seconds, 3),
        "losses": synthesizer.losses(model),
    }
    write_atomic(args.out / FIT_RECORD, json.dumps(record, indent=2).encode("utf-8"))
    if not args.no_sample:  # the model is in memory: no second process, no reload
        table = sample.table_from(model, sample.ROWS, {}, real)
        sample.write_table(sample.OUTPUT, table)
        record["written"] = str(sample.OUTPUT)
    return record


def main(argv: list[str] | None = None) -> int:
    """train.py with ``argv`` as its arguments; returns its exit code."""
    args = parse_args(argv)
    try:
        record = train(args)
    except (DataError, RunFolderError) as exc:
        print(f"train.py: {exc}", file=sys.stderr)
        return 2
    except sample.SampleError as exc:  # the fit is saved; only the table could not be made
        print(f"train.py: fitted and saved, but no table written: {exc}", file=sys.stderr)
        return 1
    print(
        f"fitted {record['epochs']} epochs on {record['train_rows']} rows in "
        f"{record['seconds']:.1f} s: {synthesizer_path(args.out)}"
    )
    if "written" in record:
        print(f"wrote {sample.ROWS} rows to {record['written']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
