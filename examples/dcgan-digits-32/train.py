"""Train the GAN described by config.yaml.

    python train.py                       # one process: CUDA, MPS or CPU
    python train.py --max-steps 200       # stop after 200 steps (--resume goes on from there)
    python train.py --resume              # continue exactly where OUT/last.pt ended
    python train.py --overwrite           # start afresh; the old run moves to OUT/previous-<time>/
    torchrun --nproc_per_node 4 train.py  # data parallel over 4 GPUs (or CPU processes)

One step is one update of D on a real batch, then one update of G.
G never sees real data, only D's scores of its own samples. A run writes into --out (default
runs/NAME): metrics.jsonl, samples/, checkpoints with a sha256 beside each, loss_curve.png.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import torch
import torch.distributed as dist
import yaml
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from checkpoints import Progress, find_resume_checkpoint, rng_state, save_state, set_rng_state
from config import load_config, resolve_device, seed_everything
from data import build_dataset, build_loader
from evaluate import Scorer
from losses import discriminator_loss, generator_loss, score_summary
from models import Discriminator, Generator, sample_labels, sample_latent
from plots import save_image_grid, save_loss_curve
from runfolder import RunFolderError, prepare_fresh, prune_epoch_checkpoints, read_log, trim_log
from storage import is_intact

EXIT_RUN_FOLDER = 2  # the run folder cannot be used as asked (the message says why)
EXIT_NON_FINITE = 3  # a NaN/Inf loss stopped the run


class NonFiniteLoss(RuntimeError):
    """A NaN/Inf loss, raised in a step before its update; the one that stops the run carries
    nan_report.json's content as ``report`` (exit 3)."""

    def __init__(self, loss: str, value: float, report: dict[str, Any] | None = None) -> None:
        super().__init__(report["reason"] if report else f"{loss} is {value}")
        self.loss, self.value, self.report = loss, value, report


# --- setup -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="default: ./config.yaml")
    parser.add_argument("--out", help="run folder; default runs/NAME")
    start = parser.add_mutually_exclusive_group()
    start.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    start.add_argument("--overwrite", action="store_true", help="move a previous run aside")
    parser.add_argument("--max-steps", type=int, help="stop after N steps")
    parser.add_argument("--epochs", type=int, help="override training.epochs")
    parser.add_argument("--device", help="auto|cpu|cuda|mps (training.device)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes")
    return parser.parse_args(argv)


def setup_device(name: str) -> torch.device:
    """The device; under torchrun (WORLD_SIZE > 1) this process joins the job first."""
    device, local_rank = resolve_device(name), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda" and local_rank >= torch.cuda.device_count():
        raise SystemExit(
            f"error: torchrun started process {local_rank} of this node, which has "
            f"{torch.cuda.device_count()} GPU(s): give --nproc_per_node at most that"
        )
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return device


def rank() -> int:
    """This process's rank in a torchrun job (0 alone): only rank 0 logs, samples and saves."""
    return dist.get_rank() if dist.is_initialized() else 0


# DDP without a buffer broadcast at each forward (torch 2.13 renamed broadcast_buffers)
NO_FORWARD_BUFFER_SYNC = (
    {"forward_sync_buffers": False}
    if "forward_sync_buffers" in inspect.signature(DDP).parameters
    else {"broadcast_buffers": False}
)


# Optimizer settings that say how the update runs on this device, not what it computes.
IMPLEMENTATION_FLAGS = ("fused", "foreach", "capturable", "differentiable")


def make_optimizer(
    params: Any, spec: dict[str, Any], device: torch.device | None = None
) -> torch.optim.Optimizer:
    """Adam as configured; Adam(W) fused on CPU and CUDA (same update rule)."""
    lr, betas, decay = spec["lr"], tuple(spec["betas"]), spec["weight_decay"]
    fused = device is not None and device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=decay, fused=fused)


@dataclass
class GAN:
    """Everything a step touches. The contracts read only ``generator`` and ``discriminator``:
    the plain modules (saved, sampled, exported). The other fields are this implementation's:
    forwards call ``g``/``d`` (compiled with --compile), each network's own update calls
    ``g_ddp``/``d_ddp`` (wrapped in DDP under torchrun)."""

    generator: Generator
    discriminator: Discriminator
    g: nn.Module
    d: nn.Module
    g_ddp: nn.Module
    d_ddp: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    memory_format: torch.memory_format  # the networks' layout, which batches follow
    # the last D step of a group leaves its fake batch (with G's graph) for G's step, as
    # pytorch/examples dcgan does: one G forward per iteration instead of two
    pending: tuple[Tensor, Tensor | None] | None = None


