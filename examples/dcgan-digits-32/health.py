"""A short run's health report: ``python health.py [--steps 6] [--json] [--synthetic]``.

Checks finite losses, non-zero gradients, G's output shape and range and mode collapse after a
few steps; a crash is a failed check. Exit 0 healthy, 1 not, 2 when the run folder holds a run
this script did not record in its health.json (--overwrite moves that run aside).
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
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import torch
from torch import Tensor
from torch.utils.data import TensorDataset

import train
from config import load_config, resolve_device
from models import Generator, load_generator, sample_latent
from runfolder import RunFolderError, read_log, run_files
from storage import CorruptFile, move_aside, write_atomic

SHAPE = (1, 32, 32)  # data.shape
LOW, HIGH = -1.0, 1.0  # data.range
LOGGED = ["loss_g", "loss_d", "d_real", "d_fake", "grad_norm_g", "grad_norm_d", "seconds_per_step"]
LOSS_CEILING = 1e4  # |loss| this large is diverging: float32 overflows a few steps later
COLLAPSE_BELOW = 0.1  # generated / real spread under this is mode collapse...
SHRUNK_BELOW = 0.5  # ...when it is also under half of an untrained G's
SAMPLES = 128  # generated and real samples compared pairwise
RECORD = "health.json"  # the files the last health run left


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="A short training run's health report.")
    parser.add_argument("--config", default=None, help="default: ./config.yaml")
    parser.add_argument("--steps", type=int, default=6, help="training steps")
    parser.add_argument("--device", default="auto", help="auto|cpu|cuda|mps")
    parser.add_argument("--out", default="runs/dcgan_digits_32_health", help="the run folder")
    parser.add_argument("--overwrite", action="store_true", help="move another run in OUT aside")
    parser.add_argument("--synthetic", action="store_true", help="random data, not data.source")
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def fingerprint(out: Path) -> bytes:
    """What health.json records: name, size and modification time of each run file in ``out``."""
    stats = {str(p.relative_to(out)): p.stat() for p in run_files(out)}
    return json.dumps({name: [s.st_size, s.st_mtime_ns] for name, s in stats.items()}).encode()


def take_over(out: Path, overwrite: bool) -> None:
    """Delete the previous health run's files while they are exactly as it recorded them; any
    other run (a killed health run's too) is refused, or moved aside with ``overwrite``."""
    files, record = run_files(out), out / RECORD
    if files and record.is_file() and record.read_bytes() == fingerprint(out):
        for path in files:
            path.unlink()
    elif files and overwrite:
        print(f"--overwrite: the run in {out} was moved to {move_aside(out, files)}", flush=True)
    elif files:
        raise RunFolderError(
            f"{out} holds a run health.py did not record (another run, or a killed health run); "
            f"pass another --out, or --overwrite to move it into {out / 'previous-<time>'}/"
        )


def synthetic_data(cfg: dict[str, Any]) -> TensorDataset:
    """--synthetic: 1024 seeded random samples of the data's shape, in place of data.source."""
    generator = torch.Generator().manual_seed(cfg["seed"])
    x = LOW + (HIGH - LOW) * torch.rand(1024, *SHAPE, generator=generator)
    return TensorDataset(x, torch.zeros(1024, dtype=torch.long))


@torch.no_grad()
def generated(generator: Generator, n: int, seed: int) -> Tensor:
    """n samples from seeded noise, so two Gs compare fairly. In training mode: a few steps in,
    BatchNorm's running statistics are still far from the batch statistics G trains with."""
    noise = torch.Generator().manual_seed(seed)
    return generator.train()(sample_latent(n, generator=noise)).float()


def real(cfg: dict[str, Any], n: int) -> Tensor:
    """n real samples, drawn without replacement by a seeded generator."""
    data = train.build_dataset(cfg)
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(cfg["seed"]))
    return torch.stack([data[int(i)][0] for i in order[:n]]).float()


def spread(x: Tensor) -> float:
    """The mean distance between two different samples of a batch."""
    flat = x.flatten(1).double()
    return (torch.cdist(flat, flat).sum() / (len(flat) * (len(flat) - 1))).item()


def check(name: str, status: str, detail: str) -> dict[str, str]:
    """status: pass, fail, warn (worth a look, not a failure) or skip (could not be checked)."""
    return {"name": name, "status": status, "detail": detail}


