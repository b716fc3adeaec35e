"""The rule registry: every diagnostic code, its documentation, and the check that emits it.

Modelled on ruff: stable codes grouped by family (one module per family), each rule with a
summary, why it matters, an example and the fix, printable with ``ganspec rule CODE``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ganspec.diagnostics import Severity
from ganspec.source import PathKey

if TYPE_CHECKING:
    from ganspec.rules.context import RuleContext

FAMILIES: dict[str, str] = {
    "GS1": "schema and input",
    "GS2": "shape math",
    "GS3": "training stability",
    "GS4": "data contract",
    "GS5": "validation protocol",
    "GS6": "project and resources",
}


@dataclass(frozen=True)
class Finding:
    """What a check found, before it is placed in the file."""

    path: PathKey
    message: str
    fix: str | None = None


Check = Callable[["RuleContext"], Iterable[Finding]]


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

    @property
    def family(self) -> str:
        return FAMILIES[self.code[:3]]

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "name": self.name,
            "family": self.family,
            "severity": self.severity,
            "summary": self.summary,
            "why": self.why,
            "example": self.example,
            "fix": self.fix,
        }

    def as_text(self) -> str:
        return (
            f"{self.code} {self.name} [{self.severity}] ({self.family})\n\n"
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
) -> Callable[[Check], Check]:
    """Register a check function under a stable code with its documentation."""

    def register(check: Check) -> Check:
        _add(Rule(code, name, severity, summary, why, example, fix, check))
        return check

    return register


def document(
    code: str, name: str, severity: Severity, *, summary: str, why: str, example: str, fix: str
) -> None:
    """Register a rule whose diagnostics are emitted by the loader or schema stage."""
    _add(Rule(code, name, severity, summary, why, example, fix, None))


def _add(entry: Rule) -> None:
    if entry.code in RULES:
        raise RuntimeError(f"rule {entry.code} registered twice")
    RULES[entry.code] = entry
