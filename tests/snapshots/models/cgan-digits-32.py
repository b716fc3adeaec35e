"""The generator and the discriminator of cgan_digits_32, written out layer by layer.

ganspec rendered these networks from the spec and checked every shape: the comment after each
layer is the shape of one sample there (C x H x W, or features). They are yours to edit;
tests/test_contracts.py checks that G still lands on 1 x 32 x 32 and D still scores it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from checkpoints import read_checkpoint

LATENT_DIM = 64
NUM_CLASSES = 10


class LabelEmbedding(nn.Module):
    """Embed the class label and concatenate it to the input: as extra features on vectors,
    or as extra channels, constant over H x W, on images."""

    def __init__(self, embed: nn.Embedding) -> None:
        super().__init__()
        self.embed = embed

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        e = self.embed(labels).to(x.dtype)
        if x.dim() == 4:
            e = e[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        return torch.cat([x, e], dim=1)


class Generator(nn.Module):
    """Maps latent vectors (N x 64) and class labels (N) to samples (N x 1 x 32 x 32)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = LabelEmbedding(nn.Embedding(10, 16))  # 80
        self.net = nn.Sequential(
            nn.Unflatten(1, (80, 1, 1)),
            # 80 x 1 x 1
            nn.ConvTranspose2d(80, 256, 4, 1, 0),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            # 256 x 4 x 4
            nn.ConvTranspose2d(256, 128, 4, 2, 1),
            nn.BatchNorm2d(128),
            nn.ReLU(),
            # 128 x 8 x 8
            nn.ConvTranspose2d(128, 64, 4, 2, 1),
            nn.BatchNorm2d(64),
            nn.ReLU(),
            # 64 x 16 x 16
            nn.ConvTranspose2d(64, 1, 4, 2, 1),
            nn.Tanh(),
            # 1 x 32 x 32
        )
        init_normal(self, std=0.02)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        x = self.embed(z, labels)
        return self.net(x)


class Discriminator(nn.Module):
    """Scores each sample of 1 x 32 x 32: one score per sample."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = LabelEmbedding(nn.Embedding(10, 10))  # 11 x 32 x 32
        self.net = nn.Sequential(
            nn.Conv2d(11, 64, 4, 2, 1),
            nn.LeakyReLU(0.2),
            # 64 x 16 x 16
            nn.Conv2d(64, 128, 4, 2, 1),
            nn.BatchNorm2d(128),
            nn.LeakyReLU(0.2),
            # 128 x 8 x 8
            nn.Conv2d(128, 256, 4, 2, 1),
            nn.BatchNorm2d(256),
            nn.LeakyReLU(0.2),
            # 256 x 4 x 4
            nn.Conv2d(256, 1, 4, 1, 0),
            # 1 x 1 x 1
            nn.Flatten(),
            # 1
        )
        init_normal(self, std=0.02)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        x = self.embed(x, labels)
        return self.net(x).reshape(-1)


@torch.no_grad()
def init_normal(module: nn.Module, std: float) -> None:
    """DCGAN's init (Radford et al. 2016): weights ~ N(0, std), BatchNorm scales
    ~ N(1, std), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


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
    """n class labels drawn uniformly from the NUM_CLASSES classes."""
    where = generator.device if generator is not None else device
    return torch.randint(NUM_CLASSES, (n,), generator=generator, device=where).to(device)


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
