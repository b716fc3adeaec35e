"""A health report of the upscaling pipeline: does this project turn an image into a correct,
larger one? ``ganspec smoke`` runs it.

    python health.py                    # a readable report
    python health.py --json             # one JSON object on one line of stdout
    python health.py --steps 5 --device cpu

It loads the release weights when they verify, else seeded random weights in the release
format (a "warn" check says so loudly: the pipeline is checked, the pictures are not
super-resolved), then upscales a small crop of scikit-learn's china.jpg ``--steps`` times and
checks: the output's size is the input's times outscale; dtype and channel count are kept for
an 8-bit, a 16-bit, a gray and an alpha copy; the network's output is finite; tiled output
equals untiled (with the network's receptive radius as tile padding) to float tolerance; the
output survives writing and reading back. A crash is a failed check (no_crash, with the end of
the traceback), not a missing report. Exit 0 healthy, 1 otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from torch import nn

import contract
import images
import models
import tiles
import upscale
import weights

DEFAULT_STEPS = 3
CROP = (slice(160, 184), slice(300, 332))  # 24 x 32 pixels of china.jpg: the temple's roof
TILE = 16  # input pixels per tile in the tiling check: several tiles over the crop
TILE_OVERLAP = 4
# Largest tiled-vs-untiled difference, in [0, 1] image units, that counts as equal: float32
# summation order only (measured ~1e-7); half precisions round to ~3 significant digits.
TILING_TOLERANCE = {"fp32": 1e-4, "fp16": 1e-2, "bf16": 3e-2}
JPEG_MEAN_ERROR = 8.0  # a lossy jpg read back is within this mean absolute error (8-bit units)
CRASH_LINES = 12


def check(name: str, status: str, detail: str = "") -> dict[str, str]:
    return {"name": name, "status": status, "detail": detail}


def peak_rss_mib() -> float | None:
    """This process's peak resident memory (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes / KiB


