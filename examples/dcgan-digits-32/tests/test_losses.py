"""The contracts of this spec's loss as train.py uses it: which way each loss pulls D's
scores, what the log reports as D(x) and D(G(z)), and the penalties and constraints the spec
sets. The loss's closed forms are tested once, in ganspec's own suite."""

from __future__ import annotations

import pytest
import torch

from losses import discriminator_loss, generator_loss, score_summary

SCORE = 0.5  # a score every loss still has a gradient at, on either side of the boundary


@pytest.mark.surface("training loop")
def test_d_loss_pulls_real_scores_up_and_fake_scores_down() -> None:
    """D's loss falls as D scores real samples higher and G's samples lower."""
    real = torch.full((4, 1), SCORE, requires_grad=True)
    fake = torch.full((4, 1), SCORE, requires_grad=True)
    discriminator_loss(real, fake).backward()
    assert real.grad is not None and fake.grad is not None
    assert (real.grad < 0).all() and (fake.grad > 0).all()


@pytest.mark.surface("training loop")
def test_g_loss_pulls_the_scores_of_its_samples_up() -> None:
    """G's loss falls as D scores G's samples higher; it is a function of those scores only."""
    fake = torch.full((4, 1), SCORE, requires_grad=True)
    generator_loss(fake).backward()
    assert fake.grad is not None and (fake.grad < 0).all()


@pytest.mark.surface("validation protocol")
def test_d_scores_are_logged_as_the_probability_d_assigns() -> None:
    """D outputs logits: D(x) and D(G(z)) in the log are the mean of their sigmoid."""
    logits = torch.tensor([[-2.0], [0.0], [2.0], [40.0]])
    assert score_summary(logits) == pytest.approx(torch.sigmoid(logits).mean().item())
