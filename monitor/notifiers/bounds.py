"""Bounded alert bodies: cut an incident's lists until the body fits its receiver's limit.

A file with thousands of columns (a drift over every column, a wide export) makes
an incident whose full detail no receiver takes: PagerDuty refuses events over
512 KB, Slack caps every block, and a webhook receiver has its own limit. Each
notifier builds its body for a ``Caps`` (how many findings, list items and
characters per text to show) and ``fit`` tries ever tighter caps until the body
fits; what was cut is said with a count ("… and 3,412 more columns"). The full
detail stays in the database and on the findings page.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.errors import NotifyRefused

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from monitor.models import Alert

__all__ = ["LEVELS", "Caps", "alert_document", "cut_list", "cut_text", "fit", "more"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Caps:
    """How much of an incident a body shows; ``None`` is everything.

    Attributes:
        findings: findings listed one by one.
        items: items of one list (columns, masked samples, tables).
        chars: characters of one text (a column name, a reason, a URL).
    """

    findings: int | None
    items: int | None
    chars: int | None

    @property
    def whole(self) -> bool:
        """Say whether nothing is cut at this level."""
        return self.findings is None and self.items is None and self.chars is None


#: From everything to the bare minimum; the last level fits any sane limit (a few KB).
LEVELS = (
    Caps(None, None, None),
    Caps(None, 1000, 2000),
    Caps(500, 300, 1000),
    Caps(200, 100, 1000),
    Caps(50, 25, 300),
    Caps(10, 10, 120),
    Caps(3, 3, 80),
    Caps(0, 0, 80),
)


def more(count: int, noun: str) -> str:
    """Return the marker of what was cut: ``… and 3,412 more columns``."""
    return f"… and {count:,} more {noun}"


def cut_text(text: str, chars: int | None) -> str:
    """Return ``text`` cut to ``chars`` characters, the cut marked with ``…``."""
    if chars is None or len(text) <= chars:
        return text
    return text[: max(chars - 1, 0)] + "…"


def cut_list(
    values: Sequence[str], keep: int | None, noun: str, chars: int | None = None
) -> tuple[list[str], int]:
    """Return the first ``keep`` values (each cut to ``chars``) and how many were left out."""
    shown = list(values) if keep is None else list(values[:keep])
    return [cut_text(v, chars) for v in shown], len(values) - len(shown)


def fit(notifier: str, limit: int, build: Callable[[Caps], bytes]) -> bytes:
    """Return the first body, from the fullest level down, whose size is within ``limit`` bytes.

    Raises:
        NotifyRefused: even the tightest level is larger than ``limit`` (a limit of a few
            bytes): sending cannot succeed, so the event is parked, not retried forever.
    """
    size = 0
    for caps in LEVELS:
        body = build(caps)
        size = len(body)
        if size <= limit:
            if not caps.whole:
                logger.info(
                    "notifier %r: body cut to %d bytes (limit %d; findings=%s items=%s)",
                    notifier,
                    size,
                    limit,
                    caps.findings,
                    caps.items,
                )
            return body
    raise NotifyRefused(
        f"notifier {notifier!r}: even the shortest body ({size:,} bytes) exceeds its "
        f"limit of {limit:,} bytes"
    )


def alert_document(alert: Alert, caps: Caps, *, markers: bool) -> dict[str, object]:
    """Return ``alert.to_dict()`` cut to ``caps``; what was cut is counted under ``truncated``.

    With ``markers`` (bodies people read, such as PagerDuty's custom details) a cut
    list also ends with its marker string, ``… and 3,412 more columns``; without
    (the webhook's JSON, read by programs) lists hold only real values.
    """
    truncated: dict[str, int] = {}

    def cut(values: Sequence[str], noun: str, counts: dict[str, int]) -> list[str]:
        shown, left = cut_list(values, caps.items, noun, caps.chars)
        if left:
            counts[noun] = counts.get(noun, 0) + left
            if markers:
                shown.append(more(left, noun))
        return shown

    doc = alert.to_dict()
    long_text = None if caps.chars is None else caps.chars * 4
    doc["resource_url"] = cut_text(alert.resource_url, None if caps.chars is None else 4096)
    doc["reason"] = cut_text(alert.reason, long_text)
    doc["dataset"] = cut_text(alert.dataset, caps.chars) if alert.dataset else alert.dataset
    doc["entities"] = cut(alert.entities, "entities", truncated)
    doc["tables"] = cut(alert.tables, "tables", truncated)
    doc["columns"] = cut(alert.columns, "columns", truncated)
    doc["evidence"] = cut(alert.evidence, "samples", truncated)
    kept = alert.findings if caps.findings is None else alert.findings[: caps.findings]
    findings: list[object] = []
    for finding in kept:
        counts: dict[str, int] = {}
        item = finding.to_dict()
        item["table"] = cut_text(finding.table, caps.chars) if finding.table else finding.table
        item["columns"] = cut(finding.columns, "columns", counts)
        item["evidence"] = cut(finding.evidence, "samples", counts)
        item["reason"] = cut_text(finding.reason, long_text)
        if counts:
            item["truncated"] = counts
        findings.append(item)
    left = len(alert.findings) - len(kept)
    if left:
        truncated["findings"] = left
        if markers:
            findings.append(more(left, "findings"))
    doc["findings"] = findings
    if truncated:
        doc["truncated"] = truncated
    return doc
