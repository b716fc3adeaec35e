"""The spec schema: one pydantic model per spec ``kind``.

``kind`` selects the model by hand rather than through a pydantic union so that an unknown or
missing kind gets one clear message instead of a wall of union errors.
"""

from __future__ import annotations

from typing import Any

from ganspec.spec.image import ImageSpec

SPEC_KINDS: dict[str, type[ImageSpec]] = {"image": ImageSpec}
SPEC_VERSION = 1

Spec = ImageSpec


def json_schema() -> dict[str, Any]:
    """JSON Schema of every spec kind, with the field descriptions editors show."""
    schemas = [model.model_json_schema() for model in SPEC_KINDS.values()]
    schema = schemas[0] if len(schemas) == 1 else {"oneOf": schemas}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ganspec spec"
    return schema