def check_logged(
    name: str,
    rows: list[dict[str, Any]],
    keys: tuple[str, str],
    what: str,
    ok: Callable[[float], bool],
) -> dict[str, str]:
    """Fails on a logged value of ``keys`` that is missing or not ``ok`` (``what`` says it)."""
    bad = [
        f"{key} = {row.get(key)} at step {row['step']}"
        for row in rows
        for key in keys
        if not (isinstance(row.get(key), float) and ok(row[key]))
    ]
    if bad or not rows:
        return check(name, "fail" if bad else "skip", "; ".join(bad[:3]) or "no step logged")
    return check(name, "pass", f"{' and '.join(keys)} {what} on all {len(rows)} steps")


def sample_checks(
    cfg: dict[str, Any], checkpoint: Path | None
) -> tuple[list[dict[str, str]], float | None]:
    """G's output shape and range, and its spread against real data's (the collapse ratio)."""
    names = ("output_shape", "output_range", "not_collapsed")
    if checkpoint is None:
        return [check(name, "skip", "no checkpoint to sample from") for name in names], None
    try:
        trained, _ = load_generator(checkpoint, use_ema=False)  # G as trained, not its EMA
    except CorruptFile as error:  # written moments ago: the project's storage is broken
        skipped = [check(name, "skip", "no checkpoint to trust") for name in names]
        return [check("checkpoint_intact", "fail", str(error)), *skipped], None
    n = max(2, min(cfg["data"]["batch_size"], SAMPLES))
    fake = generated(trained, n, cfg["seed"])
    low, high = fake.min().item(), fake.max().item()
    inside = low >= LOW - 1e-6 and high <= HIGH + 1e-6
    values = f"G's values lie in [{low:.3g}, {high:.3g}], data.range is [{LOW}, {HIGH}]"
    shaped = fake.shape[1:] == SHAPE
    shape = f"G gives {list(fake.shape[1:])}, data is {list(SHAPE)}"
    checks = [
        check("output_shape", "pass" if shaped else "fail", shape),
        check("output_range", "pass" if inside else "fail", values),
    ]
    if not (shaped and inside):
        return [*checks, check("not_collapsed", "skip", "G's output is unusable")], None
    with torch.random.fork_rng():
        torch.manual_seed(cfg["seed"])  # as train.py seeds G's first weights
        untrained = Generator()
    real_spread = spread(real(cfg, n))
    ratio = spread(fake) / real_spread
    untrained_ratio = spread(generated(untrained, n, cfg["seed"])) / real_spread
    return [*checks, check_collapse(ratio, untrained_ratio)], ratio


def check_collapse(ratio: float, untrained: float) -> dict[str, str]:
    """Collapse is G's spread shrinking under training. A G without normalization may start far
    more compact than wide data, which a few steps do not undo: worth a look, not a failure."""
    detail = f"generated/real mean pairwise distance {ratio:.3g} (untrained G: {untrained:.3g})"
    if ratio >= COLLAPSE_BELOW:
        return check("not_collapsed", "pass", detail)
    if not ratio >= SHRUNK_BELOW * untrained:  # NaN fails too
        return check("not_collapsed", "fail", f"{detail}: shrinking, mode collapse")
    return check("not_collapsed", "warn", f"{detail}: no more compact than at initialization")


def trajectory(rows: list[dict[str, Any]], key: str) -> dict[str, float | None]:
    """First, last, min and max of a logged value over the run (finite values only)."""
    values = [row[key] for row in rows if math.isfinite(row.get(key, math.nan))]
    if not values:
        return dict.fromkeys(("first", "last", "min", "max"))
    return {"first": values[0], "last": values[-1], "min": min(values), "max": max(values)}


