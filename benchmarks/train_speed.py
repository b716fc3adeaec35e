"""Training-iteration speed of a rendered project against a plain eager reference DCGAN.

Renders the ``dcgan-64`` preset into a temporary folder, imports its ``train.py`` and times
one iteration (one D step and one G step, batch 64) of the rendered loop against the
pytorch/examples DCGAN recipe written out by hand: the same architecture, Sigmoid + BCELoss,
Adam(2e-4, 0.5), on the same device. The two are interleaved block by block so that machine
noise hits both alike; the script prints medians and the ratio reference/rendered (above 1.0
means the rendered loop is faster).

    python benchmarks/train_speed.py [--blocks 7] [--iters 3] [--device cpu|cuda] [--amp bf16]

Targets: ratio >= 1.0 on CPU; on CUDA, rendered with AMP + channels_last >= 1.5x the fp32
eager reference (pass --amp bf16 there).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
NZ, NGF, NDF, NC, BATCH = 100, 64, 64, 3, 64


def reference_networks() -> tuple[nn.Module, nn.Module]:
    """pytorch/examples dcgan: Generator and Discriminator for 64x64 images."""
    generator = nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 8, 4, 1, 0, bias=False),
        nn.BatchNorm2d(NGF * 8),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 8, NGF * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NGF * 4),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NGF * 2),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NGF),
        nn.ReLU(True),
        nn.ConvTranspose2d(NGF, NC, 4, 2, 1, bias=False),
        nn.Tanh(),
    )
    discriminator = nn.Sequential(
        nn.Conv2d(NC, NDF, 4, 2, 1, bias=False),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NDF * 2),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NDF * 4),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, NDF * 8, 4, 2, 1, bias=False),
        nn.BatchNorm2d(NDF * 8),
        nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 8, 1, 4, 1, 0, bias=False),
        nn.Sigmoid(),
    )
    return generator, discriminator


def reference_iteration(device: torch.device) -> Callable[[torch.Tensor], None]:
    """The pytorch/examples training step: D on real and detached fake, then G."""
    net_g, net_d = (m.to(device) for m in reference_networks())
    criterion = nn.BCELoss()
    opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    ones = torch.ones(BATCH, device=device)
    zeros = torch.zeros(BATCH, device=device)

    def iteration(real: torch.Tensor) -> None:
        net_d.zero_grad()
        error_real = criterion(net_d(real).view(-1), ones)
        error_real.backward()
        fake = net_g(torch.randn(BATCH, NZ, 1, 1, device=device))
        error_fake = criterion(net_d(fake.detach()).view(-1), zeros)
        error_fake.backward()
        opt_d.step()
        net_g.zero_grad()
        criterion(net_d(fake).view(-1), ones).backward()
        opt_g.step()

    return iteration


def rendered_iteration(device: torch.device, amp: str) -> Callable[[torch.Tensor], None]:
    """The rendered dcgan-64 project's own D step and G step."""
    from click.testing import CliRunner

    from ganspec.cli import cli

    folder = Path(tempfile.mkdtemp(prefix="ganspec-bench-")) / "dcgan_64"
    result = CliRunner().invoke(
        cli, ["render", str(ROOT / "specs" / "dcgan-64.yaml"), "--out", str(folder)]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    sys.path.insert(0, str(folder))
    import config
    import train

    cfg = config.load_config(folder / "config.yaml")
    cfg["training"]["amp"] = amp
    cfg["data"]["batch_size"] = BATCH
    gan = train.build_gan(cfg, device)
    step = [0]

    def iteration(real: torch.Tensor) -> None:
        if device.type == "cuda" and real.dim() == 4:
            real = real.contiguous(memory_format=torch.channels_last)
        # As train.py's loop does with one D step per G step: the D step keeps its fake batch
        # for the G step.
        train.discriminator_step(gan, cfg, real, None, step[0], keep_fake=True)
        train.generator_step(gan, cfg, BATCH, step[0], device)
        step[0] += 1

    return iteration


def timed(iteration: Callable[[torch.Tensor], None], real: torch.Tensor, iters: int) -> float:
    """Seconds per iteration over one block (synchronising CUDA around it)."""
    if real.is_cuda:
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(iters):
        iteration(real)
    if real.is_cuda:
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=7)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    device = torch.device(args.device)
    torch.manual_seed(0)
    real = torch.rand(BATCH, NC, 64, 64, device=device) * 2 - 1
    contenders = {
        "reference (pytorch/examples, fp32 eager)": reference_iteration(device),
        f"rendered dcgan-64 (amp {args.amp})": rendered_iteration(device, args.amp),
    }
    for iteration in contenders.values():  # warm-up: allocator, kernels, lazy init
        timed(iteration, real, 1)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.blocks):
        for name, iteration in contenders.items():
            samples[name].append(timed(iteration, real, args.iters))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    reference, rendered = medians.values()
    print(f"device {device}, batch {BATCH}, {args.blocks} blocks x {args.iters} iterations")
    for name, value in medians.items():
        spread = f"min {min(samples[name]) * 1e3:.0f} ms, max {max(samples[name]) * 1e3:.0f} ms"
        print(f"  {name:45s} median {value * 1e3:8.1f} ms/iter ({spread})")
    ratio = reference / rendered
    print(f"  speed ratio reference/rendered: {ratio:.2f} (above 1.0: rendered is faster)")
    if args.json:
        print(json.dumps({"device": str(device), "medians_s": medians, "ratio": ratio}))


if __name__ == "__main__":
    main()