@dataclass
class Report:
    """Every field of the report; the defaults are what a run that got nowhere reports.
    ``ganspec smoke`` checks this shape (ganspec/smoke.py, HealthReport)."""

    checks: list[dict[str, str]]
    steps_requested: int
    device: str
    synthetic: bool = False
    error: str | None = None
    steps: int = 0
    step_unit: str = "image"
    data_source: str | None = None
    model: str = contract.MODEL
    weights: str | None = None  # "release" or "random"
    precision: str = contract.SETTINGS.precision
    input_shape: list[int] | None = None
    output_shape: list[int] | None = None
    tiling_max_abs_diff: float | None = None
    seconds_per_step: float | None = None
    peak_rss_mib: float | None = field(default_factory=peak_rss_mib)
    cuda_max_memory_allocated_mib: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The report as printed: healthy exactly when no check failed and nothing crashed."""
        failed = [c["name"] for c in self.checks if c["status"] == "fail"]
        return {"healthy": not failed and self.error is None, "failed": failed, **asdict(self)}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="images upscaled")
    parser.add_argument("--device", default=contract.SETTINGS.device, help="auto|cpu|cuda|mps")
    parser.add_argument(
        "--synthetic", action="store_true", help="a random image instead of the china.jpg crop"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of random weights and images")
    parser.add_argument("--overwrite", action="store_true", help="accepted; nothing to replace")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error("--steps must be at least 1")
    return args


def test_image(synthetic: bool, seed: int) -> tuple[np.ndarray, str]:
    """A 24 x 32 BGR uint8 image and where it came from: the china.jpg crop, or random pixels
    with --synthetic or where scikit-learn is not installed."""
    if not synthetic:
        try:
            photo = images.read_image(images.sklearn_photos()[0])
            return np.ascontiguousarray(photo[CROP]), "sklearn-photos crop (china.jpg 24x32)"
        except images.ImageError as error:
            reason = f"random 24x32 image ({error})"
    else:
        reason = "random 24x32 image (--synthetic)"
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8), reason


def load(device: torch.device, seed: int) -> tuple[nn.Module, dict[str, str], str]:
    """The release model when its weights verify, else random weights: a loud warning when
    the release files are not there yet (the user fetches them later), a failure when a file
    is there but wrong (truncated, another model, tampered with). The rest of the checks run
    on the random weights either way."""
    try:
        model = weights.load_model(device)
        return (
            model,
            check("weights", "pass", f"release weights {contract.WEIGHTS.path}"),
            "release",
        )
    except weights.WeightsError as error:
        model = weights.load_model(device, random_weights=True, seed=seed)
        files = [contract.WEIGHTS, contract.WEAK_DENOISE_WEIGHTS]
        present = any(f is not None and weights.resolve(f).exists() for f in files)
        detail = f"RANDOM weights (seed {seed}), outputs are NOT super-resolved: {error}"
        return model, check("weights", "fail" if present else "warn", detail), "random"


def variants(image: np.ndarray) -> dict[str, np.ndarray]:
    """The test image as 8-bit BGR, 16-bit BGR, 8-bit gray and 8-bit BGRA."""
    alpha = np.linspace(0, 255, image.shape[0] * image.shape[1]).reshape(image.shape[:2])
    return {
        "8-bit BGR": image,
        "16-bit BGR": images.convert_depth(image, "16", image.dtype),
        "gray": cv2.cvtColor(image, cv2.COLOR_BGR2GRAY),
        "BGRA": np.dstack([image, alpha.astype(np.uint8)]),
    }


def network_input(image: np.ndarray, model: nn.Module) -> torch.Tensor:
    """The BGR uint8 image as the network sees it: (1, 3, H, W) RGB in [0, 1]."""
    parameter = next(model.parameters())
    rgb = torch.from_numpy(np.ascontiguousarray(image[:, :, ::-1])).permute(2, 0, 1)[None]
    return (rgb.float() / 255).to(device=parameter.device, dtype=parameter.dtype)


def run_checks(args: argparse.Namespace, report: Report) -> None:
    """Fill ``report`` in, check by check."""
    device = upscale.pick_device(args.device)
    report.device = str(device)
    settings = dataclasses.replace(contract.SETTINGS, device=str(device), channel_order="bgr")
    upscale.check_settings(settings)
    report.precision = settings.precision
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)

    model, weights_check, report.weights = load(device, args.seed)
    report.checks.append(weights_check)
    image, report.data_source = test_image(args.synthetic, args.seed)
    report.input_shape = list(image.shape)

    times = []
    for _ in range(args.steps):
        start = time.perf_counter()
        out = upscale.upscale_array(model, image, settings)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        times.append(time.perf_counter() - start)
        report.steps += 1
    report.seconds_per_step = statistics.median(times)
    report.output_shape = list(out.shape)

    expected = (*upscale.output_size(*image.shape[:2], settings.outscale), 3)
    report.checks.append(
        check(
            "output_shape",
            "pass" if out.shape == expected else "fail",
            f"{image.shape} x {settings.outscale:g} -> {out.shape}, expected {expected}",
        )
    )
    report.checks.append(check_kept(model, image, settings))
    report.checks.append(check_finite(model, image))
    report.checks.append(check_tiling(model, image, settings, report))
    report.checks.append(check_written(out))
    if device.type == "cuda":
        report.cuda_max_memory_allocated_mib = torch.cuda.max_memory_allocated(device) / 2**20


def check_kept(model: nn.Module, image: np.ndarray, settings: contract.Settings) -> dict:
    """dtype and channel count of 8-bit, 16-bit, gray and alpha copies come back unchanged."""
    problems = []
    for name, variant in variants(image).items():
        out = upscale.upscale_array(model, variant, settings)
        channels = upscale.output_channels(variant, settings)
        got = 1 if out.ndim == 2 else out.shape[2]
        if out.dtype != variant.dtype or got != channels:
            problems.append(f"{name} came back {out.dtype} with {got} channels")
    if problems:
        return check("dtype_and_channels_kept", "fail", "; ".join(problems))
    return check("dtype_and_channels_kept", "pass", "8-bit, 16-bit, gray and alpha copies")


@torch.inference_mode()
def check_finite(model: nn.Module, image: np.ndarray) -> dict:
    """The network's raw output has no NaN or Inf (the uint8 output would hide them)."""
    raw = model(network_input(image, model)).float()
    if not torch.isfinite(raw).all():
        return check("finite", "fail", f"{int((~torch.isfinite(raw)).sum())} NaN/Inf values")
    low, high = raw.min().item(), raw.max().item()
    return check("finite", "pass", f"network output in [{low:.3g}, {high:.3g}]")


