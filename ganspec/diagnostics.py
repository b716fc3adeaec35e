"""The one record every check produces, and the ways it is printed."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a spec: what rule, how bad, where, and how to fix it."""

    code: str
    severity: Severity
    message: str
    path: str
    file: str
    line: int
    column: int
    fix: str | None = None

    @classmethod
    def at(
        cls,
        where: tuple[str, int, int],
        code: str,
        severity: Severity,
        message: str,
        path: str = "",
        fix: str | None = None,
    ) -> Diagnostic:
        """A finding placed at ``where`` = (file, line, column)."""
        file, line, column = where
        return cls(code, severity, message, path, file, line, column, fix)

    def as_text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        subject = f"{self.path}: " if self.path else ""
        text = f"{where}: {self.code} [{self.severity}] {subject}{self.message}"
        if self.fix:
            text += f" -- fix: {self.fix}"
        return text

    def as_github(self) -> str:
        """GitHub Actions workflow command, so findings show up inline on a pull request."""
        level = {"error": "error", "warning": "warning", "info": "notice"}[self.severity]
        subject = f"{self.path}: " if self.path else ""
        body = f"{subject}{self.message}" + (f" -- fix: {self.fix}" if self.fix else "")
        body = body.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return (
            f"::{level} file={self.file},line={self.line},col={self.column},"
            f"title={self.code}::{body}"
        )


def sort_key(diagnostic: Diagnostic) -> tuple[int, int, int, str]:
    return (
        diagnostic.line,
        diagnostic.column,
        SEVERITY_ORDER[diagnostic.severity],
        diagnostic.code,
    )


def format_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2)


def format_text(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.as_text() for d in diagnostics)


def format_github(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.as_github() for d in diagnostics)


def summary(diagnostics: list[Diagnostic], ignored: dict[str, int] | None = None) -> str:
    """``2 errors, 1 warning`` plus what the spec's ``ignore`` list hid."""
    counts = {s: sum(1 for d in diagnostics if d.severity == s) for s in SEVERITY_ORDER}
    parts = [
        f"{n} {name}{'' if n == 1 else 's'}"
        for name, n in (("error", counts["error"]), ("warning", counts["warning"]))
    ]
    if counts["info"]:
        parts.append(f"{counts['info']} info")
    text = ", ".join(parts)
    if ignored:
        hidden = ", ".join(f"{code} x{n}" for code, n in sorted(ignored.items()))
        text += f"; ignored by the spec: {hidden}"
    return text
