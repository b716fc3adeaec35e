"""A health report from a short training run: does this GAN learn at all?

    python health.py                    # 6 steps on the fastest device, a readable report
    python health.py --steps 20 --json  # one JSON object on stdout (progress goes to stderr)
    python health.py --synthetic        # random data of the right shape instead of data.source

It runs train.train for a few steps into its own run folder (default runs/NAME_health), with
every step logged, then checks: all losses finite (a NaN stop is a failed check, not a crash),
G's output has the data's shape and range, both networks got non-zero finite gradients on every
step, and G's samples are not collapsed (their mean pairwise distance against real data's). It
also reports D(real)/D(fake), seconds per step and peak memory. A run that crashes is a failed
check too (no_crash, with the end of the traceback), not a missing report. Exit 0 healthy, 1
otherwise.

Each health run replaces the previous one in its folder, and only that: health.json records
which files that run left, however it ended (a crash, Ctrl-C or SIGTERM included), and they
are removed only while they are unchanged. A folder with any other run in it is refused
(exit 2), as train.py refuses it; --overwrite moves that run into OUT/previous-<time>/.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import signal
import statistics
import sys
import threading
import traceback
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import torch
from torch import Tensor

import train
from config import data_dims, load_config, resolve_device
from data import build_dataset
from models import Generator, load_generator, sample_labels, sample_latent
from runfolder import RunFolderError, recording_health_run, take_over_for_health
from storage import CorruptFile

DEFAULT_STEPS = 6
# what every health step logs, whatever validation.log says
FORCED_LOG = [
    "loss_g",
    "loss_d",
    "d_real",
    "d_fake",
    "grad_norm_g",
    "grad_norm_d",
    "seconds_per_step",
]
# |loss| at or above this counts as non-finite: no GAN loss gets there unless it diverges
# (a BCE loss of 1e4 means logits of 1e4), and float32 overflows a few steps later.
LOSS_CEILING = 1e4
COLLAPSE_BELOW = 0.1  # generated spread / real spread under this: mode collapse...
SHRUNK_BELOW = 0.5  # ...when it is also under half of an untrained G's ratio
MAX_DIVERSITY_BATCH = 128  # samples compared pairwise, generated and real alike
CRASH_LINES = 12  # of the traceback, kept in the report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="default: ./config.yaml")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="training steps")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|mps")
    parser.add_argument("--out", default=None, help="run folder; default runs/NAME_health")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="move a run health.py did not write from OUT into OUT/previous-<time>/",
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="random data of data.shape, not data.source"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def health_config(cfg: dict[str, Any], synthetic: bool = False) -> dict[str, Any]:
    """The project's config with every step logged, gradient norms and D scores included."""
    cfg = copy.deepcopy(cfg)
    validation = cfg["validation"]
    logged = list(validation.get("log") or [])
    validation["log"] = logged + [key for key in FORCED_LOG if key not in logged]
    validation["log_every"] = 1
    if synthetic:
        cfg["data"]["source"] = {"type": "synthetic"}
    return cfg


# --- measurements ----------------------------------------------------------------------------


def trajectory(rows: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    """First, last, min and max of a logged value over the run (finite values only)."""
    values = [r[key] for r in rows if isinstance(r.get(key), (int, float))]
    values = [v for v in values if math.isfinite(v)]
    if not values:
        return {"first": None, "last": None, "min": None, "max": None}
    return {"first": values[0], "last": values[-1], "min": min(values), "max": max(values)}


def mean_pairwise_distance(x: Tensor) -> float:
    """The mean L2 distance between two different samples of a batch."""
    flat = x.detach().flatten(1).double()
    n = flat.shape[0]
    return (torch.cdist(flat, flat).sum() / (n * (n - 1))).item()


def real_batch(cfg: dict[str, Any], n: int) -> Tensor:
    """n real samples drawn without replacement by a seeded generator."""
    dataset = build_dataset(cfg)
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(cfg["seed"]))
    return torch.stack([dataset[int(i)][0] for i in order[:n]]).float()


@torch.no_grad()
def generated_batch(checkpoint: Path, cfg: dict[str, Any], n: int) -> Tensor:
    """n samples of G as trained (not the EMA copy) on the CPU, in training mode: a few steps
    in, BatchNorm's running statistics are still far from the batch statistics G trains with,
    and eval mode would make any young G look collapsed. CorruptFile when the checkpoint
    does not match its checksum."""
    generator, _ = load_generator(checkpoint, "cpu", use_ema=False)
    return draw(generator.train(), cfg, n)  # a throwaway copy: its running statistics may change


