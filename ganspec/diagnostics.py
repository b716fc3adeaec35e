"""The one record every check produces, and the ways it is printed."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass, replace
from typing import Literal

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}

# Findings of one code beyond this many are counted, not printed: a 400 KB `ignore:` list of
# aliases would otherwise print 99,000 lines that all say the same thing.
MAX_PER_CODE = 20
# Keys and values quoted back in a message are cut to this many characters, and any one field
# of a diagnostic to MAX_FIELD_CHARS, so that a 400 KB key cannot make a 400 KB message.
MAX_QUOTED_CHARS = 60
MAX_FIELD_CHARS = 1_000

# Characters a terminal (or a GitHub log) would act on instead of printing: C0 controls but
# tab, DEL, C1 controls, line/paragraph separators and the bidirectional overrides that make
# text display in another order than it is stored.
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# GitHub workflow commands: property values and message data are escaped differently
# (https://github.com/actions/toolkit/blob/main/packages/core/src/command.ts).
_GITHUB_DATA = {"%": "%25", "\r": "%0D", "\n": "%0A"}
_GITHUB_PROPERTY = {**_GITHUB_DATA, ":": "%3A", ",": "%2C"}


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r"}.get(char) or repr(char)[1:-1]


def printable(text: str) -> str:
    """``text`` with every terminal control character written as an escape (``\\x1b``).

    A spec's file name, keys and values reach the terminal through messages; an ESC sequence
    or a newline in them must show as text, not recolour the screen or forge a line.
    """
    return _CONTROL.sub(_escape_control, text)


def elide(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """``text`` cut to about ``limit`` characters, saying how long it was."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 3]}... ({len(text)} characters)"


def _github(text: str, table: dict[str, str]) -> str:
    return "".join(table.get(char, char) for char in text)


@dataclass(frozen=True)
class DataLocation:
    """Where in a data file a finding about a spec's data is: the spec says what the data
    must be, the data row shows where it is not.

    ``line`` is the physical line a CSV record starts on (the header is line 1); ``row`` the
    1-based data row (a Parquet or generated table has rows, not lines). A finding about the
    whole file has neither.
    """

    file: str
    line: int | None = None
    row: int | None = None

    def as_text(self) -> str:
        file = printable(self.file)
        if self.line is not None:
            return f"{file}:{self.line}"
        return f"{file} row {self.row}" if self.row is not None else file


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a spec: what rule, how bad, where, and how to fix it.

    ``data`` is a second location, in the data file a tabular spec describes, for findings
    that a row of the data shows (a broken constraint, a duplicate key).
    """

    code: str
    severity: Severity
    message: str
    path: str
    file: str
    line: int
    column: int
    fix: str | None = None
    data: DataLocation | None = None

    @classmethod
    def at(
        cls,
        where: tuple[str, int, int],
        code: str,
        severity: Severity,
        message: str,
        path: str = "",
        fix: str | None = None,
        data: DataLocation | None = None,
    ) -> Diagnostic:
        """A finding placed at ``where`` = (file, line, column); no field grows unbounded."""
        file, line, column = where
        message, path = elide(message, MAX_FIELD_CHARS), elide(path, MAX_FIELD_CHARS)
        fix = None if fix is None else elide(fix, MAX_FIELD_CHARS)
        if data is not None:
            data = replace(data, file=elide(data.file, MAX_FIELD_CHARS))
        return cls(code, severity, message, path, file, line, column, fix, data)

    def as_text(self) -> str:
        """One line for a terminal: whatever the spec wrote is shown, never obeyed.

        A finding shown by a data row starts at that row and names the spec line after the
        message: ``customers.csv:48: GS726 [error] constraints[0]: ... (spec.yaml:31:5)``.
        """
        spec_at = f"{printable(self.file)}:{self.line}:{self.column}"
        where = spec_at if self.data is None else self.data.as_text()
        subject = f"{printable(self.path)}: " if self.path else ""
        text = f"{where}: {self.code} [{self.severity}] {subject}{printable(self.message)}"
        if self.data is not None:
            text += f" ({spec_at})"
        if self.fix:
            text += f" -- fix: {printable(self.fix)}"
        return text

    def as_github(self) -> str:
        """GitHub Actions workflow command, so findings show up inline on a pull request.

        Properties and message are escaped as GitHub documents, so a file name with a comma or
        a newline can neither override ``line=`` nor start a workflow command of its own.
        """
        level = {"error": "error", "warning": "warning", "info": "notice"}[self.severity]
        subject = f"{self.path}: " if self.path else ""
        if self.data is not None:  # annotated on the spec line, the data row leads the text
            subject = f"{self.data.as_text()}: {subject}"
        body = f"{subject}{self.message}" + (f" -- fix: {self.fix}" if self.fix else "")
        file = _github(_without_controls(self.file), _GITHUB_PROPERTY)
        title = _github(_without_controls(self.code), _GITHUB_PROPERTY)
        return (
            f"::{level} file={file},line={self.line},col={self.column},"
            f"title={title}::{_github(_without_controls(body), _GITHUB_DATA)}"
        )


def _without_controls(text: str) -> str:
    """Controls escaped as in text output, except CR and LF: GitHub's own escapes carry them."""
    return _CONTROL.sub(lambda m: m.group() if m.group() in "\r\n" else _escape_control(m), text)


