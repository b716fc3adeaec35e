"""The rule registry: every diagnostic code, its documentation, and the check that emits it.

Modelled on ruff: stable codes grouped by family (one module per family), each rule with a
summary, why it matters, an example and the fix, printable with ``ganspec rule CODE``. Each
rule names the spec kinds it applies to: validate runs a rule only on specs of those kinds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from ganspec.diagnostics import DataLocation, Severity
from ganspec.source import PathKey

FAMILIES: dict[str, str] = {
    "GS1": "schema and input",
    "GS2": "shape math",
    "GS3": "training stability",
    "GS4": "data contract",
    "GS5": "validation protocol",
    "GS6": "project and resources",
    "GS7": "tabular data contract",
    "GS8": "super-resolution",
}
KINDS = ("image", "tabular", "superres")
ALL_KINDS = frozenset(KINDS)
IMAGE = frozenset({"image"})
TABULAR = frozenset({"tabular"})
SUPERRES = frozenset({"superres"})


@dataclass(frozen=True)
class Finding:
    """What a check found, before it is placed in the file."""

    path: PathKey
    message: str
    fix: str | None = None
    data: DataLocation | None = None  # the data row that shows it (tabular data checks)


# A check takes its kind's analysed spec: image.context.ImageContext,
# tabular.context.TabularContext or superres.context.SuperresContext.
Check = Callable[[Any], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    severity: Severity
    summary: str
    why: str
    example: str
    fix: str
    check: Check | None = None
    kinds: frozenset[str] = ALL_KINDS

    @property
    def family(self) -> str:
        return FAMILIES[self.code[:3]]

    def applies_to(self, kind: str) -> bool:
        return kind in self.kinds

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "kinds": [kind for kind in KINDS if kind in self.kinds],
            "severity": self.severity,
            "summary": self.summary,
            "why": self.why,
            "example": self.example,
            "fix": self.fix,
        }

    def as_text(self) -> str:
        kinds = ", ".join(kind for kind in KINDS if kind in self.kinds)
        return (
            f"{self.code} {self.name} [{self.severity}] ({self.family}; kind: {kinds})\n\n"
            f"{self.summary}\n\nWhy it matters:\n  {self.why}\n\n"
            f"Example:\n{_indent(self.example)}\n\nFix:\n  {self.fix}\n"
        )


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.strip("\n").splitlines())


RULES: dict[str, Rule] = {}


def rule(
    code: str,
    name: str,
    severity: Severity,
    *,
    summary: str,
    why: str,
    example: str,
    fix: str,
    kinds: frozenset[str] = IMAGE,
) -> Callable[[Check], Check]:
    """Register a check function under a stable code with its documentation; it runs on specs
    of ``kinds`` (image unless stated: the image families predate the other kinds) and gets
    that kind's context."""
    if not kinds <= ALL_KINDS:
        raise RuntimeError(f"rule {code}: unknown kinds {sorted(kinds - ALL_KINDS)}")

    def register(check: Check) -> Check:
        _add(Rule(code, name, severity, summary, why, example, fix, check, kinds))
        return check

    return register


def document(
    code: str,
    name: str,
    severity: Severity,
    *,
    summary: str,
    why: str,
    example: str,
    fix: str,
    kinds: frozenset[str] = ALL_KINDS,
) -> None:
    """Register a rule whose diagnostics are emitted by the loader or schema stage."""
    _add(Rule(code, name, severity, summary, why, example, fix, None, kinds))


def _add(entry: Rule) -> None:
    if entry.code in RULES:
        raise RuntimeError(f"rule {entry.code} registered twice")
    RULES[entry.code] = entry
