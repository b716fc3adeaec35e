"""The adversarial loss of this GAN, `nonsaturating`, on D's logits: only what the spec selects
(training.loss; re-render the spec for another loss). Losses are computed in float32 even
under mixed precision.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def discriminator_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """BCE(D(x), 1) + BCE(D(G(z)), 0): D learns to score real samples 1 and G's samples 0.

    D outputs logits, so both terms are BCE with logits: the sigmoid sits inside the loss,
    computed stably, where a sigmoid followed by BCE loses the gradient once D is sure.
    """
    real, fake = real_scores.float(), fake_scores.float()
    real_loss = F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
    fake_loss = F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake))
    return real_loss + fake_loss


def generator_loss(fake_scores: Tensor) -> Tensor:
    """BCE(D(G(z)), 1), i.e. minimise -log D(G(z)). The same fixed point as the saturating minimax
    loss (Goodfellow et al. 2014), but strong gradients while D rejects the fakes: at
    D(G(z)) = 0.01 the gradient is 100x the minimax one.

    G never sees real data: only D's scores of its own samples.
    """
    fake = fake_scores.float()
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def score_summary(scores: Tensor) -> float:
    """The number logged as D(x) or D(G(z)): the mean probability D assigns, the sigmoid of its
    logits."""
    return torch.sigmoid(scores.detach().float()).mean().item()
