"""The facts a superres PROMPT.md states that depend on the spec: the network, the tiling it
gets, where its weights files live and what health.py makes of missing ones. Worked out here
from what the rendered project does, so ``templates/superres/agents/PROMPT.md.j2`` only places
the sentences."""

from __future__ import annotations

from typing import Any

from ganspec.superres.releases import RELEASES, WEAK_DENOISE, Release

# The release files ganspec knows: the keys of the rendered models.MODELS.
KNOWN_RELEASES = (*RELEASES, WEAK_DENOISE.name)
# inference_realesrgan.py's model names ganspec has no release entry for.
UPSTREAM_ONLY = ("RealESRNet_x4plus", "realesr-animevideov3")
# What the folder's own tests monkeypatch (tests/conftest.py, tests/test_health.py).
REPLACED_BY_CONTRACTS = "`contract.WEIGHTS`, `WEAK_DENOISE_WEIGHTS` and `weights.PROJECT`"


def code_list(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{name}`" for name in names)


def releases_text() -> str:
    """Which releases ``models.MODELS`` holds (upstream's script names six models)."""
    count = {5: "five", 6: "six"}.get(len(KNOWN_RELEASES), str(len(KNOWN_RELEASES)))
    names = code_list(KNOWN_RELEASES)
    return (
        f"`models.MODELS` holds the {count} release files ganspec knows, {names} (not "
        f"upstream's {' or '.join(UPSTREAM_ONLY)})"
    )


def generator_text(release: Release, fold: int) -> str:
    """The spec's network as models.py builds it."""
    if release.arch == "RRDBNet":
        folded = (
            f"; the input is folded {fold}x{fold} by `F.pixel_unshuffle` first, so sides go "
            f"in steps of {fold}"
            if fold > 1
            else ""
        )
        layers = (
            f"{release.blocks} RRDBs of three 5-conv dense blocks, 64 features, growth 32, "
            f"LeakyReLU 0.2, residuals scaled 0.2, then nearest x2 + conv twice{folded}"
        )
    else:
        layers = (
            f"64 features: a conv and {release.blocks} more, each followed by its own PReLU, a "
            "last conv to 48 channels, PixelShuffle x4, plus the nearest-upsampled input"
        )
    return f"{release.arch} ({layers}), {release.params:,} parameters, native x{release.scale}."


def tiling_text(inference: dict[str, Any], outscale: float, radius: int) -> str:
    """The spec's inference settings, and whether its tile_pad covers the network's reach."""
    tile, pad = inference["tile"], inference["tile_pad"]
    settings = f"outscale {outscale}, tile {tile}"
    if tile:
        settings += f", tile_pad {pad}, tile_overlap {inference['tile_overlap']}"
    text = (
        f"{settings}, pre_pad {inference['pre_pad']}, {inference['precision']} on "
        f"{inference['device']}."
    )
    if not tile:
        return text
    if pad >= radius:
        reach = "the pad covers it, so tiled equals untiled to float tolerance"
    else:
        reach = (
            f"a pad of {pad} is shorter, so tiled output is close to untiled, not equal (the "
            "blend spreads the difference over the overlap; upstream's cropped tiles step)"
        )
    return f"{text} The receptive radius is {radius}: {reach}."


def weights_path_text(max_climb: int) -> str:
    """How render wrote the weights paths into contract.py (superres_context.project_path)."""
    climb = "/".join([".."] * max_climb)
    return (
        "Their `path`: the spec's, resolved against the spec's folder, written relative to the "
        f"project folder rendered into (at most `{climb}/`), else absolute"
    )


def missing_weights_text(weak: bool) -> str:
    """health.py's `weights` check when the release does not load: missing or wrong files."""
    files = (
        "neither `contract.WEIGHTS` nor `WEAK_DENOISE_WEIGHTS` exists"
        if weak
        else "`contract.WEIGHTS` does not exist"
    )
    return f"`warn` if {files} (at `weights.resolve(file)`), else `fail`"


def prompt_context(
    release: Release,
    fold: int,
    inference: dict[str, Any],
    outscale: float,
    radius: int,
    weak: bool,
    max_climb: int,
) -> dict[str, Any]:
    """Everything PROMPT.md.j2 places as it is."""
    return {
        "releases_text": releases_text(),
        "generator_text": generator_text(release, fold),
        "tiling_text": tiling_text(inference, outscale, radius),
        "weights_path_text": weights_path_text(max_climb),
        "missing_weights_text": missing_weights_text(weak),
        "replaced_by_contracts": REPLACED_BY_CONTRACTS,
    }
