"""A health report from a short fit: does this synthesizer learn the contract at all?

    python health.py                    # 2 epochs, a readable report
    python health.py --steps 5 --json   # 5 epochs; one JSON object on stdout (`ganspec smoke`)

Fits with the project's own code (data.py, synthesizer.py), samples 200 rows and checks them:
finite losses, that some rows keep every constraint and the declared domain (bounds, values,
missing values only where allowed), dtypes and unique keys on those rows, and that a saved
synthesizer loads and samples the same rows. The faked columns and the output file are
sample.py's and its tests'. A crash is a failed check with the end of its traceback. Nothing is
written outside a temporary folder, so no run of yours is touched. Exit 0 healthy, 1 not.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

import contract
import synthesizer
from data import load_real, split
from runfolder import synthesizer_path
from storage import write_checked

ROWS = 200
CRASH_LINES = 12


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2, help="epochs to fit")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda", "mps"], default="auto")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument(
        "--overwrite", action="store_true", help="accepted for ganspec smoke; nothing to move"
    )
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.device == "mps":
        args.device = "cpu"  # SDV's CTGAN runs on CUDA or the CPU
    return args


def check(name: str, passed: bool, detail: str) -> dict[str, str]:
    return {"name": name, "status": "pass" if passed else "fail", "detail": detail}


def peak_rss_mib() -> float | None:
    """Peak resident memory (None on Windows, which has no ``resource`` module)."""
    try:
        import resource
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 2**20


def run_checks(args: argparse.Namespace, folder: Path) -> dict:
    train, _ = split(load_real())
    model = synthesizer.build(epochs=args.steps, device=args.device)
    started = time.perf_counter()
    synthesizer.fit(model, train)
    seconds = time.perf_counter() - started
    losses = synthesizer.losses(model)
    values = [row[key] for row in losses for key in ("generator", "discriminator")]
    checks = [
        check(
            "finite_losses",
            bool(values) and all(math.isfinite(v) for v in values),
            f"{len(losses)} epochs, last G {values[-2]:.3f} D {values[-1]:.3f}"
            if values
            else "no losses recorded",
        )
    ]
    table = synthesizer.sample(model, ROWS)
    valid = contract.valid_rows(table, train)
    checks.append(
        check(
            "constraints",
            bool(valid.any()),
            f"{valid.mean():.1%} of raw samples keep every constraint and the declared domain "
            "(sample.py writes only those; none would leave it nothing to write)",
        )
    )
    kept = synthesizer.with_ids(table[valid].reset_index(drop=True))
    broken = contract.problems(kept, train, columns=list(kept.columns))
    checks.append(
        check("contract", not broken and len(kept) > 0, "; ".join(broken) or f"{len(kept)} rows")
    )
    duplicates = int(kept["customer_id"].duplicated().sum())
    checks.append(check("unique_keys", duplicates == 0, f"{duplicates} duplicate keys"))
    write_checked([synthesizer_path(folder)], lambda file: synthesizer.save(model, file))
    again = synthesizer.sample(synthesizer.load(synthesizer_path(folder)), ROWS)
    same = again.reset_index(drop=True).equals(table.reset_index(drop=True))
    checks.append(
        check(
            "reload",
            same,
            "the saved synthesizer samples the same rows"
            if same
            else "a reloaded synthesizer samples different rows",
        )
    )
    return {
        "checks": checks,
        "steps": len(losses),
        "seconds_per_step": seconds / max(1, len(losses)),
    }


def health(args: argparse.Namespace) -> dict:
    report = {
        "healthy": False,
        "checks": [],
        "failed": [],
        "error": None,
        "steps": 0,
        "steps_requested": args.steps,
        "step_unit": "epoch",  # a tabular fit's step is an epoch
        "device": args.device,
        "synthetic": False,
        "data_source": "customers",
        "seconds_per_step": None,
        "peak_rss_mib": None,
        "run": None,
    }
    try:
        with tempfile.TemporaryDirectory(prefix="health-") as folder:
            report.update(run_checks(args, Path(folder)))
    except Exception as error:  # a crash is a failed check, reported, not a missing report
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        report["error"] = "".join(lines[-CRASH_LINES:])
        report["checks"].append(check("no_crash", False, f"{type(error).__name__}: {error}"))
    report["peak_rss_mib"] = peak_rss_mib()
    report["failed"] = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    report["healthy"] = not report["failed"] and report["error"] is None
    return report


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = health(args)
    if args.json:
        print(json.dumps(report))
    else:
        for c in report["checks"]:
            print(f"{'ok ' if c['status'] == 'pass' else 'BAD'}  {c['name']}: {c['detail']}")
        print("healthy" if report["healthy"] else f"UNHEALTHY: {', '.join(report['failed'])}")
    return 0 if report["healthy"] else 1


if __name__ == "__main__":
    sys.exit(main())