def peak_rss_mib() -> float | None:
    """This process's peak resident memory (ru_maxrss: KiB on Linux, bytes on macOS)."""
    if sys.platform == "win32":
        return None
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def run_and_check(cfg: dict[str, Any], args: argparse.Namespace, out: Path) -> dict[str, Any]:
    """Train ``args.steps`` steps into ``out``; the report (ganspec/smoke.py, HealthReport)."""
    device = resolve_device(args.device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    nan = None
    try:
        flags = ["--out", str(out), "--max-steps", str(args.steps), "--device", args.device]
        train.train(cfg, train.parse_args(flags))
    except train.NonFiniteLoss as error:
        nan = error.report
    rows, _ = read_log(out / "metrics.jsonl")
    losses = check_logged(
        "losses_finite", rows, ("loss_d", "loss_g"), "finite", lambda v: abs(v) < LOSS_CEILING
    )
    if nan is not None:
        losses = check("losses_finite", "fail", f"training stopped: {nan['reason']}")
    grads = ("grad_norm_g", "grad_norm_d")
    gradients = check_logged(
        "gradients_nonzero", rows, grads, "finite and > 0", lambda v: 0 < v < math.inf
    )
    checkpoint = next((p for p in (out / "last.pt", out / "last_good.pt") if p.exists()), None)
    sampled, ratio = sample_checks(cfg, checkpoint)
    checks = [losses, gradients, *sampled]
    d_fake = trajectory(rows, "d_fake")
    band, last = cfg["validation"]["d_fake_healthy"], d_fake["last"]
    if last is not None:  # one short run cannot judge a band meant for a whole epoch: a warning
        detail = f"last D(G(z)) {last:.3f}, healthy band {band}"
        checks.append(
            check("d_fake_in_band", "pass" if band[0] <= last <= band[1] else "warn", detail)
        )
    failed = [c["name"] for c in checks if c["status"] == "fail"]
    seconds = [row["seconds_per_step"] for row in rows]
    samples = out / "samples" / "final.png"
    return {
        "healthy": not failed,
        "failed": failed,
        "checks": checks,
        "steps": len(rows),
        "steps_requested": args.steps,
        "device": str(device),
        "synthetic": args.synthetic,
        "data_source": "synthetic" if args.synthetic else "digits",
        "d_real": trajectory(rows, "d_real"),
        "d_fake": d_fake,
        "d_fake_healthy": band,
        "diversity_ratio": ratio,
        "seconds_per_step": statistics.median(seconds) if seconds else None,
        "peak_rss_mib": peak_rss_mib(),
        "cuda_max_memory_allocated_mib": (
            torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None
        ),
        "nan_report": nan,
        "run": str(out),
        "metrics": str(out / "metrics.jsonl"),
        "samples": str(samples) if samples.exists() else None,
        "checkpoint": str(checkpoint) if checkpoint else None,
    }


def health(cfg: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The report of a run in ``args.out``. The files it leaves are recorded however it ends (a
    crash, Ctrl-C or SIGTERM included), so that the next health run may replace them."""
    cfg = copy.deepcopy(cfg)
    cfg["validation"].update(log=LOGGED, log_every=1)
    cfg["validation"]["fid"] = None  # a few steps never reach a score: build no scorer
    out = Path(args.out)
    take_over(out, args.overwrite)
    out.mkdir(parents=True, exist_ok=True)
    synthetic = mock.patch.object(train, "build_dataset", synthetic_data)
    try:
        with synthetic if args.synthetic else contextlib.nullcontext():
            return run_and_check(cfg, args, out)
    finally:
        write_atomic(out / RECORD, fingerprint(out))


def stop(signum: int, _frame: object) -> None:
    """SIGTERM and SIGHUP (how ganspec smoke stops this) exit as Ctrl-C does, through every
    ``finally`` (health.json's too), where Python's default would exit on the spot."""
    signal.signal(signum, signal.SIG_IGN)  # once: a second one must not cut the finally short
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for name in ("SIGTERM", "SIGHUP"):  # no SIGHUP on Windows
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), stop)
    # With --json, stdout carries the JSON object alone: training's prints go to stderr.
    quiet = contextlib.redirect_stdout(sys.stderr) if args.json else contextlib.nullcontext()
    try:
        with quiet:
            report = health(load_config(args.config), args)
    except RunFolderError as error:  # the folder holds someone else's run: nothing was checked
        print(f"error: {error}", file=sys.stderr)
        return train.EXIT_RUN_FOLDER
    except Exception as error:  # the project failing its check, reported like any other
        lines = traceback.format_exception(error)
        print("".join(lines), file=sys.stderr)
        crash = check("no_crash", "fail", lines[-1].strip())
        tail = "\n".join("".join(lines).rstrip().splitlines()[-12:])
        report = {"healthy": False, "failed": ["no_crash"], "checks": [crash], "error": tail}
    if args.json:
        print(json.dumps(report))
    else:
        for c in report["checks"]:
            print(f"{c['status'].upper()}  {c['name']}: {c['detail']}")
        print("healthy" if report["healthy"] else f"UNHEALTHY: {', '.join(report['failed'])}")
    return 0 if report["healthy"] else 1


if __name__ == "__main__":
    sys.exit(main())
