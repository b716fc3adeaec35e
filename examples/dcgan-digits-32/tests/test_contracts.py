"""The spec's contracts, made executable for whatever config.yaml sits in the project root.

Each test names one promise of the spec (shapes, ranges, who updates what, NaN handling,
checkpoints, exact resume, export, multi-process training) and checks it on the CPU with a
small batch, so the whole file runs in well under a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import yaml
from torch import Tensor, nn

import train
from config import data_dims, seed_everything
from data import build_dataset, build_loader
from export import export_generator
from models import (
    LATENT_DIM,
    Discriminator,
    Generator,
    load_generator,
    sample_labels,
    sample_latent,
)

ROOT = Path(__file__).resolve().parents[1]
CPU = torch.device("cpu")


# --- helpers ---------------------------------------------------------------------------------


def write_config(cfg: dict[str, Any], path: Path) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    return path


def run(cfg: dict[str, Any], out: Path, *flags: str) -> int:
    """``python train.py --config C --out OUT FLAGS`` on ``cfg``, in this process: its exit code."""
    config = write_config(cfg, out.parent / f"{out.name}.config.yaml")
    return train.main(["--config", str(config), "--out", str(out), *flags])


def parameters(module: nn.Module) -> dict[str, Tensor]:
    return {name: p.detach().clone() for name, p in module.named_parameters()}


def unchanged(before: dict[str, Tensor], after: nn.Module | dict[str, Tensor]) -> bool:
    """Bitwise: no parameter moved at all (``after`` a module or a state dict)."""
    state = after.state_dict() if isinstance(after, nn.Module) else after
    return all(torch.equal(p, state[name]) for name, p in before.items())


def finite(state: dict[str, Tensor]) -> bool:
    return all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point())


def states_equal(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def real_batch(cfg: dict[str, Any]) -> tuple[Tensor, Tensor | None]:
    x, labels = next(iter(build_loader(cfg, build_dataset(cfg))))
    return x, labels if cfg["data"]["classes"] is not None else None


def inputs(cfg: dict[str, Any], n: int) -> tuple[Tensor, Tensor | None]:
    generator = torch.Generator().manual_seed(0)
    return sample_latent(n, generator=generator), sample_labels(n, generator=generator)


def in_range(x: Tensor, value_range: list[float] | None) -> bool:
    if value_range is None:
        return bool(torch.isfinite(x).all())
    lo, hi = value_range
    return bool((x >= lo - 1e-6).all() and (x <= hi + 1e-6).all())


# --- shapes and ranges -----------------------------------------------------------------------


@pytest.mark.surface("generator")
def test_generator_output_has_data_shape_and_range(cfg: dict[str, Any]) -> None:
    generator = Generator().eval()
    z, labels = inputs(cfg, 4)
    with torch.no_grad():
        x = generator(z, labels)
    assert tuple(x.shape) == (4, *data_dims(cfg))
    assert in_range(x, cfg["data"]["range"])


@pytest.mark.surface("discriminator")
def test_discriminator_scores_one_value_per_pack(cfg: dict[str, Any]) -> None:
    """D returns one score per sample."""
    x = torch.rand(2 * 1, *data_dims(cfg))
    labels = inputs(cfg, 2 * 1)[1]
    scores = Discriminator()(x, labels)
    assert tuple(scores.shape) == (2,)


@pytest.mark.surface("data pipeline")
def test_data_pipeline_yields_data_shape_in_range(cfg: dict[str, Any]) -> None:
    x, labels = next(iter(build_loader(cfg, build_dataset(cfg))))
    assert tuple(x.shape) == (cfg["data"]["batch_size"], *data_dims(cfg))
    assert x.dtype == torch.float32
    assert in_range(x, cfg["data"]["range"])
    assert labels.dtype == torch.long and tuple(labels.shape) == (cfg["data"]["batch_size"],)
    classes = cfg["data"]["classes"]
    assert ((labels >= 0) & (labels < (classes or 1))).all()


# --- who updates what ------------------------------------------------------------------------


@pytest.mark.surface("training loop")
def test_one_training_step_changes_both_networks(
    base_cfg: dict[str, Any], one_step_run: Path
) -> None:
    seed_everything(base_cfg["seed"])  # train() builds its networks right after this
    initial = train.build_gan(base_cfg, CPU)
    state = torch.load(one_step_run / "last.pt", weights_only=True)
    for module, key in ((initial.generator, "generator"), (initial.discriminator, "discriminator")):
        assert not unchanged(parameters(module), state[key]), f"one step left the {key} as it was"


@pytest.mark.surface("training loop")
def test_generator_step_leaves_discriminator_unchanged(cfg: dict[str, Any]) -> None:
    gan = train.build_gan(cfg, CPU)
    d_before, g_before = parameters(gan.discriminator), parameters(gan.generator)
    train.generator_step(gan, cfg, cfg["data"]["batch_size"], 0, CPU)
    assert unchanged(d_before, gan.discriminator)
    assert not unchanged(g_before, gan.generator)
    assert all(p.requires_grad for p in gan.discriminator.parameters()), "D left frozen"


@pytest.mark.surface("training loop")
def test_discriminator_step_leaves_generator_unchanged(cfg: dict[str, Any]) -> None:
    gan = train.build_gan(cfg, CPU)
    d_before, g_before = parameters(gan.discriminator), parameters(gan.generator)
    real, labels = real_batch(cfg)
    train.discriminator_step(gan, cfg, real, labels, 0)
    assert unchanged(g_before, gan.generator)
    assert not unchanged(d_before, gan.discriminator)


@pytest.mark.surface("discriminator")
def test_real_and_fake_batches_are_scored_apart(cfg: dict[str, Any]) -> None:
    """D has BatchNorm: real and fake batches go through it in separate forwards, so each
    keeps its own batch statistics (as in DCGAN)."""
    gan = train.build_gan(cfg, CPU)
    real, labels = real_batch(cfg)
    forwards: list[int] = []  # the batch size of each forward of D
    gan.discriminator.register_forward_hook(lambda m, args, out: forwards.append(len(args[0])))
    train.discriminator_step(gan, cfg, real, labels, 0)
    assert forwards[:2] == [len(real), len(real)], "real and fake were not scored apart"


@pytest.mark.surface("training loop")
def test_generator_never_receives_real_data(
    cfg: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spy on a real run: G's inputs are latents only, and while G is updated (D frozen) D
    only ever scores G's own output, never a real batch."""
    real_batches: list[Tensor] = []
    g_inputs: list[Tensor] = []
    g_outputs: list[Tensor] = []
    d_inputs_in_g_step: list[Tensor] = []
    build_gan, discriminator_step = train.build_gan, train.discriminator_step

    def spy_build_gan(*args: Any, **kwargs: Any) -> train.GAN:
        gan = build_gan(*args, **kwargs)
        gan.generator.register_forward_pre_hook(lambda m, a: g_inputs.append(a[0].clone()))

        def on_g_output(module: nn.Module, args: tuple[Tensor, ...], out: Tensor) -> None:
            if torch.is_grad_enabled():  # G's step; D's step and sample grids use no_grad
                g_outputs.append(out.detach().clone())

        gan.generator.register_forward_hook(on_g_output)

        def on_d(module: nn.Module, args: tuple[Tensor, ...]) -> None:
            if not any(p.requires_grad for p in module.parameters()):  # G's step
                d_inputs_in_g_step.append(args[0].detach().clone())

        gan.discriminator.register_forward_pre_hook(on_d)
        return gan

    def spy_discriminator_step(
        gan: train.GAN, c: dict[str, Any], real: Tensor, *a: Any, **k: Any
    ) -> Any:
        real_batches.append(real.clone())
        return discriminator_step(gan, c, real, *a, **k)

    monkeypatch.setattr(train, "build_gan", spy_build_gan)
    monkeypatch.setattr(train, "discriminator_step", spy_discriminator_step)
    assert run(cfg, tmp_path / "run", "--max-steps", "1") == 0

    latent = (LATENT_DIM,)
    assert g_inputs and all(tuple(z.shape[1:]) == latent for z in g_inputs)
    assert d_inputs_in_g_step, "D was never called during G's step"
    for seen in d_inputs_in_g_step:
        assert not any(seen.shape == r.shape and torch.equal(seen, r) for r in real_batches)
    # without DiffAugment or instance noise, D's input in G's step IS G's last output
    assert torch.equal(d_inputs_in_g_step[-1], g_outputs[-1])


