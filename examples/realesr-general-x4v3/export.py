"""Export the network with torch.export: one .pt2 file that runs without this code.

    python export.py --out model.pt2                   # the release weights (checked first)
    python export.py --out model.pt2 --random-weights  # try it before downloading them

The program takes a (batch, 3, height, width) float32 tensor in [0, 1] (RGB order, as the
network was trained; ``upscale.py`` does the BGR/RGB and dtype handling) and returns the image
enlarged by ``contract.SCALE``. Batch, height and width are free (``torch.export.Dim``), except
that RRDBNet at scale 2 (or 1) folds 2x2 (4x4) pixel blocks into channels first, so there height
and width must be multiples of 2 (4): their Dims are declared as ``2 * Dim(...)``.

Before the file is kept it is saved, loaded back and compared with the eager model on inputs of
sizes the trace never saw; a program that differs by more than ``--tolerance`` is not kept.
Load it elsewhere with ``torch.export.load("model.pt2").module()(x)``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn
from torch.export import Dim, ExportedProgram

import weights
from weights import WeightsError


def size_multiple(model: nn.Module) -> int:
    """Height and width must be multiples of this: RRDBNet's pixel_unshuffle factor (2 for
    scale 2, 4 for scale 1), else 1."""
    return int(getattr(model, "unshuffle", 1))


def check_size(model: nn.Module, height: int, width: int) -> None:
    """Raise ValueError for a size the network cannot take."""
    multiple = size_multiple(model)
    if height < 1 or width < 1:
        raise ValueError(f"height and width must be positive, not {height}x{width}")
    if height % multiple or width % multiple:
        raise ValueError(
            f"{type(model).__name__} at this scale folds {multiple}x{multiple} pixel blocks: "
            f"height and width must be multiples of {multiple}, not {height}x{width}"
        )


def example_input(
    height: int, width: int, batch: int = 1, channels: int = 3, seed: int = 0
) -> torch.Tensor:
    """A fixed random image batch in [0, 1], the network's input range."""
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(batch, channels, height, width, generator=generator)


def in_channels(model: nn.Module) -> int:
    """The image channels the network takes (RRDBNet's conv_first sees them unshuffled)."""
    if hasattr(model, "num_in_ch"):
        return int(model.num_in_ch)
    return int(model.conv_first.in_channels) // size_multiple(model) ** 2


def export_model(
    model: nn.Module, height: int = 64, width: int = 64, dynamic: bool = True
) -> ExportedProgram:
    """The model (put in eval mode) exported for inference; with ``dynamic``, batch, height and
    width are free (height and width in steps of ``size_multiple(model)``), else fixed at
    (1, C, height, width)."""
    check_size(model, height, width)
    model.eval()
    if not dynamic:
        with torch.no_grad():
            return torch.export.export(
                model, (example_input(height, width, 1, in_channels(model)),)
            )
    multiple = size_multiple(model)
    if multiple > 1:
        # pixel_unshuffle needs exact multiples; a derived Dim states it, so the guard holds.
        rows = multiple * Dim("height_blocks", min=1)
        cols = multiple * Dim("width_blocks", min=1)
    else:
        rows, cols = Dim("height", min=1), Dim("width", min=1)
    # Batch 2 in the example: a size of 1 would be specialised to the constant 1.
    x = example_input(height, width, batch=2, channels=in_channels(model))
    with torch.no_grad():
        return torch.export.export(
            model, (x,), dynamic_shapes=({0: Dim("batch", min=1), 2: rows, 3: cols},)
        )


def check_sizes(model: nn.Module, height: int, width: int) -> list[tuple[int, int]]:
    """Two sizes the trace at height x width never saw, valid for the model: with m =
    ``size_multiple(model)``, (height + 3m, width // 2 + m) and (height // 2 + m, width + 5m),
    each rounded down to a multiple of m (m at least)."""
    multiple = size_multiple(model)

    def valid(n: int) -> int:
        return max(multiple, n - n % multiple)

    return [
        (valid(height + 3 * multiple), valid(width // 2 + multiple)),
        (valid(height // 2 + multiple), valid(width + 5 * multiple)),
    ]


@torch.no_grad()
def check_export(
    program: ExportedProgram, model: nn.Module, sizes: Iterable[tuple[int, int]], seed: int = 1
) -> float:
    """The largest absolute difference between the exported program and the eager model on a
    random image of each size."""
    module = program.module()
    model.eval()
    difference = 0.0
    for index, (height, width) in enumerate(sizes):
        check_size(model, height, width)
        x = example_input(height, width, channels=in_channels(model), seed=seed + index)
        difference = max(difference, (module(x) - model(x)).abs().max().item())
    return difference


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="torch.export the network and check the file against the eager model"
    )
    parser.add_argument("--out", type=Path, default=Path("model.pt2"))
    parser.add_argument(
        "--random-weights",
        action="store_true",
        help="export seeded random weights (for trying the pipeline; NOT a super-resolution)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-weights")
    parser.add_argument(
        "--root", type=Path, default=None, help="folder the weights paths start at (default: here)"
    )
    parser.add_argument("--height", type=int, default=64, help="example input height to trace")
    parser.add_argument("--width", type=int, default=64, help="example input width to trace")
    parser.add_argument(
        "--static", action="store_true", help="fix the input at 1 x 3 x height x width"
    )
    parser.add_argument(
        "--tolerance", type=float, default=1e-4, help="largest accepted difference to eager"
    )
    args = parser.parse_args(argv)
    if args.out.is_dir():
        print(
            f"error: --out {args.out} is a folder: give the file to write, e.g. "
            f"{args.out / 'model.pt2'}",
            file=sys.stderr,
        )
        return 2

    try:
        model = weights.load_model(
            "cpu", random_weights=args.random_weights, seed=args.seed, root=args.root
        )
    except WeightsError as error:
        print(f"error: {error} (or pass --random-weights to try the export)", file=sys.stderr)
        return 2
    try:
        check_size(model, args.height, args.width)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    start = time.perf_counter()
    program = export_model(model, args.height, args.width, dynamic=not args.static)
    seconds = time.perf_counter() - start
    sizes = [(args.height, args.width)]
    if not args.static:
        sizes += check_sizes(model, args.height, args.width)

    out = args.out
    temp = out.with_name(f".{out.name}.{os.getpid()}.{secrets.token_hex(4)}.pt2")
    shown = ", ".join(f"{h}x{w}" for h, w in sizes)
    try:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            torch.export.save(program, temp)
        except OSError as error:
            print(f"error: cannot write {out}: {error.strerror or error}", file=sys.stderr)
            return 2
        difference = check_export(torch.export.load(temp), model, sizes)
        if difference > args.tolerance:
            print(
                f"error: the exported program differs from eager by {difference:.3g} "
                f"(> {args.tolerance:g}) at {shown}; {out} not written",
                file=sys.stderr,
            )
            return 1
        try:
            os.replace(temp, out)
        except OSError as error:  # e.g. a folder made at that name meanwhile
            print(f"error: cannot write {out}: {error.strerror or error}", file=sys.stderr)
            return 2
    finally:
        Path(temp).unlink(missing_ok=True)
    shapes = "fixed size" if args.static else "free batch, height and width"
    what = "RANDOM weights, not a super-resolution" if args.random_weights else "release weights"
    print(f"exported {out} in {seconds:.1f} s ({shapes}; {what})")
    print(f"max abs difference to eager at {shown}: {difference:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
