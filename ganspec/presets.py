"""Ready specs shipped with ganspec, found through the package, never the working directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganspec.resources import shipped


def specs_dir() -> Path:
    return shipped("specs")


@dataclass(frozen=True)
class Preset:
    name: str
    path: Path

    @property
    def summary(self) -> str:
        """The spec's first comment line, which says what the preset is for."""
        with self.path.open(encoding="utf-8") as handle:
            first = handle.readline()
        return first.lstrip("# ").strip()

    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")


def all_presets() -> dict[str, Preset]:
    return {path.stem: Preset(path.stem, path) for path in sorted(specs_dir().glob("*.yaml"))}


SCHEMA_FILENAME = "ganspec.schema.json"


def with_schema_modeline(text: str, schema_ref: str = SCHEMA_FILENAME) -> str:
    """Prefix the yaml-language-server modeline so editors complete and check the spec."""
    return f"# yaml-language-server: $schema={schema_ref}\n{text}"