def build_gan(cfg: dict[str, Any], device: torch.device, compile: bool = False) -> GAN:
    """Both networks on the device with their optimizers and optional compile/DDP."""
    generator, discriminator = Generator().to(device), Discriminator().to(device)
    # NHWC is faster for convolutions on tensor cores; not under --compile, whose backward
    # mispredicts channels_last ConvTranspose2d strides on CUDA (pytorch/pytorch#171622)
    memory_format = torch.preserve_format
    if device.type == "cuda" and not compile:
        memory_format = torch.channels_last
        generator = generator.to(memory_format=memory_format)
        discriminator = discriminator.to(memory_format=memory_format)
    g, d = generator, discriminator
    if compile:  # D scores 2n samples in its own step and n in G's: two static graphs
        g, d = torch.compile(generator), torch.compile(discriminator, dynamic=False)
    g_ddp, d_ddp = g, d
    if dist.is_initialized():  # buffers (BatchNorm statistics) follow rank 0's at each forward
        ids = [device.index] if device.type == "cuda" else None
        # but D's: it scores real and fake in two forwards before one backward, and a broadcast
        # at the second would overwrite statistics the first saved for backward (torch < 2.13
        # fails there); each process keeps its own, which only eval mode uses (rank 0's saved)
        g_ddp, d_ddp = DDP(g, device_ids=ids), DDP(d, device_ids=ids, **NO_FORWARD_BUFFER_SYNC)
    optimizers = cfg["training"]["optimizers"]
    return GAN(
        generator=generator,
        discriminator=discriminator,
        g=g,
        d=d,
        g_ddp=g_ddp,
        d_ddp=d_ddp,
        memory_format=memory_format,
        opt_g=make_optimizer(generator.parameters(), optimizers["generator"], device),
        opt_d=make_optimizer(discriminator.parameters(), optimizers["discriminator"], device),
    )


# --- one step --------------------------------------------------------------------------------


def grad_norm(module: nn.Module) -> float:
    """The L2 norm of all gradients together: a cheap early warning of instability."""
    norms = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


def check_finite(loss: Tensor, name: str) -> None:
    """Raise NonFiniteLoss before a NaN/Inf loss reaches the weights; under torchrun all
    processes learn if any had one, so they stop (or skip) together."""
    finite = torch.isfinite(loss.detach()).to(torch.int32)
    if dist.is_initialized():
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    if not finite.item():
        raise NonFiniteLoss(name, loss.item())


