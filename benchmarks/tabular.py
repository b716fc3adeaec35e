"""Tabular presets: a rendered project against a plain SDV script, and DP-CTGAN's privacy budget.

1. ``ctgan-customers`` and ``ctgan-wine``: the rendered project (``train.py``, which fits and
   then writes the declared output table, as its README runs it) against the script a user writes
   from SDV 2.0's docs: ``Metadata.detect_from_dataframes`` on the training rows (the
   project's explicit metadata only if detection fails, or with ``--plain-metadata
   explicit``), ``CTGANSynthesizer(metadata, epochs=E)`` with SDV's defaults otherwise, fit,
   ``sample(N)``, ``to_csv``. Both learn the same rows (the project's seeded training split:
   the plain script imports the project's ``data.py``) for the same epochs. Each run is a
   whole process timed from outside (wall seconds, and the CPU seconds of the process tree),
   in its own copy of the project; the two are alternated pair by pair (ABBA...), side by side
   on the same machine with torch's default thread count, so machine noise hits both alike.
   Both outputs are then scored by the project's own ``evaluate.py``: quality (SDMetrics),
   constraint adherence (the plain script has no constraints: that is the point), exact
   copies of training rows, and ML efficacy (train on synthetic, test on real, over train on
   real, test on real). The plain script is not seeded, as a user's would not be, so quality
   is a mean over the pairs.
2. ``dpctgan-customers``: epsilon 1, 3 and 10, one rendered project per epsilon and seed
   (the spec's ``privacy.differential_privacy.epsilon`` and ``seed`` edited, then rendered),
   the spec's epochs: epsilon spent against the budget, quality, adherence, exact copies and
   the CPU seconds of ``train.py``. Mean and standard error over seeds.

    python benchmarks/tabular.py [--presets ctgan-customers ctgan-wine dpctgan-customers]
        [--pairs 3] [--dp-seeds 3] [--epochs N] [--json PATH]
    python benchmarks/tabular.py --report PATH      # the tables of an earlier --json again

``--epochs`` overrides every fit's epochs (default: each spec's own); both sides sample the
spec's ``output.rows``. No network: the data is made from a seed
(customers) or bundled with scikit-learn (wine).

Targets: wall-time ratio plain/ours >= 0.95 (ours no more than ~5% slower); quality ours >=
plain; constraint adherence 100% (ours); 0 exact copies; wine ML efficacy ratio >= 0.8; DP:
epsilon spent <= the budget on every run.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
AB_PRESETS = ("ctgan-customers", "ctgan-wine")
DP_PRESET = "dpctgan-customers"
EPSILONS = (1.0, 3.0, 10.0)
MIN_RATIO = 0.95  # plain/ours wall time
MIN_ML_RATIO = 0.8  # wine, TSTR/TRTR

# What a user writes from SDV 2.0's docs, on the rendered project's training split.
PLAIN_SCRIPT = '''\
"""A plain SDV 2.0 script: detect metadata, CTGAN with SDV's defaults, fit, sample, write."""

import argparse
import json
import sys

from sdv.metadata import Metadata
from sdv.single_table import CTGANSynthesizer

import metadata as declared  # the project's explicit metadata, used if detection fails
from data import load_real, split  # the project's real table and its seeded training split

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, required=True)
parser.add_argument("--rows", type=int, required=True)
parser.add_argument("--out", required=True)
parser.add_argument("--metadata", choices=["detected", "explicit"], default="detected")
parser.add_argument("--device", default="auto")
args = parser.parse_args()

train, _holdout = split(load_real())
table = declared.TABLE
metadata = None
if args.metadata == "detected":
    try:
        metadata = Metadata.detect_from_dataframes({table: train})
    except Exception as exc:
        print(f"metadata detection failed ({exc}); using the explicit metadata", file=sys.stderr)
if metadata is None:
    metadata = Metadata.load_from_dict(declared.METADATA)
    train = train[list(declared.METADATA["tables"][table]["columns"])]
