"""Re-render the example projects kept in this folder, so people can read ganspec's output
before installing it. A test (tests/test_examples_in_sync.py) fails when they drift.

    python examples/regenerate.py
"""

from __future__ import annotations

import shutil
from pathlib import Path

from ganspec.render.engine import AGENT_CHOICES
from ganspec.render.pipeline import render_files
from ganspec.validate import validate_file

EXAMPLES = Path(__file__).resolve().parent
SPECS = EXAMPLES.parent / "specs"
RENDERED_PRESETS = ("dcgan-digits-32", "ctgan-customers", "realesr-general-x4v3")


def rendered(preset: str) -> dict[str, str]:
    """The files ``ganspec render`` writes for a preset (all agent files; no manifest)."""
    target = EXAMPLES / preset  # superres paths are written relative to the project
    return render_files(validate_file(SPECS / f"{preset}.yaml"), set(AGENT_CHOICES), target)


def main() -> None:
    for preset in RENDERED_PRESETS:
        target = EXAMPLES / preset
        shutil.rmtree(target, ignore_errors=True)
        for relative, text in rendered(preset).items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(f"wrote {target}")


if __name__ == "__main__":
    main()
