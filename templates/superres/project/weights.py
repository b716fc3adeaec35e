"""The released weights: checked before they are loaded, loaded without running any code.

    python weights.py                       # is each weights file a run reads the release? (0 or 2)
    python weights.py --random PATH         # seeded random weights in the release format

Why the checks come first: a ``.pth`` file is a pickle, and unpickling can run code. We check
the file's size (cheap) and sha256 against the release before ``torch.load`` ever sees it, and
``torch.load`` then runs with ``weights_only=True`` (never ``False``), which refuses anything
but tensors and plain containers. A wrong, truncated or missing file gets a one-line message
saying what to do, not a traceback.

Random weights (``load_model(random_weights=True)``, ``--random``) exist for trying the
pipeline where the release is not downloaded yet: they go through the same save/load path as
a release file, and every use says loudly that the output is not a super-resolution.
"""

from __future__ import annotations

import argparse
import io
import pickle
import stat
import sys
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

import contract
import models
from contract import WeightsFile
from storage import sha256_of, write_atomic

PROJECT = contract.PROJECT  # relative weights paths start here


class WeightsError(Exception):
    """A weights file that must not be loaded; the message is one line: what, and what to do."""


def describe(path: Path, url: str = "") -> WeightsFile:
    """A WeightsFile for a file at hand (its size and sha256): for checking your own weights,
    e.g. a fine-tuned model, the way release files are checked."""
    path = Path(path)
    return WeightsFile(path=str(path), size=path.stat().st_size, sha256=sha256_of(path), url=url)


def resolve(file: WeightsFile, root: Path | None = None) -> Path:
    """Where ``file`` lives: a relative path starts at ``root`` (the project folder by default),
    an absolute one stays as it is."""
    return (Path(root) if root is not None else PROJECT) / file.path


def verify(file: WeightsFile, root: Path | None = None) -> Path:
    """The path of ``file`` under ``root`` once it is known to be the release file.

    Size first (a stat), then the sha256 (a full read); raises WeightsError otherwise.
    """
    path = resolve(file, root)
    name = Path(file.path).name
    try:
        info = path.stat()  # inside the try: no permission on a folder above it is an OSError
        if stat.S_ISDIR(info.st_mode):
            raise WeightsError(f"weights path {path} is a folder, not a file: put {name} there")
        if not stat.S_ISREG(info.st_mode):
            raise WeightsError(f"weights path {path} is not a regular file: put {name} there")
        size = info.st_size
        if size < file.size:
            raise WeightsError(
                f"weights file {path} is truncated: {size:,} of {file.size:,} bytes "
                f"(or it is not the release file); download it again from {file.url}"
            )
        if size != file.size:
            raise WeightsError(
                f"weights file {path} is not the release file {name}: {size:,} bytes, "
                f"expected {file.size:,}; download it again from {file.url}"
            )
        digest = sha256_of(path)
    except (FileNotFoundError, NotADirectoryError):
        raise WeightsError(
            f"weights file {path} not found: download {file.url} and put it there"
        ) from None
    except OSError as error:
        raise WeightsError(f"cannot read weights file {path}: {error.strerror or error}") from None
    if digest != file.sha256:
        raise WeightsError(
            f"weights file {path} is not the release file {name}: sha256 {digest}, "
            f"expected {file.sha256}; download it again from {file.url}"
        )
    return path


def read_state(path: Path) -> dict[str, torch.Tensor]:
    """The state dict in a release-format file: ``params_ema`` if present (the EMA weights
    upstream runs), else ``params``, else the file's dict itself.

    ``weights_only=True``: anything but tensors in plain containers (a pickle that would run
    code, a pickled module) is refused by torch's unpickler without being run.
    """
    try:
        with warnings.catch_warnings():
            # A pickle protocol other than torch's own is refused or read safely all the same.
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"weights file {path} not found") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise WeightsError(
            f"{path} is not a weights file torch loads safely ({refusal(error)}); "
            "refused without running it"
        ) from None
    state = checkpoint
    if isinstance(checkpoint, Mapping):
        for key in ("params_ema", "params"):
            if key in checkpoint:
                state = checkpoint[key]
                break
    if not isinstance(state, Mapping) or not state:
        raise WeightsError(
            f"{path} is not a weights file: it holds {type(state).__name__}, "
            "not a dict of tensors; refused without running it"
        )
    for key, value in state.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise WeightsError(
                f"{path} is not a weights file: entry {key!r} is a {type(value).__name__}, "
                "not a tensor; refused without running it"
            )
    return dict(state)


