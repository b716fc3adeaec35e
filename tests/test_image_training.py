"""The rendered train.py holds only what its spec selects: the optimizer types, EMA,
instance noise, lr schedule, D-step grouping, healthy-band check, NaN policy, mixed precision,
one or two D forwards per step and 2-D plots appear exactly when the spec asks for them
(ganspec/render/image_training.py decides)."""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ganspec.render.pipeline import render_files
from tests.conftest import DELETE, validate_mutation
from tests.project_imports import project_imports
from tests.rendered import write_files

BASE = "mlp-ring8"  # EMA, lazy R1, a linear schedule, Adam for both, a healthy band, 2-D data
# Every feature the base does not use, and none it does.
OTHER = {
    "training.optimizers.generator": {"type": "rmsprop", "lr": 1e-3},
    "training.optimizers.discriminator": {"type": "sgd", "lr": 1e-3, "momentum": 0.5},
    "training.instance_noise": {"std": 0.1, "decay_steps": 100},
    "training.d_steps_per_g_step": 3,
    "training.lr_schedule": "constant",
    "training.ema": DELETE,
    "training.r1": DELETE,
    "training.r1_every": DELETE,
    "validation.on_nan": "continue",
    "validation.d_fake_healthy": DELETE,
}


# A preset whose D is a critic: D(G(z)) is no probability, so no band to check.
CRITIC = {
    "training.loss": "wgan-gp",
    "training.gradient_penalty": 10.0,
    "training.r1": DELETE,
    "training.r1_every": DELETE,
    "discriminator.output": "critic",
}
# Mixed precision: autocast and fp16 loss scaling on CUDA (a CPU run trains in float32).
AMP = {"training.amp": "fp16"}
# The critic in groups of five D steps per G step, as WGAN-GP trains.
CRITIC_GROUPS = {**CRITIC, "training.d_steps_per_g_step": 5}
CASES: dict[str, dict[str, Any]] = {
    "base": {},
    "other": OTHER,
    "critic": CRITIC,
    "critic_groups": CRITIC_GROUPS,
    "amp": AMP,
}


@functools.cache
def rendered(case: str) -> dict[str, str]:
    """The project's files for the base preset with one case's changes."""
    report = validate_mutation(BASE, CASES[case])
    assert report.exit_code == 0, [(d.code, d.message) for d in report.diagnostics]
    return render_files(report, set())