def check_tiling(
    model: nn.Module, image: np.ndarray, settings: contract.Settings, report: Report
) -> dict:
    """Tiled == untiled to float tolerance with the receptive radius as padding (every blended
    value had its whole context); the difference at the contract's own padding is reported."""
    x = network_input(image, model)
    scale = models.scale_of(model)
    radius = tiles.receptive_radius(model)
    exact = tiles.tiling_error(model, x, scale, TILE, radius, TILE_OVERLAP)
    report.tiling_max_abs_diff = exact
    contract_pad = min(settings.tile_pad, TILE - 1)
    short = tiles.tiling_error(model, x, scale, TILE, contract_pad, TILE_OVERLAP)
    tolerance = TILING_TOLERANCE[settings.precision]
    detail = (
        f"{TILE}-pixel tiles, overlap {TILE_OVERLAP}: max |tiled - untiled| {exact:.2g} with "
        f"a {radius}-pixel pad (tolerance {tolerance:g}); {short:.2g} with a {contract_pad}-pixel "
        "pad"
    )
    return check("tiled_equals_untiled", "pass" if exact <= tolerance else "fail", detail)


def check_written(out: np.ndarray) -> dict:
    """The output written as contract.OUTPUT_FORMAT and read back: the same image (jpg:
    the same size, within its compression error)."""
    fmt = contract.OUTPUT_FORMAT
    with tempfile.TemporaryDirectory(prefix="health-") as folder:
        path = Path(folder) / f"health.{fmt}"
        images.write_image(path, out, fmt, contract.JPEG_QUALITY)
        back = images.read_image(path)
    if back.shape != out.shape or back.dtype != out.dtype:
        return check(
            "written_and_read_back", "fail", f"wrote {out.shape} {out.dtype}, read {back.shape}"
        )
    error = float(np.abs(back.astype(np.float64) - out).mean())
    ok = error <= JPEG_MEAN_ERROR if fmt == "jpg" else error == 0
    return check(
        "written_and_read_back",
        "pass" if ok else "fail",
        f"{fmt}: {back.shape[1]}x{back.shape[0]} {back.dtype}, mean abs error {error:.3g}",
    )


def health(args: argparse.Namespace) -> dict[str, Any]:
    report = Report([], steps_requested=args.steps, device=args.device, synthetic=args.synthetic)
    try:
        run_checks(args, report)
    except Exception as error:  # a crash is a failed check with its traceback, not no report
        lines = traceback.format_exception(type(error), error, error.__traceback__)
        report.checks.append(check("no_crash", "fail", lines[-1].strip()))
        report.error = "\n".join("".join(lines).rstrip().splitlines()[-CRASH_LINES:])
    report.peak_rss_mib = peak_rss_mib()
    return report.as_dict()


def json_safe(value: Any) -> Any:
    """NaN and Inf are not JSON: they become the strings "nan", "inf" and "-inf"."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def format_report(report: dict[str, Any]) -> str:
    seconds = report["seconds_per_step"]
    lines = [
        f"{'HEALTHY' if report['healthy'] else 'UNHEALTHY'}: {report['model']} on "
        f"{report['device']}, {report['weights'] or 'no'} weights, {report['data_source']}",
        f"  {report['steps']}/{report['steps_requested']} images, "
        + (f"{seconds:.3g} s per image" if seconds is not None else "no timing")
        + (f", peak RSS {report['peak_rss_mib']:.0f} MiB" if report["peak_rss_mib"] else ""),
    ]
    lines += [f"  [{c['status']:>4}] {c['name']}: {c['detail']}" for c in report["checks"]]
    if report["error"]:
        lines += ["", report["error"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = health(args)
    print(json.dumps(json_safe(report)) if args.json else format_report(report), flush=True)
    return 0 if report["healthy"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