def refusal(error: BaseException) -> str:
    """The line of a torch.load error that says what was refused, without torch's boilerplate
    (which suggests ``weights_only=False``: exactly what must not be done with such a file)."""
    boilerplate = ("Weights only load failed", "Please file an issue", "Check the documentation")
    for line in str(error).splitlines():
        line = line.strip()
        if line and not line.startswith(boilerplate):
            return line[:160]
    return type(error).__name__


def dni(
    strong: Mapping[str, torch.Tensor], weak: Mapping[str, torch.Tensor], strength: float
) -> dict[str, torch.Tensor]:
    """Deep network interpolation, as upstream's ``RealESRGANer.dni``: for every key,
    ``strength * strong[k] + (1 - strength) * weak[k]``.

    ``strong`` is the model's own weights (general-x4v3, denoising fully), ``weak`` the
    weak-denoise weights (general-wdn-x4v3): strength 1 denoises most, 0 keeps the noise.
    """
    missing = sorted(set(strong) ^ set(weak))
    if missing:
        raise WeightsError(
            f"cannot interpolate the weights: key {missing[0]} is in only one of the two files"
        )
    blended = {}
    for key, a in strong.items():
        b = weak[key]
        if a.shape != b.shape:
            raise WeightsError(
                f"cannot interpolate the weights: {key} has shape {tuple(a.shape)} in one file "
                f"and {tuple(b.shape)} in the other"
            )
        blended[key] = strength * a + (1 - strength) * b
    return blended


def random_model(seed: int = 0) -> nn.Module:
    """``contract.MODEL`` as ``models.build`` makes it (train mode), initialised under
    ``torch.manual_seed(seed)`` in a forked RNG: the same seed gives the same weights, and the
    global RNG is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return models.build(contract.MODEL)


def save_release(model: nn.Module, path: Path, key: str = "params_ema") -> None:
    """Save ``model`` as ``{key: state_dict}``, the released files' format, atomically
    (storage.write_atomic): no half-written file is ever at ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save({key: state}, buffer)
    write_atomic(path, buffer.getvalue())


def random_banner(weights: WeightsFile | None = None, root: Path | None = None) -> str:
    """What every use of random weights prints: the output is not a super-resolution."""
    weights = weights or contract.WEIGHTS
    line = "!" * 78
    return "\n".join(
        [
            line,
            "!! RANDOM WEIGHTS: the output is NOT a super-resolution.",
            "!! The network is randomly initialised; use this for checking the pipeline only.",
            f"!! For real results download {weights.url}",
            f"!! to {resolve(weights, root)}",
            line,
        ]
    )