def update(
    loss: Tensor, module: nn.Module, optimizer: torch.optim.Optimizer, measure: bool
) -> float:
    """Backward and one optimizer step; returns the gradient norm (nan unless measured)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    norm = grad_norm(module) if measure else math.nan
    optimizer.step()
    return norm


def score_real_and_fake(
    gan: GAN, real: Tensor, fake: Tensor, labels: Tensor | None, fake_labels: Tensor | None
) -> tuple[Tensor, Tensor]:
    """D's scores of a real and a fake batch, in two forwards: D has BatchNorm, and each batch
    keeps its own statistics (as in DCGAN)."""
    return gan.d_ddp(real, labels), gan.d_ddp(fake, fake_labels)


def discriminator_step(
    gan: GAN,
    cfg: dict[str, Any],
    real: Tensor,
    labels: Tensor | None,
    step: int,
    keep_fake: bool = False,
) -> dict[str, float]:
    """One update of D on a real batch and as many fresh samples of G (G is not updated).
    With ``keep_fake`` the samples keep G's graph and wait in ``gan.pending`` for G's step;
    D only ever sees them detached."""
    n = real.shape[0]
    fake_labels = sample_labels(n, real.device)
    latent = sample_latent(n, real.device)
    gan.pending = None
    if keep_fake:
        fake = gan.g_ddp(latent, fake_labels)
        gan.pending = (fake, fake_labels)
        fake = fake.detach()
    else:
        with torch.no_grad():
            fake = gan.g(latent, fake_labels)
    real_in, fake_in = real, fake.float()
    real_scores, fake_scores = score_real_and_fake(gan, real_in, fake_in, labels, fake_labels)
    loss = discriminator_loss(real_scores, fake_scores)
    check_finite(loss, "loss_d")
    norm = update(loss, gan.discriminator, gan.opt_d, "grad_norm_d" in cfg["validation"]["log"])
    return {
        "loss_d": loss.item(),
        "d_real": score_summary(real_scores),
        "d_fake": score_summary(fake_scores),
        "grad_norm_d": norm,
    }


def generator_step(
    gan: GAN, cfg: dict[str, Any], batch_size: int, step: int, device: torch.device
) -> dict[str, float]:
    """One update of G from D's scores of G's own samples (those the last D step left in
    ``gan.pending``, else fresh ones); no real data comes in. D's parameters stop requiring
    gradients meanwhile, so nothing here can change D."""
    gan.discriminator.requires_grad_(False)
    try:
        if gan.pending is not None:
            (fake, labels), gan.pending = gan.pending, None
        else:
            labels = sample_labels(batch_size, device)
            fake = gan.g_ddp(sample_latent(batch_size, device), labels)
        scores = gan.d(fake, labels)
        loss = generator_loss(scores)
        check_finite(loss, "loss_g")
        norm = update(loss, gan.generator, gan.opt_g, "grad_norm_g" in cfg["validation"]["log"])
    finally:
        gan.discriminator.requires_grad_(True)
    return {"loss_g": loss.item(), "grad_norm_g": norm}


# --- checkpoints -----------------------------------------------------------------------------


def checkpoint_state(gan: GAN, cfg: dict[str, Any], progress: Progress) -> dict[str, Any]:
    return {
        "config": cfg,  # sample.py and export.py rebuild the networks from it
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "ema": None,  # no training.ema
        "opt_g": gan.opt_g.state_dict(),
        "opt_d": gan.opt_d.state_dict(),
        "progress": asdict(progress),
        "rng": rng_state(),
    }


def weights_finite(gan: GAN) -> bool:
    tensors = [*gan.generator.state_dict().values(), *gan.discriminator.state_dict().values()]
    return all(torch.isfinite(t).all() for t in tensors if t.is_floating_point())


def save_checkpoint(
    out: Path, gan: GAN, cfg: dict[str, Any], progress: Progress, name: str = "last.pt"
) -> None:
    """``name``, last.pt and, when every weight is finite, last_good.pt (renamed last: a crash
    spares it) as separate files; then prune the epoch checkpoints."""
    names = dict.fromkeys([name, "last.pt", *(["last_good.pt"] if weights_finite(gan) else [])])
    save_state([out / each for each in names], checkpoint_state(gan, cfg, progress))
    prune_epoch_checkpoints(out, cfg["training"]["keep_checkpoints"])


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: dict[str, Any]) -> None:
    """Moments and step counts from a checkpoint, but this device's implementation flags (fp16
    loss scaling fails on a fused Adam given a non-fused one's); the moments are cloned, so they
    do not keep the checkpoint's memory-mapped file open all run."""
    kept = [{k: g[k] for k in IMPLEMENTATION_FLAGS if k in g} for g in optimizer.param_groups]
    optimizer.load_state_dict(state)
    for group, flags in zip(optimizer.param_groups, kept, strict=True):
        group.update(flags)
    for values in optimizer.state.values():
        values.update({k: v.clone() for k, v in values.items() if isinstance(v, Tensor)})


def resume(out: Path, gan: GAN, limits: Progress, say: Callable[[str], None] = print) -> Progress:
    """Restore ``gan`` from the newest usable checkpoint in ``out``; return its progress."""
    state, path = find_resume_checkpoint(out, limits, say)
    try:
        gan.generator.load_state_dict(state["generator"])
        gan.discriminator.load_state_dict(state["discriminator"])
        load_optimizer_state(gan.opt_g, state["opt_g"])
        load_optimizer_state(gan.opt_d, state["opt_d"])
        set_rng_state(state["rng"])
    except (KeyError, IndexError, AttributeError, TypeError, RuntimeError, ValueError) as error:
        # its checksum holds: written so, by another config or version of this code
        raise RunFolderError(
            f"--resume: {path} cannot be restored into this run's networks, optimizers or RNG "
            f"states ({type(error).__name__}: {error}); resume with the config it was trained "
            "with, or start a fresh run"
        ) from None
    return Progress(**state["progress"])


