"""The spec schema: one pydantic model per spec ``kind``.

``kind`` selects the model by hand rather than through a pydantic union so that an unknown or
missing kind gets one clear message instead of a wall of union errors.
"""

from __future__ import annotations

from typing import Any

from ganspec.spec.image import ImageSpec
from ganspec.spec.superres import SuperresSpec
from ganspec.spec.tabular import TabularSpec

Spec = ImageSpec | TabularSpec | SuperresSpec
SPEC_KINDS: dict[str, type[ImageSpec] | type[TabularSpec] | type[SuperresSpec]] = {
    "image": ImageSpec,
    "tabular": TabularSpec,
    "superres": SuperresSpec,
}
SPEC_VERSION = 1


def json_schema() -> dict[str, Any]:
    """JSON Schema of every spec kind, with the field descriptions editors show.

    One ``oneOf`` branch per kind; each branch's ``kind`` is a single constant, so an editor
    picks the branch the document's ``kind`` names.
    """
    schemas = [model.model_json_schema() for model in SPEC_KINDS.values()]
    if len(schemas) == 1:
        schema = schemas[0]
    else:
        definitions: dict[str, Any] = {}
        branches = []
        for kind, one in zip(SPEC_KINDS, schemas, strict=True):
            for name, definition in one.pop("$defs", {}).items():
                if definitions.setdefault(name, definition) != definition:
                    raise RuntimeError(f"two spec kinds define different models named {name}")
            definitions[f"{kind}_spec"] = one
            branches.append({"$ref": f"#/$defs/{kind}_spec"})
        schema = {"oneOf": branches, "$defs": definitions}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "ganspec spec"
    return schema
