"""What each speed-up of the MLP presets' training step is worth, measured side by side.

Renders a 2-D preset (``mlp-grid25`` by default) into a temporary folder, imports its
``train.py`` and times one iteration (one D step and one G step, as train.py runs them) in
four variants that differ in one thing each from the next:

- ``R1 every step``: the penalty's double backward on every D update, plain Adam, real and
  fake scored in two D forwards (how the presets trained before lazy R1);
- ``lazy R1``: R1 on every 16th D update only (``training.r1_every: 16``);
- ``+ fused Adam``: PyTorch's fused Adam kernel (what ``make_optimizer`` picks on CPU/CUDA);
- ``+ one D forward``: real and fake scored together (``score_real_and_fake``; the shipped step).

Blocks of the four are interleaved so machine noise hits them alike; the script prints medians
and each variant's speed-up over the first. One CPU thread, as benchmarks/quality.py trains.

    python benchmarks/mlp_step.py [--preset mlp-grid25] [--batch 128] [--blocks 9] [--iters 32]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

ROOT = Path(__file__).resolve().parent.parent
LAZY = 16


def render(preset: str) -> Path:
    from click.testing import CliRunner

    from ganspec.cli import cli

    folder = Path(tempfile.mkdtemp(prefix="ganspec-bench-")) / preset
    result = CliRunner().invoke(
        cli, ["render", str(ROOT / "specs" / f"{preset}.yaml"), "--out", str(folder)]
    )
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return folder


def scored_apart(gan: Any, real: Any, fake: Any, labels: Any, fake_labels: Any) -> Any:
    """Real and fake in two D forwards, as a D with BatchNorm needs."""
    return gan.d_ddp(real, labels), gan.d_ddp(fake, fake_labels)


def variant(
    train: Any, cfg: dict[str, Any], r1_every: int, fused: bool, one_forward: bool
) -> Callable[[torch.Tensor], None]:
    """One iteration of the rendered loop with the given settings."""
    cfg = {**cfg, "training": {**cfg["training"], "r1": 0.1, "r1_every": r1_every}}
    cpu = torch.device("cpu")
    gan = train.build_gan(cfg, cpu)
    if not fused:  # make_optimizer fuses on CPU; without a device it builds the plain loop
        optimizers = cfg["training"]["optimizers"]
        gan.opt_g = train.make_optimizer(gan.generator.parameters(), optimizers["generator"])
        gan.opt_d = train.make_optimizer(
            gan.discriminator.parameters(), optimizers["discriminator"]
        )
    # variants are all built before any runs, so this is still train.py's own function
    score = train.score_real_and_fake if one_forward else scored_apart
    batch = cfg["data"]["batch_size"]
    step = [0]

    def iteration(real: torch.Tensor) -> None:
        train.score_real_and_fake = score
        train.discriminator_step(gan, cfg, real, None, step[0], keep_fake=True)
        train.generator_step(gan, cfg, batch, step[0], cpu)
        step[0] += 1

    return iteration


def timed(iteration: Callable[[torch.Tensor], None], real: torch.Tensor, iters: int) -> float:
    start = time.perf_counter()
    for _ in range(iters):
        iteration(real)
    return (time.perf_counter() - start) / iters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mlp-grid25", choices=["mlp-grid25", "mlp-ring8"])
    parser.add_argument("--batch", type=int, default=None, help="default: the preset's")
    parser.add_argument("--blocks", type=int, default=9)
    parser.add_argument("--iters", type=int, default=32, help="iterations per block")
    args = parser.parse_args()
    torch.set_num_threads(1)
    folder = render(args.preset)
    sys.path.insert(0, str(folder))
    import config
    import train

    cfg = config.load_config(folder / "config.yaml")
    if args.batch:
        cfg["data"]["batch_size"] = args.batch
    torch.manual_seed(0)
    real = torch.randn(cfg["data"]["batch_size"], 2)
    contenders = {
        "R1 every step": variant(train, cfg, 1, fused=False, one_forward=False),
        f"lazy R1 (every {LAZY})": variant(train, cfg, LAZY, fused=False, one_forward=False),
        "+ fused Adam": variant(train, cfg, LAZY, fused=True, one_forward=False),
        "+ one D forward (shipped)": variant(train, cfg, LAZY, fused=True, one_forward=True),
    }
    for iteration in contenders.values():  # warm-up: allocator, lazy init
        timed(iteration, real, 4)
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(args.blocks):
        for name, iteration in contenders.items():
            samples[name].append(timed(iteration, real, args.iters))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    first = next(iter(medians.values()))
    batch = cfg["data"]["batch_size"]
    print(f"{args.preset}, batch {batch}, 1 thread, {args.blocks} blocks x {args.iters} iterations")
    for name, value in medians.items():
        print(f"  {name:28s} median {value * 1e3:6.2f} ms/iter   speed-up {first / value:.2f}x")


if __name__ == "__main__":
    main()
