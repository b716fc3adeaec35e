"""Penalties and schedules whose values are known in closed form."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from losses import gradient_penalty, r1_penalty


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


@pytest.mark.parametrize("pack", [1, 2])
def test_wgan_gp_is_weight_times_the_squared_distance_of_the_gradient_norm_from_one(
    pack: int,
) -> None:
    critic = LinearCritic(features=3, pack=pack)  # the same gradient w at every point
    real, fake = torch.randn(8, 3), torch.randn(8, 3)
    penalty = gradient_penalty(critic, real, fake, None, weight=10.0)
    norm = critic.w.detach().norm().item()
    assert penalty.item() == pytest.approx(10.0 * (norm - 1) ** 2, rel=1e-5)


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


def test_lazy_r1_applies_the_penalty_on_every_nth_d_update_only_n_times_stronger(
    cfg: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import train
    from data import build_dataset, build_loader

    real, labels = next(iter(build_loader(cfg, build_dataset(cfg))))
    labels = labels if cfg["data"]["classes"] is not None else None
    cfg["training"].update(r1=0.5, r1_every=4)
    gan = train.build_gan(cfg, torch.device("cpu"))
    gammas: list[tuple[int, float]] = []
    penalty = train.r1_penalty

    def spy(*args: Any) -> Tensor:
        gammas.append((update, args[-1]))
        return penalty(*args)

    monkeypatch.setattr(train, "r1_penalty", spy)
    for update in range(9):  # two D updates per G step: the count is of D updates
        train.discriminator_step(gan, cfg, real, labels, update // 2, d_update=update)
    assert gammas == [(0, 2.0), (4, 2.0), (8, 2.0)]