print("metadata: " + json.dumps(metadata.to_dict(), default=str))
synthesizer = CTGANSynthesizer(metadata, epochs=args.epochs, enable_gpu=args.device != "cpu")
synthesizer.fit({table: train})
synthesizer.sample(args.rows)[table].to_csv(args.out, index=False)
'''


class RunFailed(RuntimeError):
    """A subprocess failed; the message ends with its log's tail."""


def run_process(
    command: list[str], cwd: Path, log: Path, ok: tuple[int, ...] = (0,), **env: str
) -> dict:
    """Run ``command`` to its end: wall seconds (perf_counter around it, as /usr/bin/time
    would) and the CPU seconds of it and its children; RunFailed on an unexpected exit."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    with open(log, "w") as out:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=out)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in ok:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise RunFailed(f"{shlex.join(command)} exited {code} (in {cwd}):\n{tail}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "code": code}


def load_spec(preset: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / "specs" / f"{preset}.yaml").read_text())


def render(spec: dict[str, Any], folder: Path) -> Path:
    """The spec rendered by this checkout's ganspec into ``folder/project``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    project = folder / "project"
    command = [sys.executable, "-m", "ganspec", "render", str(path), "--out", str(project)]
    run_process(command, ROOT, folder / "render.log")
    return project


def copy_of(project: Path, folder: Path) -> Path:
    """A fresh copy of the rendered project for one run."""
    shutil.copytree(project, folder, ignore=shutil.ignore_patterns("runs", "synthetic"))
    return folder


def score(project: Path, table: Path, out: Path) -> dict[str, Any]:
    """The project's evaluate.py on ``table`` (exit 1, a missed bar, is a result too). Not
    timed, so one OpenMP thread: scikit-learn's boosted trees crawl when threads outnumber
    free cores, as on a shared machine."""
    command = [sys.executable, "evaluate.py", "--table", str(table), "--out", str(out)]
    log = out.parent / "evaluate.log"
    try:
        run_process([*command, "--no-plots"], project, log, ok=(0, 1), OMP_NUM_THREADS="1")
    except RunFailed as exc:  # e.g. a table that does not parse with the declared types
        return {"error": str(exc)}
    return json.loads((out / "evaluation.json").read_text())


def run_ours(project: Path, epochs: int, spec: dict, device: str) -> dict[str, Any]:
    """train.py: the fit, then the declared output table, in one process (the README's command)."""
    run, table = project / "runs" / "bench", project / spec["output"]["path"]
    train = [sys.executable, "train.py", "--epochs", str(epochs), "--out", str(run)]
    timing = run_process([*train, "--device", device], project, project / "train.log")
    return timing | {"table": table, "fit": json.loads((run / "fit.json").read_text())}


def run_plain(project: Path, epochs: int, rows: int, device: str, metadata: str) -> dict:
    """The plain SDV script, one process."""
    (project / "plain_sdv.py").write_text(PLAIN_SCRIPT)
    table = project / "synthetic" / "plain.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "plain_sdv.py", "--epochs", str(epochs), "--rows", str(rows)]
    command += ["--out", str(table), "--metadata", metadata, "--device", device]
    timing = run_process(command, project, project / "plain.log")
    for line in (project / "plain.log").read_text(errors="replace").splitlines():
        if line.startswith("metadata: "):  # what SDV detected, for the raw figures
            (detected,) = json.loads(line[10:])["tables"].values()
            timing["sdtypes"] = {k: v["sdtype"] for k, v in detected["columns"].items()}
    return timing | {"table": table}


def ab_preset(preset: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    """Pairs of (ours, plain), alternated, each in a fresh copy of the project, then scored."""
    spec = load_spec(preset)
    epochs = args.epochs or spec["synthesizer"]["ctgan"]["epochs"]
    rows = spec["output"]["rows"]
    rendered = render(spec, scratch / preset)
    runs: dict[str, list[dict[str, Any]]] = {"ours": [], "plain": []}
    for pair in range(args.pairs):
        order = ("ours", "plain") if pair % 2 == 0 else ("plain", "ours")
        for who in order:
            project = copy_of(rendered, scratch / preset / f"{who}-{pair}")
            if who == "ours":
                result = run_ours(project, epochs, spec, args.device)
            else:
                result = run_plain(project, epochs, rows, args.device, args.plain_metadata)
            result["evaluation"] = score(project, result["table"], project / "evaluation")
            result["table"] = str(result["table"])
            runs[who].append(result)
            print(f"  {preset} pair {pair} {who}: {result['wall']:.1f} s wall", flush=True)
    ours = statistics.median(r["wall"] for r in runs["ours"])
    plain = statistics.median(r["wall"] for r in runs["plain"])
    return {
        "preset": preset,
        "epochs": epochs,
        "rows": rows,
        "pairs": args.pairs,
        "plain_metadata": args.plain_metadata,
        "median_wall": {"ours": ours, "plain": plain},
        "ratio": plain / ours,
        "min_wall": {who: min(x["wall"] for x in runs[who]) for who in runs},
        "runs": runs,
    }


def dp_run(spec: dict, epsilon: float, seed: int, args: argparse.Namespace, scratch: Path) -> dict:
    """One DP-CTGAN fit at ``epsilon`` and ``seed`` in its own rendered project, scored."""
    spec = copy.deepcopy(spec)
    spec["seed"] = seed
    spec["privacy"]["differential_privacy"]["epsilon"] = epsilon
    project = render(spec, scratch / DP_PRESET / f"eps{epsilon:g}-seed{seed}")
    epochs = args.epochs or spec["synthesizer"]["ctgan"]["epochs"]
    result = run_ours(project, epochs, spec, args.device)
    evaluation = score(project, result["table"], project / "evaluation")
    privacy = result["fit"]["privacy"]
    print(
        f"  {DP_PRESET} epsilon {epsilon:g} seed {seed}: spent {privacy['epsilon_spent']:.3f}, "
        f"{result['wall']:.1f} s wall",
        flush=True,
    )
    return {
        "epsilon": epsilon,
        "seed": seed,
        "epochs": epochs,
        "privacy": privacy,
        "train_seconds": result["fit"]["seconds"],
        "cpu_seconds": result["cpu"],
        "wall_seconds": result["wall"],
        "evaluation": evaluation,
    }


# --- the report -------------------------------------------------------------------------------


def mean_se(values: list[float], digits: int = 3) -> str:
    if not values:
        return "n/a"
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) / math.sqrt(len(values)):.{digits}f}"


def figures(runs: list[dict[str, Any]], key: str) -> list[float]:
    """One figure of evaluation.json over runs (runs whose table could not be scored left out)."""
    out = []
    for run in runs:
        value = run["evaluation"]
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value is not None:
            out.append(float(value))
    return out


def failures(runs: list[dict[str, Any]]) -> int:
    return sum("error" in run["evaluation"] for run in runs)


def ab_table(results: list[dict[str, Any]]) -> list[str]:
    """Wall seconds as median (min) over pairs: the min is the run least hit by others' load."""
    lines = [
        "| preset | epochs | rows | plain's metadata | wall ours (s), median (min): "
        "fit | wall plain (s), median (min) | ratio plain/ours of medians "
        "(target >= 0.95) (of mins) | CPU ours (s) | CPU plain (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        ours, plain = r["runs"]["ours"], r["runs"]["plain"]
        wall = {who: [x["wall"] for x in r["runs"][who]] for who in ("ours", "plain")}
        median = {who: statistics.median(values) for who, values in wall.items()}
        ratio = median["plain"] / median["ours"]
        verdict = "PASS" if ratio >= MIN_RATIO else "FAIL"
        fit = statistics.median(x["fit"]["seconds"] for x in ours)
        lines.append(
            f"| {r['preset']} | {r['epochs']} | {r['rows']} | {r['plain_metadata']} | "
            f"{median['ours']:.1f} ({min(wall['ours']):.1f}): {fit:.1f} | "
            f"{median['plain']:.1f} ({min(wall['plain']):.1f}) | {ratio:.2f} {verdict} "
            f"({min(wall['plain']) / min(wall['ours']):.2f}) | "
            f"{statistics.median(x['cpu'] for x in ours):.1f} | "
            f"{statistics.median(x['cpu'] for x in plain):.1f} |"
        )
    lines += [
        "",
        "| preset | who | quality (target: ours >= plain) | constraint adherence "
        "(target 1.0, ours) | exact copies (target 0) | closer to train | ML efficacy "
        "TSTR/TRTR (wine target >= 0.8) | diagnostic |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for who in ("ours", "plain"):
            runs = r["runs"][who]
            unscored = failures(runs)
            note = f" ({unscored} of {len(runs)} tables could not be scored)" if unscored else ""
            lines.append(
                f"| {r['preset']} | {who}{note} | {mean_se(figures(runs, 'quality'))} | "
                f"{mean_se(figures(runs, 'constraint_adherence'))} | "
                f"{mean_se(figures(runs, 'exact_copies'), 1)} | "
                f"{mean_se(figures(runs, 'closer_to_train'))} | "
                f"{mean_se(figures(runs, 'ml_efficacy.ratio'))} | "
                f"{mean_se(figures(runs, 'diagnostic'))} |"
            )
    return lines


def dp_table(runs: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| epsilon | seeds | epochs | epsilon spent (max) | spent <= budget | noise multiplier | "
        "quality | constraint adherence | exact copies | ML efficacy | CPU s of train.py |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for epsilon in EPSILONS:
        group = [run for run in runs if run["epsilon"] == epsilon]
        if not group:
            continue
        spent = [run["privacy"]["epsilon_spent"] for run in group]
        within = sum(value <= epsilon for value in spent)
        sigma = [run["privacy"]["noise_multiplier"] for run in group]
        lines.append(
            f"| {epsilon:g} | {len(group)} | {group[0]['epochs']} | {max(spent):.3f} | "
            f"{within}/{len(group)} | {mean_se(sigma)} | {mean_se(figures(group, 'quality'))} | "
            f"{mean_se(figures(group, 'constraint_adherence'))} | "
            f"{mean_se(figures(group, 'exact_copies'), 1)} | "
            f"{mean_se(figures(group, 'ml_efficacy.ratio'))} | "
            f"{mean_se([run['cpu_seconds'] for run in group], 1)} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="+", default=[*AB_PRESETS, DP_PRESET])
    parser.add_argument("--pairs", type=int, default=3, help="ours/plain pairs per preset")
    parser.add_argument("--dp-seeds", type=int, default=3, help="seeds 0..N-1 per epsilon")
    parser.add_argument("--epochs", type=int, help="every fit's epochs (default: the spec's)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--plain-metadata",
        default="detected",
        choices=["detected", "explicit"],
        help="the plain script's metadata: SDV's detection (what its docs show) or the "
        "project's explicit metadata (the same columns and types as ours, no constraints)",
    )
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument("--keep", action="store_true", help="keep the temporary projects")
    parser.add_argument("--report", type=Path, help="only print the tables of a --json file")
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()))
        return
    unknown = set(args.presets) - {*AB_PRESETS, DP_PRESET}
    if unknown:
        parser.error(f"unknown presets {sorted(unknown)}; choose from {[*AB_PRESETS, DP_PRESET]}")
    command = "python benchmarks/tabular.py " + shlex.join(sys.argv[1:])
    scratch = Path(tempfile.mkdtemp(prefix="ganspec-tabular-"))
    started = time.perf_counter()
    try:
        ab = [ab_preset(p, args, scratch) for p in AB_PRESETS if p in args.presets]
        dp = []
        if DP_PRESET in args.presets:
            spec = load_spec(DP_PRESET)
            for epsilon in EPSILONS:
                dp += [dp_run(spec, epsilon, seed, args, scratch) for seed in range(args.dp_seeds)]
    except RunFailed as exc:
        raise SystemExit(f"benchmark run failed: {exc}") from None
    finally:
        if args.keep:
            print(f"projects kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    raw = {"command": command, "seconds": time.perf_counter() - started, "ab": ab, "dp": dp}
    if args.json:
        args.json.write_text(json.dumps(raw, indent=2, default=str))
    report(raw)
    if args.json:
        print(f"\nraw figures: {args.json}")


def report(raw: dict[str, Any]) -> None:
    """The Markdown tables of one benchmark run's raw figures."""
    print()
    minutes, cpus = raw["seconds"] / 60, os.cpu_count()
    print(f"`{raw['command']}` ({minutes:.1f} min, {cpus} CPUs, runs side by side)")
    if raw["ab"]:
        print()
        print("\n".join(ab_table(raw["ab"])))
    if raw["dp"]:
        print()
        print("\n".join(dp_table(raw["dp"])))


if __name__ == "__main__":
    main()