@torch.no_grad()
def untrained_batch(cfg: dict[str, Any], n: int) -> Tensor:
    """n samples of a freshly initialized G (seeded as train.py seeds it), in training mode:
    the spread a G starts from, before any step."""
    with torch.random.fork_rng():
        torch.manual_seed(cfg["seed"])
        generator = Generator()
    return draw(generator.train(), cfg, n)


def draw(generator: Generator, cfg: dict[str, Any], n: int) -> Tensor:
    """n samples from the same seeded noise (and labels), so two generators compare fairly."""
    seeded = torch.Generator().manual_seed(cfg["seed"] + 1)
    z = sample_latent(n, "cpu", generator=seeded)
    return generator(z, sample_labels(n, "cpu", generator=seeded)).float()


def peak_rss_mib() -> float | None:
    """This process's peak resident memory (ru_maxrss: KiB on Linux, bytes on macOS)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


# --- checks ----------------------------------------------------------------------------------


def check(name: str, status: str, detail: str) -> dict[str, str]:
    """status: pass, fail, warn (worth a look, not a failure) or skip (could not be checked)."""
    return {"name": name, "status": status, "detail": detail}


def check_losses(rows: list[dict[str, Any]], nan: dict[str, Any] | None) -> dict[str, str]:
    """Fails on a NaN/Inf stop, and on a loss already so large that it is on its way there."""
    if nan is not None:
        return check("losses_finite", "fail", f"training stopped: {nan['reason']}")
    bad = []
    for r in rows:
        for key in ("loss_d", "loss_g"):
            value = r.get(key)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                bad.append(f"{key} = {value} at step {r['step']}")
            elif abs(value) >= LOSS_CEILING:
                bad.append(f"{key} = {value:.3g} at step {r['step']} (diverging)")
    if bad:
        return check("losses_finite", "fail", "; ".join(bad[:3]))
    return check("losses_finite", "pass", f"loss_d and loss_g finite on all {len(rows)} steps")


def check_gradients(rows: list[dict[str, Any]]) -> dict[str, str]:
    if not rows:
        return check("gradients_nonzero", "skip", "no step completed")
    bad = [
        f"{key} = {r.get(key)} at step {r['step']}"
        for r in rows
        for key in ("grad_norm_g", "grad_norm_d")
        if not (isinstance(r.get(key), (int, float)) and math.isfinite(r[key]) and r[key] > 0)
    ]
    if bad:
        return check("gradients_nonzero", "fail", "; ".join(bad[:3]))
    low = min(min(r["grad_norm_g"], r["grad_norm_d"]) for r in rows)
    return check(
        "gradients_nonzero", "pass", f"G and D gradients finite and > 0 (smallest {low:.3g})"
    )


def check_output(fake: Tensor, n: int, cfg: dict[str, Any]) -> list[dict[str, str]]:
    expected = (n, *data_dims(cfg))
    shape = tuple(fake.shape)
    checks = [
        check(
            "output_shape",
            "pass" if shape == expected else "fail",
            f"G gives {list(shape)}, data is {list(expected)}",
        )
    ]
    if not torch.isfinite(fake).all():
        checks.append(check("output_range", "fail", "G's output holds NaN or Inf"))
        return checks
    low, high = fake.min().item(), fake.max().item()
    value_range = cfg["data"].get("range")
    if value_range is None:
        checks.append(check("output_range", "pass", f"finite in [{low:.3g}, {high:.3g}]"))
    else:
        lo, hi = value_range
        tolerance = 1e-5 * (hi - lo)
        inside = low >= lo - tolerance and high <= hi + tolerance
        checks.append(
            check(
                "output_range",
                "pass" if inside else "fail",
                f"G's values lie in [{low:.3g}, {high:.3g}], data.range is [{lo}, {hi}]",
            )
        )
    return checks


def check_collapse(ratio: float, untrained: float) -> dict[str, str]:
    """Collapse is G's spread shrinking under training. A G without normalization can start
    far more compact than wide data (2-D points on [-4, 4]); a few steps in it has not spread
    out yet, which is worth a look but is not a collapse."""
    detail = f"generated/real mean pairwise distance {ratio:.3g} (untrained G: {untrained:.3g})"
    if not math.isfinite(ratio):
        return check("not_collapsed", "fail", f"{detail}: not finite")
    if ratio >= COLLAPSE_BELOW:
        return check("not_collapsed", "pass", detail)
    if ratio < SHRUNK_BELOW * untrained:
        return check(
            "not_collapsed", "fail", f"{detail} (< {COLLAPSE_BELOW} and shrinking: mode collapse)"
        )
    return check(
        "not_collapsed",
        "warn",
        f"{detail} (< {COLLAPSE_BELOW}, but no more compact than at initialization)",
    )


def check_d_fake(cfg: dict[str, Any], last: float | None) -> dict[str, str]:
    band = cfg["validation"].get("d_fake_healthy")
    if cfg["discriminator"]["output"] == "critic":
        return check("d_fake_in_band", "skip", "a critic's score is not a probability")
    if not band:
        return check("d_fake_in_band", "skip", "no validation.d_fake_healthy band")
    if last is None:
        return check("d_fake_in_band", "skip", "no D(fake) logged")
    inside = band[0] <= last <= band[1]
    # One short run cannot judge a band meant for a whole epoch: outside is a warning.
    return check(
        "d_fake_in_band",
        "pass" if inside else "warn",
        f"last D(G(z)) {last:.3f}, healthy band [{band[0]}, {band[1]}]",
    )


# --- the report ------------------------------------------------------------------------------


def no_trajectory() -> dict[str, float | None]:
    return trajectory([], "")


@dataclass
class Report:
    """Every field of the health report, each listed once: the defaults are what a run that
    got nowhere reports. ``ganspec smoke`` checks this shape (ganspec/smoke.py, HealthReport)."""

    checks: list[dict[str, str]]
    steps_requested: int
    device: str
    synthetic: bool
    error: str | None = None  # the end of the traceback when the run crashed
    steps: int = 0
    data_source: str | None = None
    d_real: dict[str, float | None] = field(default_factory=no_trajectory)
    d_fake: dict[str, float | None] = field(default_factory=no_trajectory)
    d_fake_healthy: list[float] | None = None
    diversity_ratio: float | None = None
    seconds_per_step: float | None = None
    peak_rss_mib: float | None = field(default_factory=lambda: peak_rss_mib())
    cuda_max_memory_allocated_mib: float | None = None
    nan_report: dict[str, Any] | None = None
    run: str | None = None
    metrics: str | None = None
    samples: str | None = None
    checkpoint: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as printed: healthy exactly when no check failed."""
        failed = [c["name"] for c in self.checks if c["status"] == "fail"]
        return {"healthy": not failed, "failed": failed, **asdict(self)}


