"""``ganspec smoke``: run a rendered project's own health check and report on it.

The project owns the check (its ``health.py`` trains a few steps with its own code); ganspec
only finds the project's interpreter, runs ``health.py --json`` there and formats the report.
Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ganspec.render.writer import MANIFEST

DEVICES = ("auto", "cpu", "cuda", "mps")
REQUIRED = (MANIFEST, Path("config.yaml"), Path("health.py"))
STDERR_TAIL_LINES = 30
EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_NO_REPORT = 0, 1, 2


class SmokeError(Exception):
    """DIR is not a rendered project, or its health check produced no report (exit 2)."""


@dataclass
class SmokeResult:
    report: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return bool(self.report.get("healthy"))

    @property
    def exit_code(self) -> int:
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY


def project_python(project: Path) -> str:
    """The project's own virtual environment when it has one, else this interpreter."""
    for venv in (".venv", "venv"):
        for relative in ("bin/python", "Scripts/python.exe"):
            candidate = project / venv / relative
            if candidate.is_file():
                return str(candidate)
    return sys.executable


def check_project(project: Path) -> None:
    if not project.is_dir():
        raise SmokeError(f"{project} is not a folder")
    missing = [str(p) for p in REQUIRED if not (project / p).is_file()]
    if missing:
        raise SmokeError(
            f"{project} is not a project rendered by ganspec (missing {', '.join(missing)}); "
            "render one with `ganspec render SPEC --out DIR`, or re-render an older one to get "
            "health.py"
        )


def health_command(python: str, steps: int | None, device: str, synthetic: bool) -> list[str]:
    command = [python, "health.py", "--json", "--device", device]
    if steps is not None:
        command += ["--steps", str(steps)]
    if synthetic:
        command.append("--synthetic")
    return command


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last lines of a stream; tqdm redraws its bar with carriage returns, so only what
    each line ended as is kept."""
    kept = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join([line for line in kept if line.strip()][-lines:])


def parse_report(stdout: str) -> dict[str, Any] | None:
    """The JSON object health.py printed: the whole output, else its last line."""
    text = stdout.strip()
    for candidate in (text, text.rsplit("\n", 1)[-1]):
        try:
            report = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(report, dict) and "healthy" in report and "checks" in report:
            return report
    return None


def run_smoke(
    project: Path, steps: int | None = None, device: str = "auto", synthetic: bool = False
) -> SmokeResult:
    """Run the project's health.py and return its report; SmokeError when there is none."""
    project = Path(project)
    check_project(project)
    command = health_command(project_python(project), steps, device, synthetic)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = subprocess.run(
            command, cwd=project, capture_output=True, text=True, env=env, check=False
        )
    except OSError as exc:
        raise SmokeError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    report = parse_report(done.stdout)
    if report is None:
        tail = _tail(done.stderr) or "(no output on stderr)"
        raise SmokeError(
            f"health.py exited with code {done.returncode} and printed no report; the end of "
            f"its stderr:\n{tail}"
        )
    for key in ("run", "metrics", "samples", "checkpoint"):  # relative to the project
        if isinstance(report.get(key), str):
            report[key] = str(project / report[key])
    return SmokeResult(report)


# --- text ------------------------------------------------------------------------------------

MARKS = {"pass": "✓", "fail": "✗", "warn": "!", "skip": "-"}


def _number(value: Any, digits: int = 3) -> str:
    if isinstance(value, (int, float)):
        return f"{value:.{digits}g}"
    return "n/a" if value is None else str(value)


def format_report(report: dict[str, Any], project: Path | None = None) -> str:
    """One line per check, then the D trajectories and the figures."""
    lines = []
    if project is not None:
        lines.append(f"ganspec smoke {project}")
    for c in report.get("checks", []):
        mark = MARKS.get(c.get("status"), "?")
        status = str(c.get("status", "?")).upper()
        lines.append(f"  {mark} {status:<4}  {c.get('name')}: {c.get('detail', '')}")
    for key, label in (("d_real", "D(real)"), ("d_fake", "D(fake)")):
        t = report.get(key) or {}
        lines.append(
            f"  {label:<8} first {_number(t.get('first'))}  last {_number(t.get('last'))}  "
            f"min {_number(t.get('min'))}  max {_number(t.get('max'))}"
        )
    band = report.get("d_fake_healthy")
    if band:
        lines.append(f"  D(fake) healthy band: [{band[0]}, {band[1]}]")
    lines.append(
        f"  diversity ratio (generated/real pairwise distance): "
        f"{_number(report.get('diversity_ratio'))}"
    )
    memory = f"peak RSS {_number(report.get('peak_rss_mib'), 4)} MiB"
    if report.get("cuda_max_memory_allocated_mib") is not None:
        memory += f", CUDA peak {_number(report['cuda_max_memory_allocated_mib'], 4)} MiB"
    source = report.get("data_source", "?") + (" (--synthetic)" if report.get("synthetic") else "")
    lines.append(
        f"  {report.get('steps')}/{report.get('steps_requested')} steps on "
        f"{report.get('device')}, data {source}, "
        f"{_number(report.get('seconds_per_step'))} s/step (median), {memory}"
    )
    lines.append(f"  metrics: {report.get('metrics')}")
    lines.append(f"  samples: {report.get('samples') or 'none'}")
    if report.get("healthy"):
        lines.append("healthy")
    else:
        lines.append(f"unhealthy: {', '.join(report.get('failed', [])) or 'see the checks'}")
    return "\n".join(lines)