# --- what a run shows ------------------------------------------------------------------------


@torch.no_grad()
def write_samples(run: Run, path: Path) -> None:
    """Samples of the same fixed noise, so successive grids show how G evolves."""
    fake = run.gan.generator.eval()(*run.fixed)
    run.gan.generator.train()
    save_image_grid(fake, path, run.cfg["data"]["range"])


def fixed_inputs(cfg: dict[str, Any], device: torch.device) -> tuple[Tensor, Tensor | None]:
    """Noise from its own seeded generator: training's RNG is untouched."""
    n = cfg["validation"]["grid_size"]
    seeded = torch.Generator().manual_seed(cfg["seed"])
    return sample_latent(n, device, seeded), None


def log_line(epoch: int, epochs: int, step: int, values: dict[str, float]) -> str:
    """The familiar line of the PyTorch DCGAN example."""
    loss_d, loss_g, d_x, d_gz = (
        values.get(k, math.nan) for k in ("loss_d", "loss_g", "d_real", "d_fake")
    )
    return (
        f"[{epoch}/{epochs}][{step}] Loss_D: {loss_d:.4f} Loss_G: {loss_g:.4f} "
        f"D(x): {d_x:.4f} D(G(z)): {d_gz:.4f}"
    )


def make_scorer(cfg: dict[str, Any]) -> Scorer | None:
    """The validation.fid scorer, or None (saying why) when it cannot run here: training
    never stops for want of what scoring needs (weights, held-out data)."""
    if cfg["validation"]["fid"] is None:  # scoring switched off in config.yaml
        return None
    try:
        return Scorer(cfg)
    except ValueError as error:
        print(f"warning: validation.fid is skipped: {error}", flush=True)
        return None


