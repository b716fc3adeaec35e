"""The generator and the discriminator of wgan_gp_64, written out layer by layer.

ganspec rendered these networks from the spec and checked every shape: the comment after each
layer is the shape of one sample there (C x H x W, or features). They are yours to edit;
tests/test_contracts.py checks that G still lands on 3 x 64 x 64 and D still scores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from checkpoints import read_checkpoint

LATENT_DIM = 128


class Generator(nn.Module):
    """Maps latent vectors (N x 128) to samples (N x 3 x 64 x 64)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Unflatten(1, (128, 1, 1)),
            # 128 x 1 x 1
            nn.ConvTranspose2d(128, 512, 4, 1, 0),
            nn.BatchNorm2d(512),
            nn.ReLU(),
            # 512 x 4 x 4
            nn.ConvTranspose2d(512, 256, 4, 2, 1),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            # 256 x 8 x 8
            nn.ConvTranspose2d(256, 128, 4, 2, 1),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            # 128 x 16 x 16
            nn.ConvTranspose2d(128, 64, 4, 2, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            # 64 x 32 x 32
            nn.ConvTranspose2d(64, 3, 4, 2, 1),
            nn.Tanh(),
            # 3 x 64 x 64
        )

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(z)


class Discriminator(nn.Module):
    """Scores each sample of 3 x 64 x 64: one score per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 64, 4, 2, 1),
            nn.LeakyReLU(0.2),
            # 64 x 32 x 32
            nn.Conv2d(64, 128, 4, 2, 1),
            nn.GroupNorm(1, 128),
            nn.LeakyReLU(0.2),
            # 128 x 16 x 16
            nn.Conv2d(128, 256, 4, 2, 1),
            nn.GroupNorm(1, 256),
            nn.LeakyReLU(0.2),
            # 256 x 8 x 8
            nn.Conv2d(256, 512, 4, 2, 1),
            nn.GroupNorm(1, 512),
            nn.LeakyReLU(0.2),
            # 512 x 4 x 4
            nn.Conv2d(512, 1, 4, 1, 0),
            # 1 x 1 x 1
            nn.Flatten(),
            # 1
        )

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.net(x).reshape(-1)


def sample_latent(
    n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> Tensor:
    """n latent vectors z ~ N(0, 1) of size LATENT_DIM.

    A ``generator``'s numbers are drawn on its device and moved: the same seed gives the same
    noise on every device."""
    where = generator.device if generator is not None else device
    return torch.randn(n, LATENT_DIM, generator=generator, device=where).to(device)


def sample_labels(
    n: int, device: torch.device | str = "cpu", generator: torch.Generator | None = None
) -> Tensor | None:
    """None: this GAN is unconditional (the training loop passes labels where there are any)."""
    return None


def load_generator(
    checkpoint: str | Path, device: torch.device | str = "cpu", use_ema: bool = True
) -> tuple[Generator, dict[str, Any]]:
    """G from a training checkpoint, in eval mode, with the config it was trained with: the
    "ema" weights when ``use_ema`` and the run kept them (not None), else "generator".

    EMA weights usually sample better. Read from the memory-mapped file once its sha256
    holds (CorruptFile says what is wrong otherwise)."""
    state = read_checkpoint(Path(checkpoint), keys=("config", "generator"))
    generator = Generator()
    weights = state["ema"] if use_ema and state.get("ema") is not None else state["generator"]
    generator.load_state_dict(weights)
    return generator.to(device).eval(), state["config"]