def check_fits(model: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise WeightsError naming the first keys or shapes that keep ``state`` from loading
    strictly into ``model``."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    problems = []
    if missing:
        problems.append(f"missing keys {', '.join(missing[:3])}" + more(missing))
    if unexpected:
        problems.append(f"unexpected keys {', '.join(unexpected[:3])}" + more(unexpected))
    if wrong:
        key = wrong[0]
        problems.append(
            f"{key} has shape {tuple(state[key].shape)}, expected {tuple(expected[key].shape)}"
            + more(wrong, 1)
        )
    if problems:
        raise WeightsError(
            f"{source} does not fit {contract.MODEL}: {'; '.join(problems)} "
            "(weights for another model?)"
        )


def more(items: list[str], shown: int = 3) -> str:
    return f" (+{len(items) - shown} more)" if len(items) > shown else ""


def needs_weak(strength: float | None) -> bool:
    """Whether the weak-denoise weights are read: only for a blend, strength below 1.
    Upstream skips the blend at strength 1 (it would return the strong weights exactly)."""
    return strength is not None and strength != 1.0


def load_model(
    device: torch.device | str = "cpu",
    *,
    random_weights: bool = False,
    seed: int = 0,
    root: Path | None = None,
    weights: WeightsFile | None = None,
    weak: WeightsFile | None = None,
    strength: float | None = None,
) -> nn.Module:
    """``contract.MODEL`` with verified weights, loaded weights-only and strictly, in eval mode
    on ``device``. Without ``weights``, the contract's WEIGHTS, WEAK_DENOISE_WEIGHTS and
    DENOISE_STRENGTH, read at call time (``weak`` and ``strength`` are then ignored); with it,
    ``weak`` and ``strength`` as given. A strength other than None or 1 blends the two files
    with ``dni``; 0..1 only (ValueError).

    ``random_weights=True`` reads no file: it prints a loud banner to stderr and loads seeded
    random weights through the same release-format save/load path.
    """
    if weights is None:
        weights = contract.WEIGHTS
        weak, strength = contract.WEAK_DENOISE_WEIGHTS, contract.DENOISE_STRENGTH
    if strength is not None and not 0.0 <= strength <= 1.0:
        raise ValueError(f"denoise strength must be between 0 and 1, not {strength}")
    model = models.build(contract.MODEL)
    if random_weights:
        print(random_banner(weights, root), file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="random-weights-") as folder:
            path = Path(folder) / "random.pth"
            save_release(random_model(seed), path)
            state = read_state(path)
        source = f"random weights (seed {seed})"
    else:
        path = verify(weights, root)
        state = read_state(path)
        source = str(path)
        if needs_weak(strength):
            if weak is None:
                raise WeightsError(
                    f"a denoise strength of {strength} needs the weak-denoise weights, "
                    "and the contract names none"
                )
            state = dni(state, read_state(verify(weak, root)), strength)
            source = f"{path} blended with {resolve(weak, root)}"
    check_fits(model, state, source)
    model.load_state_dict(state, strict=True)
    return model.eval().to(device)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Check the weights files against the release, or write random ones."
    )
    parser.add_argument(
        "--root", type=Path, default=None, help="folder the weights paths start at (default: here)"
    )
    parser.add_argument(
        "--random",
        type=Path,
        metavar="PATH",
        help="write seeded random weights in the release format to PATH (pipeline checks only)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for --random")
    parser.add_argument("--force", action="store_true", help="let --random replace a file")
    args = parser.parse_args(argv)

    if args.random is not None:
        if args.random.exists() and not args.force:
            print(f"error: {args.random} exists; pass --force to replace it", file=sys.stderr)
            return 2
        try:
            save_release(random_model(args.seed), args.random)
        except OSError as error:
            print(f"error: cannot write {args.random}: {error.strerror or error}", file=sys.stderr)
            return 2
        print(random_banner(contract.WEIGHTS, args.root), file=sys.stderr)
        print(f"wrote RANDOM weights (seed {args.seed}) for {contract.MODEL} to {args.random}")
        return 0

    files = [contract.WEIGHTS]
    weak = contract.WEAK_DENOISE_WEIGHTS
    if weak is not None and needs_weak(contract.DENOISE_STRENGTH):
        files.append(weak)
    status = 0
    for file in files:
        try:
            path = verify(file, args.root)
        except WeightsError as error:
            print(f"error: {error}")
            status = 2
        else:
            print(f"ok: {path} ({file.size:,} bytes, sha256 {file.sha256[:12]}...)")
    if weak is not None and weak not in files:
        print(
            f"not needed: {resolve(weak, args.root)} (the denoise strength is "
            f"{contract.DENOISE_STRENGTH}: the weak-denoise weights are read only below 1)"
        )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
