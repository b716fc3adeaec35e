"""Wall time of ``ganspec render`` for a preset, ruff formatting and checking included.

Each run is a fresh process rendering into an empty folder, as a user would run it; runs
alternate with ``ganspec validate`` of the same spec so the cost of rendering itself shows.

    python benchmarks/render_speed.py [--runs 11] [--spec specs/dcgan-64.yaml]
    python benchmarks/render_speed.py --in-process [--runs 11]

Target: median at most 2 s on a 2-core CPU. ``--in-process`` times the render itself instead:
the CPU time of rendering the validated spec in this process (templates, the interface read
from the render; ruff runs in processes of its own, not counted), after one warm-up render,
without an interpreter's start and imports, which dominate a whole command and vary from
machine to machine (a Python run with PYTHONDONTWRITEBYTECODE compiles ganspec at each start).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(args: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "ganspec", *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"ganspec {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return elapsed


def in_process(spec: str, runs: int) -> None:
    """Median CPU time of ``render_files`` in this process (ruff's own processes not counted)."""
    from ganspec.render.pipeline import render_files
    from ganspec.validate import validate_file

    report = validate_file(Path(spec))
    render_files(report, set())  # templates compiled, modules imported
    times = []
    for _ in range(runs):
        start = time.process_time()
        render_files(report, set())
        times.append(time.process_time() - start)
    print(f"{runs} renders of {spec} in one process")
    print(f"  CPU per render   median {statistics.median(times) * 1000:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--spec", default=str(ROOT / "specs" / "dcgan-64.yaml"))
    parser.add_argument("--in-process", action="store_true", help="time the render itself")
    args = parser.parse_args()
    if args.in_process:
        in_process(args.spec, args.runs)
        return
    render_times, validate_times = [], []
    with tempfile.TemporaryDirectory() as scratch:
        for index in range(args.runs):
            validate_times.append(run(["validate", args.spec]))
            render_times.append(run(["render", args.spec, "--out", f"{scratch}/p{index}"]))
    render, validate = statistics.median(render_times), statistics.median(validate_times)
    print(f"{args.runs} runs each, spec {args.spec}")
    print(f"  ganspec validate  median {validate:.3f} s")
    print(f"  ganspec render    median {render:.3f} s (min {min(render_times):.3f} s)")
    print(
        f"  render - validate {render - validate:.3f} s; target: render median <= 2 s: "
        f"{'PASS' if render <= 2 else 'FAIL'}"
    )


if __name__ == "__main__":
    main()
