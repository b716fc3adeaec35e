"""``ganspec smoke``: run a rendered project's own health check and report on it.

The project owns the check (its ``health.py`` trains a few steps with its own code); ganspec
only finds the project's interpreter, runs ``health.py --json`` there and formats the report.
Nothing here imports torch.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ganspec.child import Interrupted, TimedOut, run_bounded
from ganspec.render.writer import MANIFEST

DEVICES = ("auto", "cpu", "cuda", "mps")
REQUIRED = (MANIFEST, Path("health.py"))  # image projects also have config.yaml, tabular not
STDERR_TAIL_LINES = 30
DEFAULT_TIMEOUT_S = 600.0  # a few steps take seconds to minutes, a first data download included
STDOUT_LIMIT = 1 << 20  # the report is one line of a few KB
STDERR_LIMIT = 64 << 10  # enough for the end of a traceback; the rest is read and dropped
EXIT_HEALTHY, EXIT_UNHEALTHY, EXIT_NO_REPORT = 0, 1, 2

__all__ = ["Interrupted", "SmokeError", "SmokeResult", "run_smoke"]


class SmokeError(Exception):
    """DIR is not a rendered project, or its health check produced no usable report (exit 2)."""


# --- the report's shape: checked before anything in it is believed ---------------------------

Number = int | float | str | None  # health.py writes NaN and Inf as "nan", "inf"


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class _Check(_Strict):
    name: str
    status: Literal["pass", "fail", "warn", "skip"]
    detail: str = ""


class _Trajectory(_Strict):
    first: Number = None
    last: Number = None
    min: Number = None
    max: Number = None


class HealthReport(_Strict):
    """What ``health.py --json`` prints; fields ganspec does not show may be added freely."""

    healthy: bool
    checks: list[_Check] = Field(min_length=1)
    failed: list[str] = []
    error: str | None = None  # the end of the traceback when the run crashed
    steps: int | None = None
    steps_requested: int | None = None
    device: str | None = None
    synthetic: bool | None = None
    data_source: str | None = None
    d_real: _Trajectory | None = None
    d_fake: _Trajectory | None = None
    d_fake_healthy: list[Number] | None = Field(default=None, min_length=2, max_length=2)
    diversity_ratio: Number = None
    seconds_per_step: Number = None
    peak_rss_mib: Number = None
    cuda_max_memory_allocated_mib: Number = None
    nan_report: dict[str, Any] | None = None  # where and why a NaN/Inf loss stopped the run
    run: str | None = None
    metrics: str | None = None
    samples: str | None = None
    step_unit: Literal["step", "epoch", "image"] = "step"
    checkpoint: str | None = None

    @model_validator(mode="after")
    def _healthy_only_without_failures(self) -> HealthReport:
        failing = [c.name for c in self.checks if c.status == "fail"] + self.failed
        if self.healthy and (failing or self.error):
            raise ValueError(f"says healthy, yet {', '.join(failing) or 'it crashed'}")
        return self


def check_report(report: dict[str, Any]) -> None:
    """Raise SmokeError unless the report has the shape ganspec reads (and is consistent)."""
    try:
        HealthReport.model_validate(report)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(part) for part in error['loc']) or 'report'}: {error['msg']}"
            for error in exc.errors()[:3]
        ]
        raise SmokeError(
            "health.py printed a malformed report (" + "; ".join(problems) + "); re-render the "
            "project, or run `python health.py --json` in it to see what it prints"
        ) from None


@dataclass
class SmokeResult:
    report: dict[str, Any]

    @property
    def healthy(self) -> bool:
        return self.report.get("healthy") is True

    @property
    def exit_code(self) -> int:
        return EXIT_HEALTHY if self.healthy else EXIT_UNHEALTHY


# --- running health.py ------------------------------------------------------------------------


def project_python(project: Path) -> str:
    """The project's own virtual environment when it has one, else this interpreter.

    The path is absolute, since health.py runs with the project as its working folder, and
    not resolved: a venv's python is a link whose target would run outside the venv.
    """
    for venv in (".venv", "venv"):
        for relative in ("bin/python", "Scripts/python.exe"):
            candidate = project / venv / relative
            if candidate.is_file():
                return os.path.abspath(candidate)
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


def health_command(
    python: str, steps: int | None, device: str, synthetic: bool, overwrite: bool = False
) -> list[str]:
    command = [python, "health.py", "--json", "--device", device]
    if steps is not None:
        command += ["--steps", str(steps)]
    if synthetic:
        command.append("--synthetic")
    if overwrite:  # health.py moves a run it did not write aside instead of refusing it
        command.append("--overwrite")
    return command


def _tail(text: str, lines: int = STDERR_TAIL_LINES) -> str:
    """The last lines of a stream; tqdm redraws its bar with carriage returns, so only what
    each line ended as is kept."""
    kept = [line.rsplit("\r", 1)[-1] for line in text.split("\n")]
    return "\n".join([line for line in kept if line.strip()][-lines:])


def parse_report(stdout: str, complete: bool = True) -> dict[str, Any] | None:
    """The JSON object health.py printed: the whole output, else its last line (the only
    candidate when the start of a long output was dropped)."""
    text = stdout.strip()
    candidates = (text, text.rsplit("\n", 1)[-1]) if complete else (text.rsplit("\n", 1)[-1],)
    for candidate in candidates:
        try:
            report = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(report, dict) and "healthy" in report and "checks" in report:
            return report
    return None


def run_smoke(
    project: Path,
    steps: int | None = None,
    device: str = "auto",
    synthetic: bool = False,
    timeout: float = DEFAULT_TIMEOUT_S,
    overwrite: bool = False,
) -> SmokeResult:
    """Run the project's health.py and return its report (``overwrite``: passed on to it).

    SmokeError when there is no usable report (not a project, no report, a malformed one, or
    no report within ``timeout`` seconds); Interrupted when ganspec itself got a signal. In
    both of the last cases health.py's whole process group has been stopped.
    """
    project = Path(project)
    check_project(project)
    command = health_command(project_python(project), steps, device, synthetic, overwrite)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        done = run_bounded(command, project.absolute(), env, timeout, STDOUT_LIMIT, STDERR_LIMIT)
    except OSError as exc:
        raise SmokeError(f"cannot run {command[0]}: {exc.strerror or exc}") from None
    except TimedOut as exc:
        tail = _tail(exc.stderr) or "(no output on stderr)"
        raise SmokeError(
            f"health.py did not finish within {timeout:g} s and was stopped (raise --timeout "
            f"if the project is just slow); the end of its stderr:\n{tail}"
        ) from None
    report = parse_report(done.stdout.text(), done.stdout.complete)
    if report is None:
        tail = _tail(done.stderr.text()) or "(no output on stderr)"
        raise SmokeError(
            f"health.py exited with code {done.returncode} and printed no report; the end of "
            f"its stderr:\n{tail}"
        )
    check_report(report)
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
    """One line per check, then the D trajectories and the figures (or the crash's end)."""
    lines = []
    if project is not None:
        lines.append(f"ganspec smoke {project}")
    for c in report.get("checks", []):
        mark = MARKS.get(c.get("status"), "?")
        status = str(c.get("status", "?")).upper()
        lines.append(f"  {mark} {status:<4}  {c.get('name')}: {c.get('detail', '')}")
    if report.get("error"):
        lines.append("  the run crashed; the end of its traceback:")
        lines += [f"    {line}" for line in report["error"].rstrip().splitlines()]
    else:
        lines += _figures(report)
    if report.get("healthy") is True:
        lines.append("healthy")
    else:
        lines.append(f"unhealthy: {', '.join(report.get('failed', [])) or 'see the checks'}")
    return "\n".join(lines)


def _figures(report: dict[str, Any]) -> list[str]:
    """The figures the report has: a GAN's D trajectories and diversity (image projects), a
    synthesizer's privacy spent (tabular DP), then steps, time and memory for both."""
    lines = []
    for key, label in (("d_real", "D(real)"), ("d_fake", "D(fake)")):
        if key not in report:
            continue
        t = report.get(key) or {}
        lines.append(
            f"  {label:<8} first {_number(t.get('first'))}  last {_number(t.get('last'))}  "
            f"min {_number(t.get('min'))}  max {_number(t.get('max'))}"
        )
    band = report.get("d_fake_healthy")
    if band:
        lines.append(f"  D(fake) healthy band: [{band[0]}, {band[1]}]")
    if "diversity_ratio" in report:
        lines.append(
            f"  diversity ratio (generated/real pairwise distance): "
            f"{_number(report.get('diversity_ratio'))}"
        )
    privacy = report.get("privacy")
    if isinstance(privacy, dict):
        lines.append(
            f"  privacy: epsilon {_number(privacy.get('epsilon_spent'))} of "
            f"{_number(privacy.get('epsilon_target'))} spent, delta {privacy.get('delta')}"
        )
    memory = f"peak RSS {_number(report.get('peak_rss_mib'), 4)} MiB"
    if report.get("cuda_max_memory_allocated_mib") is not None:
        memory += f", CUDA peak {_number(report['cuda_max_memory_allocated_mib'], 4)} MiB"
    source = report.get("data_source") or "?"
    if report.get("synthetic"):
        source += " (--synthetic)"
    unit = report.get("step_unit", "step")  # tabular projects fit in epochs, superres in images
    timing = "s/step (median)" if unit == "step" else f"s/{unit} (mean)"
    lines.append(
        f"  {report.get('steps')}/{report.get('steps_requested')} {unit}s on "
        f"{report.get('device')}, data {source}, "
        f"{_number(report.get('seconds_per_step'))} {timing}, {memory}"
    )
    if "metrics" in report:
        lines.append(f"  metrics: {report.get('metrics')}")
        lines.append(f"  samples: {report.get('samples') or 'none'}")
    return lines