def functions(source: str) -> dict[str, str]:
    """Each top-level function's (and class's) source by name."""
    tree = ast.parse(source)
    nodes = [n for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    return {n.name: ast.get_source_segment(source, n) or "" for n in nodes}


def test_the_base_renders_its_features_and_no_others() -> None:
    source = rendered("base")["train.py"]
    defined = functions(source)
    assert {"update_ema", "lr_factor", "set_learning_rates"} <= defined.keys()
    assert "SCATTER_POINTS" in defined["start"]  # real points for the 2-D scatter plots
    assert "d_input" not in defined  # no DiffAugment, no instance noise
    assert "d_update" in defined["discriminator_step"]  # lazy R1 counts D updates
    assert "healthy band" in defined["end_epoch"]
    assert "torch.optim.Adam(" in defined["make_optimizer"]
    assert "RMSprop" not in defined["make_optimizer"] and "SGD" not in defined["make_optimizer"]
    assert "last_of_group" not in defined["train_step"]  # one D step per G step
    assert "update skipped" not in defined["non_finite"]  # stops, keeping last_good.pt
    assert "last_good.pt" in defined["non_finite"]
    assert "channels_last" not in source  # 2-D data
    assert "autocast" not in source and "GradScaler" not in source  # training.amp: off
    # D has no BatchNorm: real and fake batches are scored in one forward
    assert "torch.cat([real, fake])" in defined["score_real_and_fake"]


def test_the_other_features_render_in_place_of_the_base_ones(tmp_path: Path) -> None:
    source = rendered("other")["train.py"]
    defined = functions(source)
    assert not {"update_ema", "lr_factor", "set_learning_rates"} & defined.keys()
    assert "instance_noise" in defined["d_input"]
    assert "d_update" not in defined["discriminator_step"]
    assert "healthy band" not in defined["end_epoch"]
    assert "last_of_group" in defined["train_step"]
    assert "update skipped" in defined["non_finite"] and "nan_report" not in defined["non_finite"]
    assert "Adam" not in defined["make_optimizer"]
    write_files(rendered("other"), tmp_path)
    weights = [nn.Parameter(torch.zeros(2))]
    with project_imports(tmp_path) as modules:
        make_optimizer = modules["train"].make_optimizer
        optimizers = {"type": "rmsprop", "lr": 1e-3, "momentum": 0.0, "weight_decay": 0.0}
        assert isinstance(make_optimizer(weights, optimizers), torch.optim.RMSprop)
        optimizers = {"type": "sgd", "lr": 1e-3, "momentum": 0.5, "weight_decay": 0.0}
        assert isinstance(make_optimizer(weights, optimizers), torch.optim.SGD)


def test_a_critic_gets_no_healthy_band_check() -> None:
    """D(G(z)) of a critic is not a probability: its band is never checked."""
    defined = functions(rendered("critic")["train.py"])
    assert "healthy band" not in defined["end_epoch"]


def test_mixed_precision_renders_autocast_and_loss_scaling(tmp_path: Path) -> None:
    """training.amp renders autocast and GradScaler for CUDA; on a CPU the same code trains in
    float32, so a step runs here and checkpoints its scalers."""
    files = rendered("amp")
    defined = functions(files["train.py"])
    assert "torch.float16" in defined["build_gan"] and "GradScaler" in defined["build_gan"]
    assert "gan.autocast()" in defined["score_real_and_fake"]
    assert "scaler.scale(loss)" in defined["update"]
    write_files(files, tmp_path)
    with project_imports(tmp_path) as modules:
        train, config = modules["train"], modules["config"]
        cfg = config.load_config(tmp_path / "config.yaml")
        cpu = torch.device("cpu")
        gan = train.build_gan(cfg, cpu)
        real = torch.randn(cfg["data"]["batch_size"], 2)
        train.discriminator_step(gan, cfg, real, None, 0, keep_fake=True)
        values = train.generator_step(gan, cfg, len(real), 0, cpu)
        assert torch.isfinite(torch.tensor(values["loss_g"]))
        state = train.checkpoint_state(gan, cfg, train.Progress())
        assert {"scaler_g", "scaler_d"} <= state.keys()


def syncs_buffers_each_forward(module: nn.Module) -> bool:
    """DDP's per-forward buffer broadcast (``forward_sync_buffers`` from torch 2.13 on)."""
    syncs = getattr(module, "forward_sync_buffers", None)
    return module.broadcast_buffers if syncs is None else syncs


@contextmanager
def one_process_group() -> Iterator[None]:
    """A gloo process group of this process alone: what each process of a torchrun job
    builds its DDP wrappers in."""
    dist.init_process_group("gloo", store=dist.HashStore(), rank=0, world_size=1)
    try:
        yield
    finally:
        dist.destroy_process_group()


def test_under_torchrun_a_batchnorm_discriminator_keeps_its_own_statistics(tmp_path: Path) -> None:
    """D with BatchNorm scores real and fake in two forwards before one backward; DDP must not
    broadcast rank 0's BatchNorm buffers at the second forward (torch < 2.13 then fails the
    backward: a tensor saved for it was modified in place). G, and a D without BatchNorm, keep
    DDP's default broadcast."""
    report = validate_mutation("dcgan-digits-32", {})
    cases = {"dcgan-digits-32": render_files(report, set()), BASE: rendered("base")}
    with one_process_group():
        for name, files in cases.items():
            folder = tmp_path / name
            write_files(files, folder)
            with project_imports(folder) as modules:
                cfg = modules["config"].load_config(folder / "config.yaml")
                gan = modules["train"].build_gan(cfg, torch.device("cpu"))
                assert syncs_buffers_each_forward(gan.g_ddp)
                assert syncs_buffers_each_forward(gan.d_ddp) == (name == BASE), name


def test_under_ddp_a_critic_trains_with_its_gradient_penalty_in_groups_of_d_steps(
    tmp_path: Path,
) -> None:
    """A WGAN-GP critic's step differentiates D's scores twice (the penalty's double backward)
    while D's update runs through DDP, and only the last D step of a group keeps its fake batch
    (G's forward under DDP) for G's step: train_step, in a one-process gloo group as in each
    process of a torchrun job, updates G once per group of five and D at every step. (A
    two-process torchrun run is dcgan-digits-32's own DDP contract.)"""
    write_files(rendered("critic_groups"), tmp_path)
    with one_process_group(), project_imports(tmp_path) as modules:
        train = modules["train"]
        cfg = modules["config"].load_config(tmp_path / "config.yaml")
        cpu = torch.device("cpu")
        gan = train.build_gan(cfg, cpu)
        assert isinstance(gan.d_ddp, DistributedDataParallel)
        assert isinstance(gan.g_ddp, DistributedDataParallel)
        before = [p.detach().clone() for p in gan.discriminator.parameters()]
        progress, steps = train.Progress(), 100  # the lr schedule's length
        run = SimpleNamespace(gan=gan, cfg=cfg, progress=progress, device=cpu, total_steps=steps)
        logged = [train.train_step(run, torch.randn(8, 2), None, 0) for _ in range(11)]
    assert [values is not None for values in logged] == [i % 5 == 4 for i in range(11)]
    assert (run.progress.step, run.progress.d_updates) == (2, 11)
    assert all(math.isfinite(v[k]) for v in logged if v for k in ("loss_d", "loss_g"))
    after = list(gan.discriminator.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, after, strict=True))


def test_a_resumed_optimizer_keeps_the_kernel_this_device_chose(tmp_path: Path) -> None:
    """A checkpoint from another device or version (non-fused Adam) must not switch this
    optimizer's implementation: fp16 loss scaling fails on a non-fused Adam built fused."""
    write_files(rendered("base"), tmp_path)
    weights = [nn.Parameter(torch.randn(3))]
    saved = torch.optim.Adam(weights, lr=1e-3, fused=False)
    weights[0].grad = torch.ones(3)
    saved.step()
    with project_imports(tmp_path) as modules:
        train = modules["train"]
        settings = {"type": "adam", "lr": 1e-3, "betas": [0.5, 0.9], "weight_decay": 0.0}
        resumed = train.make_optimizer(weights, settings, torch.device("cpu"))
        train.load_optimizer_state(resumed, saved.state_dict())
    assert resumed.param_groups[0]["fused"] is True
    assert torch.equal(resumed.state[weights[0]]["exp_avg"], saved.state[weights[0]]["exp_avg"])