def sample_checks(
    checkpoint: Path | None, cfg: dict[str, Any]
) -> tuple[list[dict[str, str]], float | None]:
    """G's output shape and range, and its spread against real data (the collapse ratio)."""
    names = ("output_shape", "output_range", "not_collapsed")
    if checkpoint is None:
        return [check(name, "skip", "no checkpoint to sample from") for name in names], None
    n = max(2, min(cfg["data"]["batch_size"], MAX_DIVERSITY_BATCH))
    try:
        fake = generated_batch(checkpoint, cfg, n)
    except CorruptFile as error:  # written moments ago: the project's storage is broken
        failed = check("checkpoint_intact", "fail", str(error))
        return [failed, *(check(name, "skip", "no checkpoint to trust") for name in names)], None
    checks = check_output(fake, n, cfg)
    if checks[-1]["status"] != "pass" or fake.shape[1:] != data_dims(cfg):
        return [*checks, check("not_collapsed", "skip", "G's output is unusable")], None
    real_spread = max(mean_pairwise_distance(real_batch(cfg, n)), 1e-12)
    ratio = mean_pairwise_distance(fake) / real_spread
    untrained = mean_pairwise_distance(untrained_batch(cfg, n)) / real_spread
    return [*checks, check_collapse(ratio, untrained)], ratio