# --- NaN handling ----------------------------------------------------------------------------


def _nan_loss(*args: Any) -> Tensor:
    scores = args[-1]
    return scores.float().mean() * float("nan")


@pytest.mark.surface("training loop")
def test_nan_loss_stops_with_report_and_last_good(
    cfg: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN in D's very first loss: exit code 3, nan_report.json, and (no checkpoint exists
    yet) last_good.pt written from the untouched weights."""
    out = tmp_path / "run"
    monkeypatch.setattr(train, "discriminator_loss", _nan_loss)
    code = run(cfg, out, "--max-steps", "1")
    assert code == train.EXIT_NON_FINITE
    report = json.loads((out / "nan_report.json").read_text())
    assert report["loss"] == "loss_d" and report["step"] == 0
    state = torch.load(out / "last_good.pt", weights_only=True)
    assert finite(state["generator"])


@pytest.mark.surface("training loop")
def test_nan_loss_keeps_existing_last_good(
    cfg: dict[str, Any], one_step_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A NaN in G's loss after a checkpoint: the run stops and last_good.pt stays the one
    written before (step 1), not the state at the failure."""
    out = tmp_path / "run"
    shutil.copytree(one_step_run, out)
    before = (out / "last_good.pt").read_bytes()
    monkeypatch.setattr(train, "generator_loss", _nan_loss)
    assert run(cfg, out, "--max-steps", "2", "--resume") == train.EXIT_NON_FINITE
    report = json.loads((out / "nan_report.json").read_text())
    assert report["loss"] == "loss_g" and report["step"] == 1
    assert (out / "last_good.pt").read_bytes() == before