def sort_key(diagnostic: Diagnostic) -> tuple[int, int, int, str, int]:
    """By spec position, then severity and code; findings of one spec line by data row."""
    data = diagnostic.data
    row = 0 if data is None else (data.line or data.row or 0)
    return (
        diagnostic.line,
        diagnostic.column,
        SEVERITY_ORDER[diagnostic.severity],
        diagnostic.code,
        row,
    )


def cap_per_code(
    diagnostics: list[Diagnostic],
    limit: int = MAX_PER_CODE,
    more: dict[str, int] | None = None,
) -> tuple[list[Diagnostic], Counter[str]]:
    """At most ``limit`` findings of each code (all of them when one more would be all).

    The last one shown of a code says how many more there are. Those are dropped and counted
    by severity (second value), so that a summary still gives the true totals. ``more`` counts
    findings of a code that were never made into diagnostics at all.
    """
    more = more or {}
    counts = Counter(d.code for d in diagnostics)
    index: Counter[str] = Counter()
    kept: list[Diagnostic] = []
    not_shown: Counter[str] = Counter()
    for diagnostic in diagnostics:
        code = diagnostic.code
        total = counts[code] + more.get(code, 0)
        shown = counts[code] if total <= limit + 1 else min(counts[code], limit)
        index[code] += 1
        if index[code] < shown:
            kept.append(diagnostic)
        elif index[code] == shown:
            hidden = total - shown
            not_shown[diagnostic.severity] += hidden
            if hidden:
                plural = "s" if hidden != 1 else ""
                note = f" (and {hidden} more {code} finding{plural}, not shown)"
                diagnostic = replace(diagnostic, message=diagnostic.message + note)
            kept.append(diagnostic)
    return kept, +not_shown


def format_json(diagnostics: list[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2)


def format_text(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.as_text() for d in diagnostics)


def format_github(diagnostics: list[Diagnostic]) -> str:
    return "\n".join(d.as_github() for d in diagnostics)


def summary(
    diagnostics: list[Diagnostic],
    ignored: dict[str, int] | None = None,
    not_shown: dict[str, int] | None = None,
) -> str:
    """``2 errors, 1 warning`` plus what the spec's ``ignore`` list hid.

    ``not_shown`` counts, by severity, findings left out of ``diagnostics`` by ``cap_per_code``;
    they count in the totals.
    """
    extra = not_shown or {}
    counts = {
        s: sum(1 for d in diagnostics if d.severity == s) + extra.get(s, 0) for s in SEVERITY_ORDER
    }
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
