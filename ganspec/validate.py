"""The validation pipeline: file -> positioned tree -> Spec -> shape traces -> rule findings."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ganspec.diagnostics import DataLocation, Diagnostic, cap_per_code, sort_key
from ganspec.image.context import ImageContext
from ganspec.rules import RULES
from ganspec.schema_check import check_schema, path_text
from ganspec.source import PathKey, SourceDocument, UnusableInput, parse_text, read_spec_file
from ganspec.spec import Spec
from ganspec.spec.superres import SuperresSpec
from ganspec.spec.tabular import TabularSpec
from ganspec.superres.context import SuperresContext
from ganspec.tabular.context import TabularContext


@dataclass
class Report:
    """Everything ``ganspec validate`` prints, and the exit code it implies."""

    file: str
    text: str = ""  # the spec as read, once
    diagnostics: list[Diagnostic] = field(default_factory=list)
    spec: Spec | None = None
    context: ImageContext | TabularContext | SuperresContext | None = None
    unusable: bool = False
    ignored: Counter[str] = field(default_factory=Counter)
    # Findings beyond MAX_PER_CODE of one code, by severity: counted, not listed.
    not_shown: Counter[str] = field(default_factory=Counter)

    @property
    def errors(self) -> int:
        shown = sum(1 for d in self.diagnostics if d.severity == "error")
        return shown + self.not_shown["error"]

    def finish(self, more: Counter[str] | None = None) -> Report:
        """Sort the findings and keep a readable number of each code (``more``: by code, those
        counted but never made into diagnostics)."""
        self.diagnostics.sort(key=sort_key)
        self.diagnostics, self.not_shown = cap_per_code(self.diagnostics, more=more)
        return self

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return 2
        return 1 if self.errors else 0


def validate_file(path: str | Path) -> Report:
    try:
        document = read_spec_file(path)
    except UnusableInput as exc:
        return _unusable(str(path), exc)
    return validate_document(document)


def validate_text(text: str, file: str = "<spec>") -> Report:
    try:
        document = parse_text(text, file)
    except UnusableInput as exc:
        return _unusable(file, exc)
    return validate_document(document)


def _unusable(file: str, exc: UnusableInput) -> Report:
    where = (file, exc.position.line, exc.position.column)
    diagnostic = Diagnostic.at(where, exc.code, "error", exc.message)
    return Report(file=file, diagnostics=[diagnostic], unusable=True)


def validate_document(document: SourceDocument) -> Report:
    report = Report(file=document.file, text=document.text)
    result = check_schema(document)
    report.diagnostics.extend(result.diagnostics)
    if result.spec is None:
        return report.finish(result.not_shown)
    spec = result.spec
    report.spec = spec
    report.context = _context(spec, document)
    ignored = _ignore_list(spec, document, report)
    for rule in RULES.values():
        if rule.check is None or not rule.applies_to(spec.kind):
            continue
        for finding in rule.check(report.context):
            if rule.code in ignored:
                report.ignored[rule.code] += 1
                continue
            report.diagnostics.append(
                _place(
                    document,
                    rule.code,
                    rule.severity,
                    finding.path,
                    finding.message,
                    finding.fix,
                    finding.data,
                )
            )
    for code, count in sorted(report.ignored.items()):
        index = spec.ignore.index(code)
        report.diagnostics.append(
            _place(
                document,
                "GS108",
                "info",
                ("ignore", index),
                f"{code} is ignored by this spec ({count} finding{'s' if count != 1 else ''} "
                "hidden)",
                None,
            )
        )
    return report.finish(report.context.unlisted())


def _context(
    spec: Spec, document: SourceDocument
) -> ImageContext | TabularContext | SuperresContext:
    """The context the spec's kind's rules take. Tabular data and superres weights paths start
    at the spec file's folder (the working folder for a spec given as text)."""
    if isinstance(spec, TabularSpec):
        return TabularContext(spec, Path(document.file).parent)
    if isinstance(spec, SuperresSpec):
        return SuperresContext(spec, Path(document.file).parent)
    return ImageContext(spec)


def _ignore_list(spec: Spec, document: SourceDocument, report: Report) -> set[str]:
    """Codes the spec may ignore; unknown codes and error rules are reported, not honoured."""
    honoured: set[str] = set()
    for index, code in enumerate(spec.ignore):
        rule = RULES.get(code)
        if rule is None:
            message, fix = f"{code} is not a ganspec rule", "see `ganspec rule --all`"
        elif rule.severity == "error":
            message, fix = f"{code} is an error and cannot be ignored", f"fix what {code} reports"
        else:
            honoured.add(code)
            continue
        report.diagnostics.append(
            _place(document, "GS107", "warning", ("ignore", index), message, fix)
        )
    return honoured


def _place(
    document: SourceDocument,
    code: str,
    severity: str,
    path: PathKey,
    message: str,
    fix: str | None,
    data: DataLocation | None = None,
) -> Diagnostic:
    position = document.position(path)
    where = (document.file, position.line, position.column)
    return Diagnostic.at(where, code, severity, message, path_text(path), fix, data)  # type: ignore[arg-type]
