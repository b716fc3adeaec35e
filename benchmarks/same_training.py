"""Does a change to the image templates change what a preset trains? Compare with a git revision.

Renders each preset twice, from ganspec at REV (``git archive``) and from this working tree,
trains both renders for N steps on the CPU from the same seed (``train.py --max-steps N``),
and compares the final G and D weights tensor by tensor. A refactor of the rendered code
should print ``bitwise equal`` for every preset; then every quality figure measured at REV
(benchmarks/quality.py) holds unchanged for this tree.

    python benchmarks/same_training.py --ref af13930 [--presets mlp-ring8 dcgan-64] [--steps 5]
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def ganspec_at(ref: str, folder: Path) -> Path:
    """ganspec's source at ``ref``, unpacked into ``folder``."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def render(source: Path, preset: str, out: Path) -> None:
    """Render ``preset`` with the ganspec found in ``source``."""
    env = {**os.environ, "PYTHONPATH": str(source)}
    spec = ROOT / "specs" / f"{preset}.yaml"
    command = [sys.executable, "-m", "ganspec", "render", str(spec), "--out", str(out)]
    subprocess.run(command, check=True, env=env, cwd=source, capture_output=True)


def trained_weights(project: Path, steps: int) -> dict[str, torch.Tensor]:
    """G's and D's weights after ``steps`` steps of the project's own train.py."""
    run = project / "runs" / "same"
    command = [sys.executable, "train.py", "--max-steps", str(steps), "--device", "cpu"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    subprocess.run(
        [*command, "--out", str(run)], check=True, cwd=project, env=env, capture_output=True
    )
    state = torch.load(run / "last.pt", map_location="cpu", weights_only=True)
    return {
        f"{net}.{k}": v for net in ("generator", "discriminator") for k, v in state[net].items()
    }


def compare(old: dict[str, torch.Tensor], new: dict[str, torch.Tensor]) -> str:
    """Tensors matched by name, or in order where a revision only renamed the layers (same
    count and shapes in the same order)."""
    note = ""
    if list(old) != list(new):
        shapes = [t.shape for t in old.values()] == [t.shape for t in new.values()]
        if not shapes:
            return "different parameters: " + ", ".join(sorted(set(old) ^ set(new))[:4])
        note = " (layers renamed: compared in order)"
    pairs = list(zip(old.values(), new.values(), strict=True))
    if all(torch.equal(a, b) for a, b in pairs):
        return "bitwise equal" + note
    worst = max((a.double() - b.double()).abs().max().item() for a, b in pairs)
    return f"max |diff| {worst:.3g}{note}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", required=True, help="git revision to compare with")
    parser.add_argument("--presets", nargs="+", default=["mlp-ring8", "dcgan-64"])
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ganspec-same-") as temp:
        old_source = ganspec_at(args.ref, Path(temp) / "ref")
        results = []
        for preset in args.presets:
            old, new = Path(temp) / f"{preset}-ref", Path(temp) / f"{preset}-now"
            render(old_source, preset, old)
            render(ROOT, preset, new)
            verdict = compare(trained_weights(old, args.steps), trained_weights(new, args.steps))
            results.append(verdict == "bitwise equal")
            print(f"{preset}: {args.steps} steps, G and D weights {verdict}", flush=True)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