# --- checkpoints, resume, export -------------------------------------------------------------


@pytest.mark.surface("training loop")
def test_a_checkpoint_holds_both_networks_their_optimizers_and_progress(
    cfg: dict[str, Any], one_step_run: Path
) -> None:
    """last.pt (torch.save of a dict, loadable with weights_only=True): the networks' state
    dicts under "generator" and "discriminator" (they load, strictly, into fresh models), the
    optimizers' state dicts under "opt_g" and "opt_d", and "progress" with the steps done."""
    state = torch.load(one_step_run / "last.pt", weights_only=True)
    assert state["progress"]["step"] == 1
    gan = train.build_gan(cfg, CPU)
    gan.generator.load_state_dict(state["generator"])
    gan.discriminator.load_state_dict(state["discriminator"])
    for key, module in (("opt_g", gan.generator), ("opt_d", gan.discriminator)):
        groups = state[key]["param_groups"]
        assert sum(len(group["params"]) for group in groups) == len(list(module.parameters()))


@pytest.mark.surface("training loop")
def test_resume_is_exact(cfg: dict[str, Any], one_step_run: Path, tmp_path: Path) -> None:
    """1 step + resume + 1 step ends bitwise where 2 uninterrupted steps end."""
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert run(cfg, straight, "--max-steps", "2") == 0
    shutil.copytree(one_step_run, resumed)
    assert run(cfg, resumed, "--max-steps", "2", "--resume") == 0
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(resumed / "last.pt", weights_only=True)
    assert a["progress"] == b["progress"]
    for key in ("generator", "discriminator"):
        assert states_equal(a[key], b[key]), f"{key} differs after resuming"
    for key in ("opt_g", "opt_d"):
        for index, state in a[key]["state"].items():
            assert states_equal(b[key]["state"][index], state)


@pytest.mark.surface("generator")
def test_export_reproduces_eager(one_step_run: Path, tmp_path: Path) -> None:
    model, _ = load_generator(one_step_run / "last.pt")
    difference = export_generator(model, tmp_path / "generator.pt2")
    assert difference <= 1e-5
    assert (tmp_path / "generator.pt2").stat().st_size > 0


# --- multi-process ---------------------------------------------------------------------------


@pytest.mark.surface("training loop")
@pytest.mark.ddp
@pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="this platform's PyTorch has no gloo backend",
)
def test_two_process_ddp_with_torchrun(cfg: dict[str, Any], tmp_path: Path) -> None:
    """The same train.py under torchrun: 2 CPU processes, gloo, rank 0 writes the outputs."""
    config, out = write_config(cfg, tmp_path / "config.yaml"), tmp_path / "run"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(ROOT / "train.py"), "--config", str(config), "--out", str(out), "--max-steps", "2",
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    state = torch.load(out / "last.pt", weights_only=True)
    assert state["progress"]["step"] == 2
    assert finite(state["generator"])
