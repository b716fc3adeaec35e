"""Penalties and schedules whose values are known in closed form."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch
from torch import Tensor, nn

from losses import r1_penalty


class LinearCritic(nn.Module):
    """D(pack) = w . concat(pack): its gradient with respect to every pack is w."""

    def __init__(self, features: int, pack: int) -> None:
        super().__init__()
        self.pack = pack
        self.w = nn.Parameter(torch.arange(1.0, features * pack + 1))

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return x.reshape(x.shape[0] // self.pack, -1) @ self.w


@pytest.mark.parametrize("pack", [1, 2])
def test_r1_is_half_gamma_times_the_squared_input_gradient_per_pack(pack: int) -> None:
    critic = LinearCritic(features=3, pack=pack)
    real = torch.randn(8, 3)
    penalty = r1_penalty(critic, real, None, gamma=4.0)
    assert penalty.item() == pytest.approx(4.0 / 2 * critic.w.square().sum().item())


def test_r1_trains_the_discriminator_towards_a_flat_gradient_on_data() -> None:
    critic = LinearCritic(features=2, pack=1)
    penalty = r1_penalty(critic, torch.randn(4, 2), None, gamma=1.0)
    penalty.backward()
    assert critic.w.grad is not None
    assert torch.allclose(critic.w.grad, critic.w.detach())  # d/dw (|w|^2 / 2) = w


def test_learning_rate_schedules_start_at_one_and_end_at_zero() -> None:
    from train import lr_factor

    assert lr_factor("constant", 70, 100) == 1.0
    for schedule in ("linear", "cosine"):
        assert lr_factor(schedule, 0, 100) == 1.0
        assert lr_factor(schedule, 100, 100) == pytest.approx(0.0, abs=1e-12)
        assert lr_factor(schedule, 150, 100) == pytest.approx(0.0, abs=1e-12)
        assert lr_factor(schedule, 50, 100) == pytest.approx(0.5)
    assert lr_factor("cosine", 25, 100) > lr_factor("linear", 25, 100)


def test_lazy_r1_applies_the_penalty_on_every_nth_step_only_n_times_stronger(
    cfg: dict[str, Any],
) -> None:
    import train
    from data import build_dataset, build_loader

    real, labels = next(iter(build_loader(cfg, build_dataset(cfg))))
    labels = labels if cfg["data"]["classes"] is not None else None

    def d_loss(step: int, r1: float | None, every: int) -> float:
        run = copy.deepcopy(cfg)
        run["training"].update(r1=r1, r1_every=every)
        torch.manual_seed(0)
        gan = train.build_gan(run, torch.device("cpu"))
        torch.manual_seed(1)  # the same fakes, noise and augmentation in every call
        return train.discriminator_step(gan, run, real, labels, step)["loss_d"]

    plain = d_loss(4, None, 1)
    penalty = d_loss(4, 0.5, 1) - plain
    assert penalty > 0
    assert d_loss(4, 0.5, 4) - plain == pytest.approx(4 * penalty, rel=1e-4)
    assert d_loss(5, 0.5, 4) == pytest.approx(d_loss(5, None, 1), rel=1e-6)
