"""Train the GAN described by config.yaml.

    python train.py                          # one process: CUDA, MPS or CPU
    python train.py --max-steps 200          # stop after 200 steps (--resume goes on from there)
    python train.py --resume                 # continue exactly where runs/NAME/last.pt ended
    python train.py --overwrite              # start afresh; the old run moves to previous-<time>/
    torchrun --nproc_per_node 4 train.py     # data parallel over 4 GPUs (or CPU processes)

One step is ``d_steps_per_g_step`` updates of D, each on a fresh real batch, then one update
of G. G never sees real data: only D's scores of its own samples. Everything a run produces
goes to ``--out`` (default runs/NAME): metrics.jsonl, samples/, checkpoints, loss_curve.png.
A fresh run refuses a folder that holds a run: --resume continues it, --overwrite moves its
files into OUT/previous-<time>/ (nothing is deleted). Checkpoints are written atomically with
a sha256 beside each; --resume falls back to last_good.pt or the newest epoch checkpoint when
last.pt is damaged, and drops a torn last line of metrics.jsonl.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import math
import os
import sys
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import yaml
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel as DDP
from tqdm import tqdm

from checkpoints import (
    Progress,
    find_resume_checkpoint,
    read_checkpoint,
    rng_state,
    save_state,
    set_rng_state,
)
from config import load_config, resolve_device, seed_everything
from data import build_dataset, build_loader
from evaluate import Scorer
from losses import discriminator_loss, generator_loss, score_summary
from models import Discriminator, Generator, sample_labels, sample_latent
from plots import grid_columns, save_image_grid, save_loss_curve
from runfolder import RunFolderError, prepare_fresh, prune_epoch_checkpoints, read_log, trim_log
from storage import is_intact

EXIT_RUN_FOLDER = 2  # exit code when the run folder cannot be used as asked (the message says why)
EXIT_NON_FINITE = 3  # exit code when a NaN/Inf loss stopped the run


class NonFiniteLoss(Exception):
    """A loss was NaN or Inf before its update; raised inside a step, handled by train()."""

    def __init__(self, loss: str, value: float) -> None:
        super().__init__(f"{loss} is {value}")
        self.loss, self.value = loss, value


class NonFiniteLossError(RuntimeError):
    """train() stopped on a NaN/Inf loss (on_nan: stop or stop_and_save_last_good).

    nan_report.json in the run folder, and ``report`` here, say at which step and in which
    loss; last_good.pt holds the last finite weights. The command line exits with code 3.
    """

    def __init__(self, report: dict[str, Any]) -> None:
        super().__init__(f"{report['loss']} became {report['value']} at step {report['step']}")
        self.report = report


# --- setup -----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="default: ./config.yaml")
    parser.add_argument("--out", default=None, help="run folder; default runs/NAME")
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--resume",
        action="store_true",
        help="continue from OUT/last.pt (or, when it is damaged, last_good.pt or the newest "
        "epoch checkpoint)",
    )
    start.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh in an OUT that holds a run: its files move into "
        "OUT/previous-<time>/ (nothing is deleted)",
    )
    parser.add_argument("--max-steps", type=int, default=None, help="stop after N steps")
    parser.add_argument("--epochs", type=int, default=None, help="override training.epochs")
    parser.add_argument("--device", default=None, help="auto|cpu|cuda|mps (training.device)")
    parser.add_argument("--compile", action="store_true", help="torch.compile both networks")
    parser.add_argument("--workers", type=int, default=0, help="data loader processes")
    return parser.parse_args(argv)


@dataclass
class Distributed:
    """Where this process sits in a torchrun job; the defaults mean a single process."""

    rank: int = 0
    local_rank: int = 0
    world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Only the main process logs, draws samples and writes checkpoints."""
        return self.rank == 0