def health(cfg: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Train ``args.steps`` steps and return the report (``healthy`` and the checks)."""
    cfg = health_config(cfg, args.synthetic)
    out = Path(args.out or Path("runs") / f"{cfg['name']}_health")
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    moved = take_over_for_health(out, args.overwrite)
    if moved is not None:
        print(f"--overwrite: the run in {out} was moved to {moved}", flush=True)
    with recording_health_run(out) as record:
        report = run_and_check(cfg, args, out, device)
        record["report"] = json_safe(report)
    return report


def run_and_check(
    cfg: dict[str, Any], args: argparse.Namespace, out: Path, device: torch.device
) -> dict[str, Any]:
    flags = ["--out", str(out), "--max-steps", str(args.steps), "--device", args.device]
    nan = None
    try:
        train.train(cfg, train.parse_args(flags))
    except train.NonFiniteLossError as error:
        nan = error.report
    rows = train.read_metrics(out / "metrics.jsonl")

    checkpoint = next((p for p in (out / "last.pt", out / "last_good.pt") if p.exists()), None)
    checks, ratio = sample_checks(checkpoint, cfg)
    checks = [check_losses(rows, nan), check_gradients(rows), *checks]
    d_real, d_fake = trajectory(rows, "d_real"), trajectory(rows, "d_fake")
    checks.append(check_d_fake(cfg, d_fake["last"]))

    seconds = [r["seconds_per_step"] for r in rows if isinstance(r.get("seconds_per_step"), float)]
    samples = out / "samples" / "final.png"
    return Report(
        checks,
        steps_requested=args.steps,
        device=str(device),
        synthetic=args.synthetic,
        steps=len(rows),
        data_source=cfg["data"]["source"]["type"],
        d_real=d_real,
        d_fake=d_fake,
        d_fake_healthy=cfg["validation"].get("d_fake_healthy"),
        diversity_ratio=ratio,
        seconds_per_step=statistics.median(seconds) if seconds else None,
        cuda_max_memory_allocated_mib=(
            torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
        ),
        nan_report=nan,
        run=str(out),
        metrics=str(out / "metrics.jsonl"),
        samples=str(samples) if samples.exists() else None,
        checkpoint=str(checkpoint) if checkpoint else None,
    ).as_dict()


def crash_report(args: argparse.Namespace, error: BaseException) -> dict[str, Any]:
    """The report of a run that raised: one failed check, and the end of the traceback."""
    lines = traceback.format_exception(type(error), error, error.__traceback__)
    return Report(
        [check("no_crash", "fail", lines[-1].strip())],
        steps_requested=args.steps,
        device=args.device,
        synthetic=args.synthetic,
        error="\n".join("".join(lines).rstrip().splitlines()[-CRASH_LINES:]),
    ).as_dict()


def json_safe(value: Any) -> Any:
    """NaN and Inf are not JSON: they become the strings "nan", "inf" and "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _number(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}g}"


def format_report(report: dict[str, Any]) -> str:
    marks = {"pass": "PASS", "fail": "FAIL", "warn": "WARN", "skip": "SKIP"}
    lines = [f"{marks[c['status']]}  {c['name']}: {c['detail']}" for c in report["checks"]]
    for key in ("d_real", "d_fake"):
        t = report[key]
        lines.append(
            f"{key}: first {_number(t['first'])}, last {_number(t['last'])}, "
            f"min {_number(t['min'])}, max {_number(t['max'])}"
        )
    lines.append(
        f"{report['steps']}/{report['steps_requested']} steps on {report['device']}, "
        f"data {report['data_source'] or '?'}{' (--synthetic)' if report['synthetic'] else ''}, "
        f"{_number(report['seconds_per_step'])} s/step (median), "
        f"peak RSS {_number(report['peak_rss_mib'], 4)} MiB"
        + (
            f", CUDA peak {_number(report['cuda_max_memory_allocated_mib'], 4)} MiB"
            if report["cuda_max_memory_allocated_mib"] is not None
            else ""
        )
    )
    lines.append(f"metrics: {report['metrics']}; samples: {report['samples'] or 'none'}")
    verdict = "healthy" if report["healthy"] else f"UNHEALTHY: {', '.join(report['failed'])}"
    lines.append(verdict)
    return "\n".join(lines)


@contextlib.contextmanager
def exit_on_termination() -> Iterator[None]:
    """SIGTERM and SIGHUP end the run as Ctrl-C does, through every ``finally`` (the run
    folder's record among them); Python's default would exit on the spot. ganspec smoke
    sends SIGTERM when it times out or is stopped itself."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: FrameType | None) -> None:
        signal.signal(signum, signal.SIG_IGN)  # once: a second one must not cut the finally
        raise SystemExit(128 + signum)

    numbers = [getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n)]
    saved = {number: signal.signal(number, stop) for number in numbers}
    try:
        yield
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # With --json, stdout carries the JSON object alone: training's prints go to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with exit_on_termination(), quiet:
            report = health(load_config(args.config), args)
    except RunFolderError as error:  # the folder holds someone else's run: nothing was checked
        print(f"error: {error}", file=sys.stderr)
        return train.EXIT_RUN_FOLDER
    except Exception as error:  # the project failing its check, reported like any other
        traceback.print_exc()
        report = crash_report(args, error)
    if args.json:
        print(json.dumps(json_safe(report), allow_nan=False))
    else:
        print(format_report(report))
    return 0 if report["healthy"] else 1


if __name__ == "__main__":
    sys.exit(main())
