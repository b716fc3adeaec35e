"""``ganspec check`` on a fresh render of every preset: each must pass all its contracts.

Renders each spec in ``specs/`` into a temporary folder, runs ``ganspec check DIR --format
json`` on it and prints one row per preset: contracts passed / total, per surface, and the
seconds the check took. Exit 1 when any preset has a failing contract.

    python benchmarks/check_presets.py [--presets NAME ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GANSPEC = [sys.executable, "-m", "ganspec"]


def check_preset(preset: str, scratch: Path) -> tuple[dict, float]:
    """The check's JSON report for a fresh render of ``preset``, and its seconds."""
    project = scratch / preset
    spec = ROOT / "specs" / f"{preset}.yaml"
    subprocess.run(
        [*GANSPEC, "render", str(spec), "--out", str(project)], check=True, capture_output=True
    )
    started = time.perf_counter()
    done = subprocess.run(
        [*GANSPEC, "check", str(project), "--format", "json"], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode == 2:
        raise SystemExit(f"{preset}: could not be checked:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout), seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    presets = sorted(path.stem for path in (ROOT / "specs").glob("*.yaml"))
    parser.add_argument("--presets", nargs="+", default=presets, choices=presets)
    args = parser.parse_args()
    failing = 0
    print("| preset | passed | per surface (passed/total) | seconds |\n|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="ganspec-check-presets-") as scratch:
        for preset in args.presets:
            report, seconds = check_preset(preset, Path(scratch))
            total = report["passed"] + report["failed"]
            surfaces = ", ".join(
                f"{name} {found['passed']}/{found['passed'] + len(found['failed'])}"
                for name, found in report["surfaces"].items()
            )
            failing += report["failed"] > 0
            print(f"| {preset} | {report['passed']}/{total} | {surfaces} | {seconds:.0f} |")
    return 1 if failing else 0


if __name__ == "__main__":
    sys.exit(main())
