"""Render templates into file contents, in memory, from a plain context.

Jinja runs sandboxed with StrictUndefined: a template that names something the context lacks
fails loudly instead of writing an empty string. Spec strings only ever arrive as context
values (data), never as template source.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from ganspec.contracts import contracts_in
from ganspec.interface import interface_of
from ganspec.resources import shipped

AGENT_CHOICES = ("claude", "cursor", "codex", "copilot")
# agent -> (template, output path). AGENTS.md is canonical: every agent file points at it.
AGENT_FILES: dict[str, tuple[str, str]] = {
    "claude": ("agents/CLAUDE.md.j2", "CLAUDE.md"),
    "cursor": ("agents/cursor-rule.mdc.j2", ".cursor/rules/ganspec.mdc"),
    "copilot": ("agents/copilot-instructions.md.j2", ".github/copilot-instructions.md"),
}
AGENT_TARGETS = {target for _, target in AGENT_FILES.values()}
_SKIP_PARTS = {"__pycache__", ".pytest_cache", ".ruff_cache", "runs"}
# Templates kept under a plain name, so they stay visible (and do not act on this repository
# or get dropped from the wheel as dotfiles), and the name they render to.
_RENAMED = {"gitignore": ".gitignore"}


def templates_dir() -> Path:
    return shipped("templates")


@functools.cache  # each template compiles once per process (Jinja reloads one that is edited)
def _environment(root: Path) -> SandboxedEnvironment:
    env = SandboxedEnvironment(
        loader=FileSystemLoader(str(root)),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["py"] = repr  # a Python literal
    env.filters["toml"] = json.dumps  # a TOML basic string (JSON escapes are valid TOML)
    env.filters["code"] = markdown_code
    env.filters["quote"] = markdown_quote
    return env


def markdown_code(value: object) -> str:
    """Inline code that stays inline code whatever backticks the value holds."""
    text = str(value).replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_quote(value: object) -> str:
    """Free text (a spec's description) as a block quote: whatever Markdown it holds, an
    unclosed fence or an HTML comment, ends with the quote instead of swallowing the page."""
    return "\n".join(f"> {line}".rstrip() for line in str(value).splitlines())


def parse_agents(value: str) -> set[str]:
    """``claude,cursor`` / ``all`` / ``none`` -> the set of agent names; ValueError otherwise."""
    value = value.strip().lower()
    if value == "all":
        return set(AGENT_CHOICES)
    if value in ("none", ""):
        return set()
    chosen = {part.strip() for part in value.split(",") if part.strip()}
    unknown = chosen - set(AGENT_CHOICES)
    if unknown:
        raise ValueError(
            f"unknown agent(s) {', '.join(sorted(unknown))}; choose from "
            f"{', '.join(AGENT_CHOICES)}, all or none"
        )
    return chosen


def render_project(kind: str, context: dict[str, Any], agents: set[str]) -> dict[str, str]:
    """Every file of the project as text, keyed by its path relative to the output folder."""
    root = templates_dir()
    env = _environment(root)
    omitted = set(context.get("omit", ()))
    files: dict[str, str] = {}
    for project, source in project_sources(kind):
        relative = source.relative_to(project)
        if relative.as_posix() in omitted:
            continue
        if source.suffix == ".j2":
            template = env.get_template(relative_template(root, source))
            text = template.render(context)
            if text.strip():  # a template that renders empty is not written (copier's rule)
                files[str(relative.with_suffix(""))] = text
        else:
            files[_RENAMED.get(str(relative), str(relative))] = source.read_text(encoding="utf-8")
    context = {
        "contracts_only": False,  # a full render unless the caller says otherwise
        **context,
        "acceptance_tests": acceptance_tests(files),
        "interface": interface_of(files),
    }
    files["PROMPT.md"] = env.get_template(agent_template(kind, "PROMPT.md.j2")).render(context)
    if agents:
        files["AGENTS.md"] = env.get_template(agent_template(kind, "AGENTS.md.j2")).render(context)
    for agent in sorted(agents):
        if agent in AGENT_FILES:
            template, target = AGENT_FILES[agent]
            template = agent_template(kind, template.removeprefix("agents/"))
            files[target] = env.get_template(template).render(context)
    return {path: _tidy(path, text) for path, text in files.items()}


def acceptance_tests(files: dict[str, str]) -> list[dict[str, str]]:
    """Test names and their docstring's first paragraph (whole: its first line alone can stop
    mid-sentence), as ``ganspec check`` lists the same contracts, with their surface and
    whether that paragraph says more than the name (a test without a docstring has only its
    name in words)."""
    return [
        {
            "file": c.file,
            "name": c.name,
            "doc": c.summary,
            "surface": c.surface or "",
            "adds": c.summary != c.name.rpartition("::")[2].removeprefix("test_").replace("_", " "),
        }
        for c in contracts_in(files)
    ]


def project_sources(kind: str) -> list[tuple[Path, Path]]:
    """(folder, file) of every template of a kind's project: ``templates/common/`` (modules
    every kind shares, such as storage.py) and then ``templates/KIND/project/``."""
    root = templates_dir()
    found = []
    for project in (root / "common", root / kind / "project"):
        for source in sorted(project.rglob("*")):
            relative = source.relative_to(project)
            if (
                source.is_file()
                and not _SKIP_PARTS & set(relative.parts)
                and not _partial(relative)
            ):
                found.append((project, source))
    return found


def _partial(relative: Path) -> bool:
    """Templates under a folder named ``_partials`` are included by others, never written."""
    return "_partials" in relative.parts[:-1]


def _tidy(path: str, text: str) -> str:
    """Markdown from templates: at most one blank line in a row, one trailing newline."""
    if not path.endswith((".md", ".mdc")):
        return text
    return re.sub(r"\n{3,}", "\n\n", text).rstrip("\n") + "\n"


def relative_template(root: Path, source: Path) -> str:
    """Jinja template names use forward slashes whatever the platform."""
    return source.relative_to(root).as_posix()


def agent_template(kind: str, name: str) -> str:
    """A kind's own agent template (``tabular/agents/PROMPT.md.j2``) where it has one, else
    the image kind's in ``agents/``."""
    own = f"{kind}/agents/{name}"
    return own if (templates_dir() / own).is_file() else f"agents/{name}"


def render_prompt(kind: str, context: dict[str, Any]) -> str:
    """PROMPT.md alone (its acceptance list needs the rendered tests, so the project is
    rendered in memory too)."""
    return render_project(kind, context, set())["PROMPT.md"]