def setup_distributed(device: torch.device) -> Distributed:
    """Join the torchrun job described by RANK/WORLD_SIZE/LOCAL_RANK, if there is one."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return Distributed()
    info = Distributed(
        int(os.environ["RANK"]), int(os.environ["LOCAL_RANK"]), int(os.environ["WORLD_SIZE"])
    )
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info


# Optimizer settings that say how the update runs on this device, not what it computes.
IMPLEMENTATION_FLAGS = ("fused", "foreach", "capturable", "differentiable")


def make_optimizer(
    params: Any, spec: dict[str, Any], device: torch.device | None = None
) -> torch.optim.Optimizer:
    """Adam, as training.optimizers configures it.

    Adam(W) runs PyTorch's fused kernel on CPU and CUDA: one kernel for all parameters instead
    of a Python loop of small ops (same update rule)."""
    lr, betas, decay = spec["lr"], tuple(spec["betas"]), spec["weight_decay"]
    fused = device is not None and device.type in ("cpu", "cuda")
    return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=decay, fused=fused)


@dataclass
class GAN:
    """Everything a training step touches.

    ``generator`` and ``discriminator`` are the plain modules: they are saved, sampled and
    exported. ``g``/``d`` are what forward passes call: the same modules, compiled with
    --compile. ``g_ddp``/``d_ddp`` also wrap them in DistributedDataParallel under torchrun,
    for the network's own update, so its gradients are averaged across processes. Inside the
    other network's update a network runs without DDP: none of its gradients are wanted there.
    """

    generator: Generator
    discriminator: Discriminator
    g: nn.Module
    d: nn.Module
    g_ddp: nn.Module
    d_ddp: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler_g: torch.amp.GradScaler
    scaler_d: torch.amp.GradScaler
    autocast: Callable[[], AbstractContextManager[Any]]
    ema: Generator | None = None  # no training.ema
    # The last D step of a group leaves its fake batch (with G's graph) here for G's step,
    # as pytorch/examples dcgan does: one G forward per iteration instead of two.
    pending: tuple[Tensor, Tensor | None] | None = None
    # D has BatchNorm: real and fake batches go through it separately (score_real_and_fake).
    d_mixes_batch: bool = True


def build_gan(
    cfg: dict[str, Any],
    device: torch.device,
    distributed: Distributed | None = None,
    compile: bool = False,
) -> GAN:
    """Both networks on the device with their optimizers, AMP and optional compile/DDP."""
    distributed = distributed or Distributed()
    training = cfg["training"]
    generator, discriminator = Generator().to(device), Discriminator().to(device)
    cuda = device.type == "cuda"
    if cuda:  # NHWC is faster for convolutions on tensor cores
        generator = generator.to(memory_format=torch.channels_last)
        discriminator = discriminator.to(memory_format=torch.channels_last)
    g, d = generator, discriminator
    if compile:
        # D scores 2n samples in its own step and n in G's: two static graphs, no dynamic one
        g, d = torch.compile(generator), torch.compile(discriminator, dynamic=False)
    g_ddp, d_ddp = g, d
    if distributed.enabled:
        # Buffers (BatchNorm statistics) follow rank 0's at each DDP forward.
        ids = [distributed.local_rank] if cuda else None
        g_ddp, d_ddp = DDP(g, device_ids=ids), DDP(d, device_ids=ids)
    amp = training["amp"] if cuda else "off"  # mixed precision on CUDA only
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(amp)

    def autocast() -> AbstractContextManager[Any]:
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=dtype)

    optimizers = training["optimizers"]
    return GAN(
        generator=generator,
        discriminator=discriminator,
        g=g,
        d=d,
        g_ddp=g_ddp,
        d_ddp=d_ddp,
        opt_g=make_optimizer(generator.parameters(), optimizers["generator"], device),
        opt_d=make_optimizer(discriminator.parameters(), optimizers["discriminator"], device),
        # fp16 needs loss scaling against underflow; bf16 has float32's range and does not.
        scaler_g=torch.amp.GradScaler(device.type, enabled=amp == "fp16"),
        scaler_d=torch.amp.GradScaler(device.type, enabled=amp == "fp16"),
        autocast=autocast,
        d_mixes_batch=batch_statistics(discriminator),
    )


# --- one step --------------------------------------------------------------------------------


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def grad_norm(module: nn.Module) -> float:
    """The L2 norm of all gradients together: a cheap early warning of instability."""
    norms = [p.grad.detach().float().norm() for p in module.parameters() if p.grad is not None]
    return torch.stack(norms).norm().item() if norms else 0.0


def check_finite(loss: Tensor, name: str, distributed: Distributed) -> None:
    """Raise NonFiniteLoss before a NaN/Inf loss can reach the weights. Under torchrun every
    process learns if any had one, so they all stop (or skip) together."""
    finite = torch.isfinite(loss.detach()).to(torch.int32)
    if distributed.enabled:
        dist.all_reduce(finite, op=dist.ReduceOp.MIN)
    if not finite.item():
        raise NonFiniteLoss(name, loss.item())


def update(
    loss: Tensor,
    module: nn.Module,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    measure: bool,
) -> float:
    """Backward and one optimizer step; returns the gradient norm (nan unless measured)."""
    optimizer.zero_grad(set_to_none=True)
    scaler.scale(loss).backward()
    norm = math.nan
    if measure:
        scaler.unscale_(optimizer)  # measure the true gradients, not the scaled ones
        norm = grad_norm(module)
    scaler.step(optimizer)
    scaler.update()
    return norm


def batch_statistics(module: nn.Module) -> bool:
    """Whether the module has BatchNorm, which mixes the samples of a batch while training."""
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


def score_real_and_fake(
    gan: GAN, real: Tensor, fake: Tensor, labels: Tensor | None, fake_labels: Tensor | None
) -> tuple[Tensor, Tensor]:
    """D's scores of a real and a fake batch. Without BatchNorm, one forward of both together:
    the same function of each sample with half the calls and no gradient accumulation between
    them (spectral norm then runs one power iteration per D step, not two). With BatchNorm, two
    forwards, so real and fake batches keep their own statistics (as in DCGAN). Both batches
    hold whole packs, so no pack mixes real and fake samples.
    """
    pack = 1  # samples per D input (PacGAN)
    if len(real) != len(fake) or len(real) % pack:
        raise ValueError(f"real and fake batches must be equal multiples of pack={pack}")
    with gan.autocast():
        if gan.d_mixes_batch:
            return gan.d_ddp(real, labels), gan.d_ddp(fake, fake_labels)
        both_labels = None if labels is None else torch.cat([labels, fake_labels])
        scores = gan.d_ddp(torch.cat([real, fake]), both_labels)
    return scores[: len(scores) // 2], scores[len(scores) // 2 :]


def discriminator_step(
    gan: GAN,
    cfg: dict[str, Any],
    real: Tensor,
    labels: Tensor | None,
    step: int,
    distributed: Distributed | None = None,
    keep_fake: bool = False,
) -> dict[str, float]:
    """One update of D on a real batch and as many fresh samples of G (G is not updated).

    With ``keep_fake`` the samples keep G's graph and wait in ``gan.pending`` for the G step
    that follows; D itself only ever sees them detached.
    """
    distributed = distributed or Distributed()
    n = real.shape[0]
    fake_labels = sample_labels(n, real.device)
    latent = sample_latent(n, real.device)
    gan.pending = None
    if keep_fake:
        with gan.autocast():
            fake = gan.g_ddp(latent, fake_labels)
        gan.pending = (fake, fake_labels)
        fake = fake.detach()
    else:
        with torch.no_grad(), gan.autocast():
            fake = gan.g(latent, fake_labels)
    real_in, fake_in = real, fake.float()
    real_scores, fake_scores = score_real_and_fake(gan, real_in, fake_in, labels, fake_labels)
    loss = discriminator_loss(real_scores, fake_scores)
    adversarial = loss.detach()  # logged without R1, whose lazy n-fold steps would spike it
    check_finite(loss, "loss_d", distributed)
    norm = update(loss, gan.discriminator, gan.opt_d, gan.scaler_d, "grad_norm_d" in _logged(cfg))
    return {
        "loss_d": adversarial.item(),
        "d_real": score_summary(real_scores),
        "d_fake": score_summary(fake_scores),
        "grad_norm_d": norm,
    }


def generator_step(
    gan: GAN,
    cfg: dict[str, Any],
    batch_size: int,
    step: int,
    device: torch.device,
    distributed: Distributed | None = None,
) -> dict[str, float]:
    """One update of G from D's scores of G's own samples; note: no real data comes in.

    D's parameters stop requiring gradients meanwhile, so backward computes none for them
    and nothing here can change D's weights. Uses the samples the last D step left in
    ``gan.pending`` when there are any, fresh ones otherwise.
    """
    distributed = distributed or Distributed()
    set_requires_grad(gan.discriminator, False)
    try:
        if gan.pending is not None:
            (fake, labels), gan.pending = gan.pending, None
        else:
            labels = sample_labels(batch_size, device)
            with gan.autocast():
                fake = gan.g_ddp(sample_latent(batch_size, device), labels)
        with gan.autocast():
            scores = gan.d(fake, labels)
        loss = generator_loss(scores)
        check_finite(loss, "loss_g", distributed)
        norm = update(loss, gan.generator, gan.opt_g, gan.scaler_g, "grad_norm_g" in _logged(cfg))
    finally:
        set_requires_grad(gan.discriminator, True)
    return {"loss_g": loss.item(), "grad_norm_g": norm}


def _logged(cfg: dict[str, Any]) -> list[str]:
    return cfg["validation"]["log"]


# --- checkpoints -----------------------------------------------------------------------------


def checkpoint_state(gan: GAN, cfg: dict[str, Any], progress: Progress) -> dict[str, Any]:
    return {
        "config": cfg,  # sample.py and export.py rebuild the networks from it
        "generator": gan.generator.state_dict(),
        "discriminator": gan.discriminator.state_dict(),
        "ema": None,  # no training.ema
        "opt_g": gan.opt_g.state_dict(),
        "opt_d": gan.opt_d.state_dict(),
        "scaler_g": gan.scaler_g.state_dict(),
        "scaler_d": gan.scaler_d.state_dict(),
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


def load_checkpoint(path: Path, gan: GAN) -> Progress:
    """Restore networks, optimizers, scalers, EMA and RNG states from ``path``."""
    return apply_checkpoint(read_checkpoint(path), gan)


def apply_checkpoint(state: dict[str, Any], gan: GAN) -> Progress:
    gan.generator.load_state_dict(state["generator"])
    gan.discriminator.load_state_dict(state["discriminator"])
    load_optimizer_state(gan.opt_g, state["opt_g"])
    load_optimizer_state(gan.opt_d, state["opt_d"])
    for scaler, key in ((gan.scaler_g, "scaler_g"), (gan.scaler_d, "scaler_d")):
        if state[key]:  # empty when saved without fp16 loss scaling
            scaler.load_state_dict(state[key])
    set_rng_state(state["rng"])
    return Progress(**state["progress"])


def resume(out: Path, gan: GAN, limits: Progress, say: Callable[[str], None] = print) -> Progress:
    """Restore ``gan`` from the newest usable checkpoint in ``out``; return its progress."""
    state, path = find_resume_checkpoint(out, limits, say)
    try:
        return apply_checkpoint(state, gan)
    except (KeyError, IndexError, AttributeError, TypeError, RuntimeError, ValueError) as error:
        # its checksum holds: written so, by another config or version of this code
        raise RunFolderError(
            f"--resume: {path} cannot be restored into this run's networks, optimizers or RNG "
            f"states ({type(error).__name__}: {error}); resume with the config it was trained "
            "with, or start a fresh run"
        ) from None


# --- what a run shows ------------------------------------------------------------------------


@torch.no_grad()
def write_samples(
    gan: GAN, cfg: dict[str, Any], fixed: tuple[Tensor, Tensor | None], real: Any, path: Path
) -> None:
    """Samples from the same fixed noise every time (EMA weights if kept), so successive
    pictures show how G evolves; a scatter against real points for vector data."""
    model = gan.ema if gan.ema is not None else gan.generator
    was_training = model.training
    model.eval()
    z, labels = fixed
    fake = model(z, labels)
    model.train(was_training)
    nrow = grid_columns(len(z), cfg["data"]["classes"])  # conditional: a class per column
    save_image_grid(fake, path, cfg["data"]["range"], nrow=nrow)


def fixed_inputs(cfg: dict[str, Any], device: torch.device) -> tuple[Tensor, Tensor | None]:
    """Noise drawn once from its own seeded generator (training's RNG is untouched) and labels
    cycling through the classes."""
    n = cfg["validation"]["grid_size"]
    z = sample_latent(n, device, generator=torch.Generator().manual_seed(cfg["seed"]))
    classes = cfg["data"]["classes"]
    labels = (torch.arange(n) % classes).to(device) if classes else None
    return z, labels


def log_line(epoch: int, epochs: int, step: int, values: dict[str, float]) -> str:
    """The familiar line of the PyTorch DCGAN example."""
    return (
        f"[{epoch}/{epochs}][{step}] Loss_D: {values.get('loss_d', math.nan):.4f} "
        f"Loss_G: {values.get('loss_g', math.nan):.4f} D(x): {values.get('d_real', math.nan):.4f}"
        f" D(G(z)): {values.get('d_fake', math.nan):.4f}"
    )


def make_scorer(cfg: dict[str, Any]) -> Scorer | None:
    """The validation.fid scorer, or None (with the reason printed) when it cannot run here:
    training never stops for want of Inception weights."""
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
    """Score G (EMA weights if kept), append the result to scores.jsonl and print it."""
    score = scorer(gan.ema if gan.ema is not None else gan.generator, device)
    with open(out / "scores.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps({"step": step, "epoch": epoch, **score}) + "\n")
    shown = ", ".join(f"{k} {v:.4g}" for k, v in score.items() if isinstance(v, float))
    print(f"[{epoch}] score: {shown}", flush=True)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of metrics.jsonl or scores.jsonl; a torn last line (a crash mid-append) is
    left out, any other bad line raises RunFolderError."""
    return read_log(path)[0]


def write_loss_curve(out: Path) -> None:
    rows = read_metrics(out / "metrics.jsonl")
    curves = {k: [r.get(k, math.nan) for r in rows] for k in ("loss_d", "loss_g")}
    curves = {k: v for k, v in curves.items() if any(math.isfinite(x) for x in v)}
    save_loss_curve([r["step"] for r in rows], curves, out / "loss_curve.png")


# --- the loop --------------------------------------------------------------------------------


@dataclass
class EpochStats:
    """Running means for the end-of-epoch line and the D(fake) health check."""

    values: dict[str, list[float]] = field(default_factory=dict)
    healthy_steps: int = 0  # steps with D(G(z)) inside validation.d_fake_healthy

    def add(self, row: dict[str, float]) -> None:
        for key, value in row.items():
            self.values.setdefault(key, []).append(value)

    def means(self) -> dict[str, float]:
        return {k: sum(v) / len(v) for k, v in self.values.items() if v}


@dataclass
class Run:
    """One training run: what it trains, where it stands and where it writes. The loop's
    functions below take it and update it; nothing else carries state between steps."""

    cfg: dict[str, Any]
    args: argparse.Namespace
    device: torch.device
    distributed: Distributed
    gan: GAN
    loader: Any
    out: Path
    fixed: tuple[Tensor, Tensor | None]  # the noise (and labels) of every sample grid
    real: None  # no real points: images are not scatter-plotted
    scorer: Scorer | None
    total_steps: int  # G steps in training.epochs
    progress: Progress = field(default_factory=Progress)
    has_last_good: bool = False  # last_good.pt exists and checks out
    saved_step: int = -1  # the step last.pt holds
    last_values: dict[str, float] = field(default_factory=dict)
    started: float = 0.0  # when the loop started (after a resume)
    last_time: float = 0.0  # when the last step ended

    @property
    def main(self) -> bool:
        return self.distributed.is_main

    def reached_max_steps(self) -> bool:
        return self.args.max_steps is not None and self.progress.step >= self.args.max_steps


def prepare_out(out: Path, resume: bool, overwrite: bool = False) -> None:
    """A fresh run needs a folder without a previous run in it (--overwrite moves one aside);
    --resume keeps the folder as it is."""
    if resume:
        return
    moved = prepare_fresh(out, overwrite)
    if moved is not None:
        print(f"--overwrite: the previous run in {out} was moved to {moved}", flush=True)


def setup_device(cfg: dict[str, Any]) -> tuple[torch.device, Distributed]:
    """The configured device and, under torchrun, this process's place in the job."""
    device = resolve_device(cfg["training"]["device"])
    distributed = setup_distributed(device)
    if device.type == "cuda":
        device = torch.device("cuda", distributed.local_rank)
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
    return device, distributed


def start(cfg: dict[str, Any], args: argparse.Namespace) -> Run:
    """The run folder, both networks, the data and what the run shows, then (--resume) the
    state of the newest usable checkpoint."""
    device, distributed = setup_device(cfg)
    out = Path(args.out or Path("runs") / cfg["name"])
    if distributed.is_main:
        prepare_out(out, args.resume, args.overwrite)
    seed_everything(cfg["seed"])  # identical initial weights in every process
    gan = build_gan(cfg, device, distributed, args.compile or cfg["training"]["compile"])
    seed_everything(cfg["seed"] + distributed.rank)  # but each process draws its own noise
    dataset = build_dataset(cfg)
    loader = build_loader(cfg, dataset, distributed.rank, distributed.world_size, args.workers)
    if len(loader) == 0:
        raise ValueError("the data set is smaller than one batch")
    # G steps in training.epochs, whatever --max-steps says: a run stopped early and resumed
    # has the same schedule and resume limits as one that never stopped
    total_steps = cfg["training"]["epochs"] * len(loader)
    run = Run(
        cfg=cfg,
        args=args,
        device=device,
        distributed=distributed,
        gan=gan,
        loader=loader,
        out=out,
        fixed=fixed_inputs(cfg, device),
        real=None,
        scorer=make_scorer(cfg) if distributed.is_main else None,
        total_steps=total_steps,
    )
    if args.resume:
        restore(run)
    if run.main:
        with open(out / "run_config.yaml", "w", encoding="utf-8") as f:  # what this run used
            yaml.safe_dump(cfg, f, sort_keys=False)
    run.started = run.last_time = time.time()
    return run


def restore(run: Run) -> None:
    """Continue from the newest usable checkpoint: weights, optimizers, RNGs and progress; the
    logs are cut back to where it ends."""
    epochs, batches = run.cfg["training"]["epochs"], len(run.loader)
    limits = Progress(epochs, batches, run.total_steps, epochs * batches)
    run.progress = resume(run.out, run.gan, limits, print if run.main else lambda _: None)
    if run.distributed.enabled:  # the checkpoint holds the main process's RNG only
        seed = run.cfg["seed"] + run.distributed.rank + 1_000_003 * run.progress.step
        seed_everything(seed)
    if run.main:  # the logs end where the checkpoint does
        for log in ("metrics.jsonl", "scores.jsonl"):
            trim_log(run.out / log, run.progress.step)
    # last_good.pt counts only when it checks out; otherwise a NaN stop writes a new one
    run.has_last_good = is_intact(run.out / "last_good.pt")
    run.saved_step = run.progress.step


def non_finite(run: Run, bad: NonFiniteLoss, epoch: int) -> None:
    """on_nan: stop_and_save_last_good: write nan_report.json, keep the last good weights in
    last_good.pt, and raise NonFiniteLossError."""
    step, out = run.progress.step, run.out
    report = {
        "step": step,
        "epoch": epoch + 1,
        "loss": bad.loss,
        "value": str(bad.value),
        "on_nan": "stop_and_save_last_good",
        "reason": f"{bad.loss} became {bad.value} at step {step}",
    }
    if run.main:
        if not run.has_last_good and weights_finite(run.gan):
            # No checkpoint yet: keep the current weights, which no bad loss has touched.
            save_state([out / "last_good.pt"], checkpoint_state(run.gan, run.cfg, run.progress))
            run.has_last_good = True
        report["last_good"] = str(out / "last_good.pt") if run.has_last_good else None
        with open(out / "nan_report.json", "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)
        tqdm.write(f"stopping: {report['reason']}; see {out / 'nan_report.json'}")
    raise NonFiniteLossError(report)


def train_step(
    run: Run, real: Tensor, labels: Tensor | None, epoch: int
) -> dict[str, float] | None:
    """One D update on this batch, then one G update: the values to log."""
    gan, cfg, progress = run.gan, run.cfg, run.progress
    cuda = run.device.type == "cuda"  # NHWC on CUDA, as build_gan lays out the networks
    memory_format = torch.channels_last if cuda else torch.preserve_format
    real = real.to(run.device, non_blocking=True, memory_format=memory_format)
    labels = None  # unconditional: the loader's placeholder labels go unused
    try:
        d_values = discriminator_step(
            gan, cfg, real, labels, progress.step, run.distributed, keep_fake=True
        )
    except NonFiniteLoss as bad:
        non_finite(run, bad, epoch)
        d_values = {}
    progress.d_updates += 1
    try:
        g_values = generator_step(
            gan, cfg, real.shape[0], progress.step, run.device, run.distributed
        )
    except NonFiniteLoss as bad:
        non_finite(run, bad, epoch)
        g_values = {}
    progress.step += 1
    return {**d_values, **g_values}


def log_step(run: Run, values: dict[str, float], epoch: int, stats: EpochStats, bar: Any) -> None:
    """Time the step, add it to the epoch's means and (main process) to metrics.jsonl, the
    progress bar and, every log_every steps, the Loss_D/Loss_G line."""
    now = time.time()
    values = {**values, "seconds_per_step": now - run.last_time}
    run.last_time, run.last_values = now, values
    stats.add({key: value for key, value in values.items() if math.isfinite(value)})
    low, high = run.cfg["validation"]["d_fake_healthy"]
    if "d_fake" in values and low <= values["d_fake"] <= high:
        stats.healthy_steps += 1
    if not run.main:
        return
    row = {"step": run.progress.step, "epoch": epoch + 1}
    row |= {key: values[key] for key in _logged(run.cfg) if key in values}
    with open(run.out / "metrics.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")
    bar.set_postfix(loss_d=values.get("loss_d"), loss_g=values.get("loss_g"))
    if run.progress.step % run.cfg["validation"]["log_every"] == 0:
        tqdm.write(log_line(epoch + 1, run.cfg["training"]["epochs"], run.progress.step, values))


def train_epoch(run: Run, epoch: int) -> EpochStats | None:
    """One pass over the data: its stats, or None when --max-steps stopped it part-way."""
    progress, loader = run.progress, run.loader
    loader.sampler.set_epoch(epoch, start=progress.batch_in_epoch * loader.batch_size)
    stats = EpochStats()
    desc = f"epoch {epoch + 1}/{run.cfg['training']['epochs']}"
    with tqdm(loader, desc=desc, disable=not run.main, leave=False) as bar:
        for real, labels in bar:
            progress.batch_in_epoch += 1
            values = train_step(run, real, labels, epoch)
            log_step(run, values, epoch, stats, bar)
            if run.reached_max_steps():
                return None
    progress.epoch, progress.batch_in_epoch = epoch + 1, 0
    return stats


def end_epoch(run: Run, epoch: int, stats: EpochStats) -> None:
    """The main process's work after an epoch: the mean Loss_D/Loss_G line (and a warning
    when D(G(z)) left its healthy band), then samples, a score and a checkpoint at their
    configured intervals."""
    cfg, done, means = run.cfg, epoch + 1, stats.means()
    if means:
        line = log_line(done, cfg["training"]["epochs"], run.progress.step, means)
        print(f"{line} (epoch mean)", flush=True)
    band = cfg["validation"]["d_fake_healthy"]
    if stats.values and stats.healthy_steps == 0:
        print(
            f"warning: D(G(z)) stayed outside the healthy band {band} for the whole "
            f"epoch (mean {means.get('d_fake', math.nan):.3f}): D or G may be winning",
            flush=True,
        )
    every = cfg["validation"]["sample_grid_every"]
    if every and done % every == 0:
        write_samples(
            run.gan, cfg, run.fixed, run.real, run.out / "samples" / f"epoch_{done:04d}.png"
        )
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
    write_samples(run.gan, run.cfg, run.fixed, run.real, run.out / "samples" / "final.png")
    write_loss_curve(run.out)


def train(cfg: dict[str, Any], args: argparse.Namespace | None = None) -> dict[str, Any]:
    """Run training as configured (``args`` as parsed from the command line; None for the
    defaults); returns a summary. Raises NonFiniteLossError when a NaN/Inf loss stops the
    run, after writing nan_report.json and last_good.pt."""
    args = args or parse_args([])
    cfg = copy.deepcopy(cfg)
    if args.epochs is not None:
        cfg["training"]["epochs"] = args.epochs
    if args.device is not None:
        cfg["training"]["device"] = args.device
    run = start(cfg, args)
    try:
        for epoch in range(run.progress.epoch, cfg["training"]["epochs"]):
            if run.reached_max_steps():  # resumed at or past --max-steps
                break
            stats = train_epoch(run, epoch)
            if stats is None:  # --max-steps
                break
            if run.main:
                end_epoch(run, epoch, stats)
        if run.main:
            finish(run)
    finally:
        if run.distributed.enabled and dist.is_initialized():
            dist.destroy_process_group()
    return {
        "out": str(run.out),
        "steps": run.progress.step,
        "epochs": run.progress.epoch,
        "seconds": time.time() - run.started,
        "last": run.last_values,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = load_config(args.config)
    try:
        summary = train(cfg, args)
    except NonFiniteLossError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_NON_FINITE
    except RunFolderError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_RUN_FOLDER
    print(f"done: {summary['steps']} steps in {summary['seconds']:.1f} s; see {summary['out']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