def write_score(
    scorer: Scorer, gan: GAN, device: torch.device, out: Path, epoch: int, step: int
) -> None:
    """Score G, append the result to scores.jsonl and print it."""
    score = scorer(gan.generator, device)
    with open(out / "scores.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, "epoch": epoch, **score}) + "\n")
    shown = ", ".join(f"{k} {v:.4g}" for k, v in score.items() if isinstance(v, float))
    print(f"[{epoch}] score: {shown}", flush=True)


# --- the loop --------------------------------------------------------------------------------


@dataclass
class Run:
    """One training run: what it trains, where it stands and where it writes. The loop's
    functions below take it and update it; nothing else carries state between steps."""

    cfg: dict[str, Any]
    args: argparse.Namespace
    device: torch.device
    rank: int  # in the torchrun job; 0 alone
    gan: GAN
    loader: Any
    out: Path
    fixed: tuple[Tensor, Tensor | None]  # the noise (and labels) of every sample picture
    scorer: Scorer | None
    total_steps: int  # G steps in training.epochs
    progress: Progress = field(default_factory=Progress)
    has_last_good: bool = False  # last_good.pt exists and checks out
    saved_step: int = -1  # the step last.pt holds
    started: float = 0.0  # when the loop started (after a resume)
    last_time: float = 0.0  # when the last step ended

    @property
    def main(self) -> bool:  # only the main process logs, samples and writes checkpoints
        return self.rank == 0

    def reached_max_steps(self) -> bool:
        return self.args.max_steps is not None and self.progress.step >= self.args.max_steps


def start(cfg: dict[str, Any], args: argparse.Namespace) -> Run:
    """The run folder, both networks, the data, then (--resume) the newest usable checkpoint."""
    device = setup_device(cfg["training"]["device"])
    out = Path(args.out or Path("runs") / cfg["name"])
    if rank() == 0 and not args.resume:  # a fresh run needs a folder without one
        moved = prepare_fresh(out, args.overwrite)
        if moved is not None:
            print(f"--overwrite: the previous run in {out} was moved to {moved}", flush=True)
    seed_everything(cfg["seed"])  # identical initial weights in every process
    gan = build_gan(cfg, device, args.compile or cfg["training"]["compile"])
    seed_everything(cfg["seed"] + rank())  # but each process draws its own noise
    dataset = build_dataset(cfg)
    world_size = dist.get_world_size() if dist.is_initialized() else 1
    loader = build_loader(cfg, dataset, rank(), world_size, args.workers)
    if len(loader) == 0:
        raise ValueError("the data set is smaller than one batch")
    run = Run(
        cfg=cfg,
        args=args,
        device=device,
        rank=rank(),
        gan=gan,
        loader=loader,
        out=out,
        fixed=fixed_inputs(cfg, device),
        scorer=make_scorer(cfg) if rank() == 0 else None,
        # G steps in training.epochs whatever --max-steps says: a run stopped early and
        # resumed keeps the schedule and resume limits of one that never stopped
        total_steps=cfg["training"]["epochs"] * len(loader),
    )
    if args.resume:
        restore(run)
    if run.main:
        with open(out / "run_config.yaml", "w", encoding="utf-8") as f:  # what this run used
            yaml.safe_dump(cfg, f, sort_keys=False)
    run.started = run.last_time = time.time()
    return run


def restore(run: Run) -> None:
    """Weights, optimizers, RNGs and progress from the newest usable checkpoint; the logs are
    cut back to where it ends."""
    epochs, batches = run.cfg["training"]["epochs"], len(run.loader)
    limits = Progress(epochs, batches, run.total_steps, epochs * batches)
    run.progress = resume(run.out, run.gan, limits, print if run.main else lambda _: None)
    if dist.is_initialized():  # the checkpoint holds the main process's RNG only
        seed_everything(run.cfg["seed"] + run.rank + 1_000_003 * run.progress.step)
    if run.main:
        for log in ("metrics.jsonl", "scores.jsonl"):
            trim_log(run.out / log, run.progress.step)
    # last_good.pt counts only when it checks out; otherwise a NaN stop writes a new one
    run.has_last_good = is_intact(run.out / "last_good.pt")
    run.saved_step = run.progress.step


def non_finite(run: Run, bad: NonFiniteLoss, epoch: int) -> NoReturn:
    """on_nan: stop_and_save_last_good: write nan_report.json, keep the last good weights in
    last_good.pt, and stop the run."""
    step, out = run.progress.step, run.out
    reason = f"{bad.loss} became {bad.value} at step {step}"
    report = {"step": step, "epoch": epoch + 1, "loss": bad.loss, "value": str(bad.value)}
    report |= {"on_nan": "stop_and_save_last_good", "reason": reason}
    if run.main:
        if not run.has_last_good and weights_finite(run.gan):
            # no checkpoint yet: keep the current weights, which no bad loss has touched
            save_state([out / "last_good.pt"], checkpoint_state(run.gan, run.cfg, run.progress))
            run.has_last_good = True
        report["last_good"] = str(out / "last_good.pt") if run.has_last_good else None
        with open(out / "nan_report.json", "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        tqdm.write(f"stopping: {reason}; see {out / 'nan_report.json'}")
    raise NonFiniteLoss(bad.loss, bad.value, report)


def train_step(
    run: Run, real: Tensor, labels: Tensor | None, epoch: int
) -> dict[str, float] | None:
    """One D update on this batch, then one G update: the values to log."""
    gan, cfg, progress = run.gan, run.cfg, run.progress
    real = real.to(run.device, non_blocking=True, memory_format=gan.memory_format)
    labels = None  # unconditional: the loader's placeholder labels go unused
    try:  # a NaN/Inf loss in either update stops the run
        d_values = discriminator_step(gan, cfg, real, labels, progress.step, keep_fake=True)
        progress.d_updates += 1
        g_values = generator_step(gan, cfg, real.shape[0], progress.step, run.device)
    except NonFiniteLoss as bad:
        non_finite(run, bad, epoch)
    progress.step += 1
    return {**d_values, **g_values}


def log_step(
    run: Run, values: dict[str, float], epoch: int, means: dict[str, list[float]], bar: Any
) -> None:
    """Time the step, add it to the epoch's ``means`` and (main process) to metrics.jsonl,
    the progress bar and, every log_every steps, the Loss_D/Loss_G line."""
    now = time.time()
    values = {**values, "seconds_per_step": now - run.last_time}
    run.last_time = now
    for key, value in values.items():
        if math.isfinite(value):
            means.setdefault(key, []).append(value)
    if not run.main:
        return
    row = {"step": run.progress.step, "epoch": epoch + 1}
    row |= {key: values[key] for key in run.cfg["validation"]["log"] if key in values}
    with open(run.out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    bar.set_postfix(loss_d=values.get("loss_d"), loss_g=values.get("loss_g"))
    if run.progress.step % run.cfg["validation"]["log_every"] == 0:
        tqdm.write(log_line(epoch + 1, run.cfg["training"]["epochs"], run.progress.step, values))


def train_epoch(run: Run, epoch: int) -> dict[str, list[float]] | None:
    """One pass over the data: every logged value of its steps, or None when --max-steps
    stopped it part-way."""
    progress, loader = run.progress, run.loader
    loader.sampler.set_epoch(epoch, start=progress.batch_in_epoch * loader.batch_size)
    values: dict[str, list[float]] = {}
    desc = f"epoch {epoch + 1}/{run.cfg['training']['epochs']}"
    with tqdm(loader, desc=desc, disable=not run.main, leave=False) as bar:
        for real, labels in bar:
            progress.batch_in_epoch += 1
            step_values = train_step(run, real, labels, epoch)
            log_step(run, step_values, epoch, values, bar)
            if run.reached_max_steps():
                return None
    progress.epoch, progress.batch_in_epoch = epoch + 1, 0
    return values


def end_epoch(run: Run, epoch: int, values: dict[str, list[float]]) -> None:
    """The main process's work after an epoch: the mean Loss_D/Loss_G line (and a warning
    when D(G(z)) never was in its healthy band), then samples, a score and a checkpoint."""
    cfg, done = run.cfg, epoch + 1
    means = {key: sum(v) / len(v) for key, v in values.items()}
    if means:
        line = log_line(done, cfg["training"]["epochs"], run.progress.step, means)
        print(f"{line} (epoch mean)", flush=True)
    low, high = band = cfg["validation"]["d_fake_healthy"]
    if values.get("d_fake") and not any(low <= v <= high for v in values["d_fake"]):
        print(
            f"warning: D(G(z)) stayed outside the healthy band {band} for the whole epoch "
            f"(mean {means['d_fake']:.3f}): D or G may be winning",
            flush=True,
        )
    every = cfg["validation"]["sample_grid_every"]
    if every and done % every == 0:
        write_samples(run, run.out / "samples" / f"epoch_{done:04d}.png")
    if run.scorer is not None and done % cfg["validation"]["fid"]["every"] == 0:
        write_score(run.scorer, run.gan, run.device, run.out, done, run.progress.step)
    every = cfg["training"]["checkpoint_every"]
    if every and done % every == 0:
        save_checkpoint(run.out, run.gan, cfg, run.progress, f"epoch_{done:04d}.pt")
        run.saved_step = run.progress.step
        run.has_last_good = run.has_last_good or (run.out / "last_good.pt").exists()


def finish(run: Run) -> None:
    """last.pt (unless the last epoch's checkpoint is it), the final samples, the loss curve."""
    if run.saved_step != run.progress.step:
        save_checkpoint(run.out, run.gan, run.cfg, run.progress)
    write_samples(run, run.out / "samples" / "final.png")
    rows, _ = read_log(run.out / "metrics.jsonl")  # a torn last line is dropped
    curves = {k: [r.get(k, math.nan) for r in rows] for k in ("loss_d", "loss_g")}
    curves = {k: v for k, v in curves.items() if any(math.isfinite(x) for x in v)}
    save_loss_curve([r["step"] for r in rows], curves, run.out / "loss_curve.png")


def train(cfg: dict[str, Any], args: argparse.Namespace | None = None) -> Run:
    """Train as configured (``args`` as parsed from the command line; None for the defaults)
    and return the finished run; NonFiniteLoss when a NaN/Inf loss stops it."""
    args = args or parse_args([])
    cfg = copy.deepcopy(cfg)
    overrides = {"epochs": args.epochs, "device": args.device}
    cfg["training"].update({key: value for key, value in overrides.items() if value is not None})
    run = start(cfg, args)
    try:
        for epoch in range(run.progress.epoch, cfg["training"]["epochs"]):
            if run.reached_max_steps():  # resumed at or past --max-steps
                break
            values = train_epoch(run, epoch)
            if values is None:  # --max-steps
                break
            if run.main:
                end_epoch(run, epoch, values)
        if run.main:
            finish(run)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return run


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config)
    try:
        run = train(cfg, args)
    except (NonFiniteLoss, RunFolderError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NON_FINITE if isinstance(error, NonFiniteLoss) else EXIT_RUN_FOLDER
    print(f"done: {run.progress.step} steps in {time.time() - run.started:.1f} s; see {run.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
