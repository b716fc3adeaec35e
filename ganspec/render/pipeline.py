"""Validate, build the context, render, format, plan and write: the ``render`` command's work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ganspec import __version__
from ganspec.contracts import contract_files
from ganspec.render.context import build_context
from ganspec.render.engine import AGENT_TARGETS, render_project, render_prompt
from ganspec.render.formatting import format_and_check
from ganspec.render.superres_context import build_superres_context
from ganspec.render.tabular_context import build_tabular_context
from ganspec.render.writer import Plan, apply, plan, sha256
from ganspec.validate import Report, validate_file

# Kinds with project templates. A valid spec of another kind is refused, never half-rendered.
RENDERABLE_KINDS = frozenset({"image", "tabular", "superres"})


class NotRenderable(Exception):
    """The spec is valid, but ganspec cannot render projects of its kind yet (exit 2)."""


def require_renderable(report: Report) -> None:
    assert report.spec is not None
    kind = report.spec.kind
    if kind not in RENDERABLE_KINDS:
        raise NotRenderable(
            f"{report.file} is a valid kind: {kind} spec, but rendering {kind} projects is not "
            "built yet; nothing was written. `ganspec validate` checks the spec today"
        )


@dataclass
class RenderOutcome:
    report: Report
    plan: Plan | None = None


def render_files(
    report: Report, agents: set[str], out: Path | None = None, contracts_only: bool = False
) -> dict[str, str]:
    """All rendered files (formatted and ruff-checked) for a spec that validated clean; ``out``
    is the project's folder, where the project resolves the paths the spec gives (superres
    weights and images are written relative to it, so the project moves with its folder).
    ``contracts_only``: PROMPT.md says the code is the reader's to write."""
    assert report.context is not None and report.spec is not None
    kind = report.spec.kind
    context = {**context_for(report, out), "contracts_only": contracts_only}
    files = render_project(kind, context, agents)
    files.update(context["extra_files"])  # written as they are, not from a template
    return format_and_check(files)


def context_for(report: Report, out: Path | None = None) -> dict:
    """The templates' context for the spec's kind."""
    assert report.context is not None and report.spec is not None
    if report.spec.kind == "tabular":
        return build_tabular_context(report.context)
    if report.spec.kind == "superres":
        return build_superres_context(report.context, out)
    return build_context(report.context)


def render_spec(
    spec_path: Path,
    out: Path,
    agents: set[str],
    *,
    force: bool = False,
    overwrite_changed: bool = False,
    dry_run: bool = False,
    contracts_only: bool = False,
) -> RenderOutcome:
    report = validate_file(spec_path)
    if report.exit_code != 0:
        return RenderOutcome(report)
    require_renderable(report)
    files = render_files(report, agents, out, contracts_only)
    if contracts_only:
        files = contracts_and_instructions(report.spec.kind, files)
    encoded = {path: text.encode("utf-8") for path, text in files.items()}
    spec_hash = sha256(report.text.encode("utf-8"))  # the spec as validated, not re-read
    changes = plan(
        out,
        encoded,
        spec_hash,
        __version__,
        force=force,
        overwrite_changed=overwrite_changed,
        spec=spec_path,
        spec_text=report.text.encode("utf-8"),  # `ganspec check DIR` holds the code to it
    )
    if not dry_run:
        apply(changes)
    return RenderOutcome(report, changes)


# What a contracts-only render writes beside the contracts: how to build and run them.
INSTRUCTIONS = {"PROMPT.md", "AGENTS.md", "pyproject.toml", ".gitignore", *AGENT_TARGETS}


def contracts_and_instructions(kind: str, files: dict[str, str]) -> dict[str, str]:
    """The spec's contracts (tests, config, data contract) and the files that say how to
    implement them, without ganspec's implementation: for code someone else writes."""
    kept = contract_files(kind, files)
    return {path: text for path, text in files.items() if path in kept or path in INSTRUCTIONS}


def prompt_for(report: Report) -> str:
    assert report.context is not None and report.spec is not None
    require_renderable(report)
    return render_prompt(report.spec.kind, context_for(report))
