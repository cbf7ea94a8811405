"""Render scan results for people (text, coloured on a terminal) and scripts (JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from monitor.models import Severity
from monitor.printable import printable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from monitor.models import FileReport, Finding

__all__ = ["render_json", "render_text"]

_COLOURS = {
    Severity.CRITICAL: "\033[1;37;41m",
    Severity.HIGH: "\033[1;31m",
    Severity.MEDIUM: "\033[33m",
    Severity.LOW: "\033[36m",
}
_RESET = "\033[0m"
_DIM = "\033[2m"


def render_json(reports: Sequence[FileReport]) -> str:
    """Return the ``scan --format json`` document: ``{"files": [...], "findings": [...]}``."""
    findings = [f.to_dict() for r in reports for f in _ordered(r.findings)]
    return json.dumps({"files": [r.to_dict() for r in reports], "findings": findings}, indent=2)


def _ordered(findings: Sequence[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (-f.severity, f.table or "", f.column or ""))


def _where(f: Finding) -> str:
    col = f.column if f.column is not None else "(" + ", ".join(f.columns) + ")"
    return printable(f"{f.table} › {col}" if f.table else col)


def render_text(
    reports: Sequence[FileReport], colour: bool, min_severity: Severity = Severity.LOW
) -> str:
    """Return a readable report grouped by file, most severe file and finding first."""

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    lines: list[str] = []
    ordered = sorted(reports, key=lambda r: -(r.worst or 0))
    for report in ordered:
        shown = [f for f in _ordered(report.findings) if f.severity >= min_severity]
        name = printable(report.file)
        head = (
            f"{name}  [{report.kind}, {report.rows} rows, {report.tables} table(s), "
            f"{report.seconds:.2f}s]"
        )
        lines.append(paint(head, "\033[1m"))
        if report.error:
            error = printable(report.error)
            lines.append("  " + paint(f"error: {error}", _COLOURS[Severity.HIGH]))
        if not shown and not report.error:
            # A file without rows (a Tableau .twb, a header-only CSV) had only its schema read.
            quiet = (
                "no personal data found"
                if report.rows
                else "no data rows: only the schema was read"
            )
            lines.append("  " + paint(quiet, _DIM))
        for f in shown:
            label = paint(f"{str(f.severity).upper():8}", _COLOURS[f.severity])
            lines.append(f"  {label} {f.entity:<17} {_where(f)}")
            detail = f"{f.matched}/{f.scanned} cells"
            if f.evidence:
                detail += "  e.g. " + printable(", ".join(f.evidence))
            lines.append("           " + paint(detail, _DIM))
            lines.append("           " + printable(f.reason))
        lines.append("")
    total = sum(len(r.findings) for r in reports)
    errors = sum(1 for r in reports if r.error)
    worst = max((r.worst for r in reports if r.worst), default=None)
    summary = f"{len(reports)} file(s), {total} finding(s), {errors} unreadable"
    if worst:
        summary += f", worst: {worst}"
    lines.append(paint(summary, "\033[1m"))
    return "\n".join(lines)
