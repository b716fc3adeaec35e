"""The superres templates' context: the spec's contract as ready values for contract.py.j2,
the README and the agent files. Decisions happen here, in Python; the templates only place."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ganspec import __version__
from ganspec.render.superres_prompt import prompt_context
from ganspec.superres.context import SuperresContext
from ganspec.superres.memory import megapixel_memory, tile_memory
from ganspec.superres.releases import WEAK_DENOISE, Release

SKLEARN_PHOTOS = "sklearn-photos"  # images.SKLEARN_PHOTOS in the rendered project


def weights_context(release: Release, path: str) -> dict[str, Any]:
    return {
        "name": release.name,
        "path": path,
        "size": release.size,
        "sha256": release.sha256,
        "url": release.url,
        "filename": release.filename,
    }


def fold(release: Release) -> int:
    """The pixel blocks the network folds into channels first (``pixel_unshuffle``): RRDBNet
    at scale 2 folds 2x2, at scale 1 4x4; heights and widths then go in steps of it."""
    if release.arch == "RRDBNet":
        return {4: 1, 2: 2, 1: 4}[release.scale]
    return 1


def receptive_radius(release: Release) -> int:
    """How far (input pixels) an output pixel sees, as the rendered ``tiles.receptive_radius``
    computes it: one pixel per 3x3 conv for SRVGGNetCompact (``blocks + 2`` convs); for
    RRDBNet conv_first, 15 convs per RRDB and conv_body at the trunk's resolution plus the
    upsampler's share (3 trunk pixels), times the fold."""
    if release.arch == "SRVGGNetCompact":
        return release.blocks + 2
    return (2 + 15 * release.blocks + 3) * fold(release)


MAX_CLIMB = 2  # "../../weights/x.pth": under the project's grandparent folder at most


def project_path(path: Path, out: Path | None) -> str:
    """A path the spec resolved (against its folder) as the project resolves it: relative to
    the project's folder when the two are close (they then move together, e.g. ``spec.yaml``,
    ``weights/`` and the project in one folder), else absolute."""
    if out is None:
        return str(path)
    relative = Path(os.path.relpath(path, out.resolve()))
    if relative.parts.count("..") > MAX_CLIMB:
        return str(path)
    return relative.as_posix()


def build_superres_context(context: SuperresContext, out: Path | None = None) -> dict[str, Any]:
    spec = context.spec
    release = context.release
    inference = spec.inference
    weights = weights_context(release, project_path(context.weights.path, out))
    weak = None
    if context.weak_denoise is not None:
        weak = weights_context(WEAK_DENOISE, project_path(context.weak_denoise.path, out))
    input_path = SKLEARN_PHOTOS
    if context.input_path is not None:
        input_path = project_path(context.input_path, out)
    side = inference.tile + 2 * inference.tile_pad
    tile_bytes = tile_memory(release, side, inference.precision).total if inference.tile else None
    suffixes = tuple(sorted({f".{name}" for name in spec.input.formats}))
    radius, folded = receptive_radius(release), fold(release)
    inference_settings = inference.model_dump(mode="json")
    return {
        **prompt_context(
            release,
            folded,
            inference_settings,
            context.outscale,
            radius,
            weak is not None,
            MAX_CLIMB,
        ),
        "kind": "superres",
        "extra_files": {},
        "omit": [],
        "ganspec_version": __version__,
        "name": spec.name,
        "description": spec.description,
        "spec": spec.model_dump(mode="json"),
        "model": {
            "name": release.name,
            "arch": release.arch,
            "scale": release.scale,
            "params": release.params,
            "blocks": release.blocks,
            "purpose": release.purpose,
        },
        "weights": weights,
        "weak": weak,
        "denoise_strength": spec.model.denoise_strength if weak is not None else None,
        "input_path": input_path,
        "sklearn_photos": context.input_path is None,
        "suffixes": suffixes,
        "input": spec.input.model_dump(mode="json"),
        "outscale": context.outscale,
        "inference": inference_settings,
        "output": spec.output.model_dump(mode="json"),
        "fold": folded,
        "radius": radius,
        "tile_side": side,
        "tile_mb": None if tile_bytes is None else round(tile_bytes / 1e6),
        "megapixel_mb": round(megapixel_memory(release, inference.precision) / 1e6),
    }
