"""The `nonsaturating` loss on D's logits, computed in float32 even under mixed precision."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """BCE(D(x), 1) + BCE(D(G(z)), 0): D learns to score real samples 1 and G's samples 0. BCE with
    logits: the sigmoid sits inside the loss, computed stably."""
    real, fake = real_scores.float(), fake_scores.float()
    real_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    fake_loss = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    return real_loss + fake_loss


def generator_loss(fake_scores: Tensor) -> Tensor:
    """BCE(D(G(z)), 1), i.e. minimise -log D(G(z)). At D(G(z)) = 0.01 its gradient is 100x the
    saturating minimax one's."""
    fake = fake_scores.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def score_summary(scores: Tensor) -> float:
    """D(x) or D(G(z)) as logged: the mean sigmoid of D's logits."""
    return torch.sigmoid(scores.detach().float()).mean().item()
