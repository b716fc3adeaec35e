"""What the rendered ``health.py`` checks for one spec, decided at render time: the data's shape
and range as literals, labels only for a conditional G, and the D(G(z)) band check only for a
D whose score is a probability and a spec that sets the band."""

from __future__ import annotations

from typing import Any

from ganspec.spec.image import ImageSpec


def health_context(spec: ImageSpec) -> dict[str, Any]:
    """The template's ``health`` values: ready Python literals and switches."""
    shape = spec.data.shape
    dims = (shape.channels, shape.height, shape.width) if shape.is_image else (shape.features,)
    low, high = spec.data.range or (None, None)
    band = spec.validation.d_fake_healthy
    return {
        "health": {
            "shape": repr(tuple(dims)),
            "range": None if low is None else f"{float(low)!r}, {float(high)!r}",
            "classes": spec.data.classes,
            "source": spec.data.source.type,
            "band": band is not None and spec.discriminator.output != "critic",
        }
    }
