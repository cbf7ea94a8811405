"""``leakmon scan --format sarif``: SARIF 2.1.0 for code-scanning CI (GitHub, GitLab, Azure).

One rule per entity, one result per finding. A file is the result's artifact location
(a path relative to the working directory when it lies below it, else the URL or path as
given); the table and column are logical locations, since a data file has no source
lines. Only what ``--format json`` prints goes in: masked evidence and counts, never a
raw value. A file that could not be read is a ``toolExecutionNotification`` of level
``error`` ("could not check"), not a clean result.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import __version__
from monitor.models import Severity

if TYPE_CHECKING:
    from collections.abc import Sequence

    from monitor.models import FileReport, Finding

__all__ = ["SARIF_SCHEMA", "render_sarif"]

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
_INFORMATION_URI = "https://github.com/leakmon/leakmon"
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}
#: GitHub code scanning's ``security-severity`` (0-10), which it shows as critical/high/...
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.0",
    Severity.LOW: "2.0",
}


def _uri(file: str) -> str:
    if "://" in file:
        return file
    path = Path(file)
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path.resolve().as_uri()


def _where(f: Finding) -> str:
    column = f.column if f.column is not None else ", ".join(f.columns)
    return f"{f.table} › {column}" if f.table else column


def _result(f: Finding, rule_index: dict[str, int]) -> dict[str, Any]:
    # Any: a SARIF JSON object.
    text = f"{f.entity} in {_where(f) or 'the file'}: {f.matched}/{f.scanned} cells."
    if f.evidence:
        text += " E.g. " + ", ".join(f.evidence) + "."
    if f.reason:
        text += " " + f.reason
    logical = [{"name": f.table, "kind": "table"}] if f.table else []
    if f.column is not None:
        logical.append({"name": f.column, "kind": "column"})
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": {"uri": _uri(f.file)}},
    }
    if logical:
        location["logicalLocations"] = logical
    result: dict[str, Any] = {
        "ruleId": f.entity,
        "ruleIndex": rule_index[f.entity],
        "level": _LEVELS[f.severity],
        "message": {"text": text},
        "locations": [location],
        "properties": {
            "severity": str(f.severity),
            "score": f.score,
            "matched": f.matched,
            "scanned": f.scanned,
        },
    }
    if f.fingerprint:
        result["partialFingerprints"] = {"leakmonFingerprint/v1": f.fingerprint}
    return result


def _rule(entity: str, severity: Severity) -> dict[str, Any]:
    # Any: a SARIF JSON object.
    name = entity.replace("_", " ").lower()
    return {
        "id": entity,
        "name": "".join(part.title() for part in entity.split("_")),
        "shortDescription": {"text": f"Personal data in a published file: {name}"},
        "helpUri": f"{_INFORMATION_URI}/blob/main/docs/detection.md",
        "defaultConfiguration": {"level": _LEVELS[severity]},
        "properties": {
            "tags": ["privacy", "personal-data"],
            "security-severity": _SECURITY_SEVERITY[severity],
        },
    }


def render_sarif(reports: Sequence[FileReport]) -> str:
    """Return the SARIF 2.1.0 log of one ``leakmon scan`` run."""
    findings = [f for r in reports for f in r.findings]
    worst: dict[str, Severity] = {}
    for f in findings:
        worst[f.entity] = max(worst.get(f.entity, f.severity), f.severity)
    entities = sorted(worst)
    rule_index = {entity: i for i, entity in enumerate(entities)}
    notifications = [
        {
            "level": "error",
            "message": {"text": f"could not check {r.file}: {r.error}"},
            "locations": [{"physicalLocation": {"artifactLocation": {"uri": _uri(r.file)}}}],
        }
        for r in reports
        if r.error
    ]
    run = {
        "tool": {
            "driver": {
                "name": "leakmon",
                "version": __version__,
                "informationUri": _INFORMATION_URI,
                "rules": [_rule(e, worst[e]) for e in entities],
            }
        },
        "invocations": [
            {
                "executionSuccessful": not notifications,
                "toolExecutionNotifications": notifications,
            }
        ],
        "artifacts": [{"location": {"uri": _uri(r.file)}, "length": r.size} for r in reports],
        "results": [_result(f, rule_index) for f in findings],
        "columnKind": "unicodeCodePoints",
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}, indent=2)
