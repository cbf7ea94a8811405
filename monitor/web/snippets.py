"""The allow-rule YAML the findings page offers to paste into the configuration.

Each snippet is a complete ``allow:`` entry that matches exactly what it names
(``monitor.alerts`` matches target, resource, table, column and entity as
stored), dumped by the YAML library so that every value is quoted as it must
be. Non-ASCII characters are written as escapes: a name carrying a bidi
override cannot make the pasted rule read differently from what it matches.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from monitor.store import FindingRecord

__all__ = ["REASON_PLACEHOLDER", "allow_file", "allow_finding"]

logger = logging.getLogger(__name__)

#: Replace before pasting: the reason is audited with every finding it allows.
REASON_PLACEHOLDER = "REPLACE: why this may be published, who decided, ticket"
#: Allow rules offered for pasting expire, so an exception is looked at again.
_EXPIRES_AFTER = dt.timedelta(days=90)


def allow_file(target: str, url: str, today: dt.date) -> str:
    """Return the rule that accepts every finding of one file of one target."""
    return _dump({"target": target, "resource": url}, today)


def allow_finding(finding: FindingRecord, today: dt.date) -> str:
    """Return the rule that accepts this one finding (its table, column and entity)."""
    rule: dict[str, Any] = {"target": finding.target, "resource": finding.resource_url}
    if finding.table is not None:
        rule["table"] = finding.table
    column = finding.column or (finding.columns[0] if finding.columns else None)
    if column is not None:
        rule["column"] = column
    rule["entity"] = finding.entity
    return _dump(rule, today)


def _dump(rule: dict[str, Any], today: dt.date) -> str:
    entry = {**rule, "reason": REASON_PLACEHOLDER, "expires": today + _EXPIRES_AFTER}
    body = yaml.safe_dump(
        [entry], sort_keys=False, allow_unicode=False, default_flow_style=False, width=10_000
    )
    return "allow:\n" + "".join(f"  {line}\n" for line in body.splitlines())
