"""``validate --explain`` for a superres spec: the network, its weights files as found, and
what one tile (or one untiled megapixel) costs in memory."""

from __future__ import annotations

from ganspec.footprint import format_bytes
from ganspec.superres.context import SuperresContext, WeightsFinding
from ganspec.superres.memory import megapixel_memory, tile_memory


def _weights_line(found: WeightsFinding) -> str:
    release = found.release
    if not found.exists:
        state = "absent"
    elif found.problem is None:
        state = "the release file (size and sha256 match)"
    else:
        state = f"NOT the release file: it {found.problem}"
    return (
        f"  {release.filename}: {found.path}: {state}\n"
        f"    {release.size:,} bytes, sha256 {release.sha256}\n    from {release.url}"
    )


def explain_superres(context: SuperresContext) -> str:
    spec, release = context.spec, context.release
    inference = spec.inference
    lines = [
        f"model: {release.name}: {release.arch}, {release.params:,} parameters, native "
        f"x{release.scale} ({release.purpose})",
        f"outscale: {context.outscale:g}"
        + ("" if context.outscale == release.scale else " (native scale, then Lanczos)"),
        "weights:",
        _weights_line(context.weights),
    ]
    if context.weak_denoise is not None:
        strength = spec.model.denoise_strength
        lines.append(_weights_line(context.weak_denoise))
        lines.append(
            f"  blend: {strength:g} x {release.name} + {1 - strength:g} x "
            f"{context.weak_denoise.release.name}, tensor by tensor"
        )
    if inference.tile:
        side = inference.tile + 2 * inference.tile_pad
        memory = tile_memory(release, side, inference.precision)
        lines.append(
            f"tiles: {inference.tile} px, {inference.tile_pad} px context each side "
            f"({side}x{side} through the network), {inference.tile_overlap} px blended overlap"
        )
        lines.append(
            f"memory per tile ({inference.precision}): about {format_bytes(memory.total)} "
            f"({format_bytes(memory.activations)} feature maps, "
            f"{format_bytes(memory.weights)} weights)"
        )
    else:
        per_megapixel = megapixel_memory(release, inference.precision)
        lines.append(
            f"untiled: about {format_bytes(per_megapixel)} of feature maps per input "
            f"megapixel ({inference.precision})"
        )
    lines.append(f"precision {inference.precision} on device {inference.device}")
    return "\n".join(lines)
