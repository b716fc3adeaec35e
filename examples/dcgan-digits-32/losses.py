"""The adversarial losses: what D minimises on real and fake scores, and what G minimises.

Scores are what the discriminator returns; ``discriminator.output`` says what they mean:
``logits`` (raw, pass through a sigmoid to get a probability), ``probability`` (already in
[0, 1], D ends in a sigmoid) or ``critic`` (unbounded, for Wasserstein and hinge losses).
Losses are computed in float32 even under mixed precision.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _bce(cfg: dict[str, Any], scores: Tensor, target: float) -> Tensor:
    """Binary cross-entropy against a constant target; BCEWithLogits is the numerically
    stable form and is used unless D already outputs probabilities."""
    targets = torch.full_like(scores, target)
    if cfg["discriminator"]["output"] == "probability":
        return F.binary_cross_entropy(scores, targets)
    return F.binary_cross_entropy_with_logits(scores, targets)


def discriminator_loss(cfg: dict[str, Any], real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """D's loss (without the gradient penalty, see ``gradient_penalty``).

    One-sided label smoothing (Salimans et al. 2016) lowers only the real target to 1 - s;
    it applies to the BCE and least-squares losses, whose targets are labels.
    """
    loss = cfg["training"]["loss"]
    real, fake = real_scores.float(), fake_scores.float()
    real_target = 1.0 - cfg["training"].get("label_smoothing", 0.0)
    if loss in ("minimax", "nonsaturating"):
        return _bce(cfg, real, real_target) + _bce(cfg, fake, 0.0)
    if loss in ("wgan", "wgan-gp"):  # critic: real scores up, fake scores down
        return fake.mean() - real.mean()
    if loss == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    if loss == "lsgan":
        return 0.5 * ((real - real_target) ** 2).mean() + 0.5 * (fake**2).mean()
    raise ValueError(f"unknown loss {loss!r}")


def generator_loss(cfg: dict[str, Any], fake_scores: Tensor) -> Tensor:
    """G's loss, from D's scores of generated samples only: G never sees real data."""
    loss = cfg["training"]["loss"]
    fake = fake_scores.float()
    if loss == "minimax":
        # The original minimax game: minimise log(1 - D(G(z))) = -BCE(D(G(z)), 0).
        # It saturates (vanishing gradients) when D confidently rejects the fakes.
        return -_bce(cfg, fake, 0.0)
    if loss == "nonsaturating":  # maximise log D(G(z)) instead: strong gradients early on
        return _bce(cfg, fake, 1.0)
    if loss in ("wgan", "wgan-gp", "hinge"):
        return -fake.mean()
    if loss == "lsgan":
        return 0.5 * ((fake - 1.0) ** 2).mean()
    raise ValueError(f"unknown loss {loss!r}")


def gradient_penalty(
    discriminator: nn.Module,
    real: Tensor,
    fake: Tensor,
    labels: Tensor | None = None,
    weight: float = 10.0,
) -> Tensor:
    """WGAN-GP (Gulrajani et al. 2017): ``weight * E[(||grad D(x_hat)|| - 1)^2]`` at random
    points x_hat between real and fake samples, a soft version of D being 1-Lipschitz.

    With PacGAN packing, the gradient norm is taken per pack, since a pack is D's input.
    Call it on the plain module: torch.compile does not support this double backward.
    """
    alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device)
    mixed = alpha * real.detach() + (1 - alpha) * fake.detach()
    norms = input_gradients_per_pack(discriminator, mixed, labels).norm(2, dim=1)
    return weight * ((norms - 1) ** 2).mean()


def r1_penalty(
    discriminator: nn.Module, real: Tensor, labels: Tensor | None, gamma: float
) -> Tensor:
    """R1 (Mescheder et al. 2018): ``gamma / 2 * E[||grad D(x)||^2]`` on real samples only.

    Near equilibrium D's gradient on the data should vanish; penalising it there stops G and
    D from circling around a mode, so samples settle onto it. Per pack with PacGAN packing.
    Call it on the plain module, as ``gradient_penalty``.
    """
    grads = input_gradients_per_pack(discriminator, real.detach(), labels)
    return gamma / 2 * grads.square().sum(dim=1).mean()


def input_gradients_per_pack(discriminator: nn.Module, x: Tensor, labels: Tensor | None) -> Tensor:
    """grad D(x) with respect to its input, one flattened row per pack (a pack is D's input),
    kept in the graph so a penalty on it trains D (the double backward of both penalties)."""
    x = x.requires_grad_(True)
    scores = discriminator(x, labels)
    (grads,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return grads.reshape(scores.shape[0], -1)


def score_summary(cfg: dict[str, Any], scores: Tensor) -> float:
    """The number logged as D(x) or D(G(z)): the mean probability D assigns, or for a
    critic its mean raw score (a critic's score is not a probability)."""
    output = cfg["discriminator"]["output"]
    scores = scores.detach().float()
    if output == "logits":
        return torch.sigmoid(scores).mean().item()
    return scores.mean().item()
