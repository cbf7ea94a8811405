"""Who hears about which finding: the allow-list, notifier thresholds and links back.

The store calls this router inside the transaction that changes a file's findings
and incident, so an allowed finding never reaches the outbox and a paged one always
does. A new router (configuration reloaded) is re-applied to the stored findings
by ``Store.reapply``.
"""

from __future__ import annotations

import functools
import logging
import re
from typing import TYPE_CHECKING

from monitor.models import Severity, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from monitor.config import AllowRule, Settings
    from monitor.models import Finding

__all__ = ["AlertRouter"]

logger = logging.getLogger(__name__)


class AlertRouter:
    """Applies the allow-list and each notifier's ``min_severity``."""

    def __init__(
        self,
        settings: Settings,
        active: set[str] | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._rules = list(settings.allow)
        # Only notifiers that were really built: a switched-off one must not fill the outbox.
        self._thresholds = {
            n.name: Severity.parse(n.min_severity)
            for n in settings.notify
            if active is None or n.name in active
        }
        self._link_base = settings.link_base.rstrip("/") if settings.link_base else None
        self._clock = clock

    def allowed(self, target: str, url: str, finding: Finding) -> str | None:
        """Return the reason of the first unexpired allow rule matching a finding, or ``None``."""
        today = self._clock().date()
        for rule in self._rules:
            if rule.expires is not None and rule.expires < today:
                continue
            if _matches(rule, target, url, finding):
                return f"allow-listed: {rule.reason}" + (
                    f" (until {rule.expires.isoformat()})" if rule.expires else ""
                )
        return None

    def recipients(self, severity: Severity) -> list[str]:
        """Return the notifiers whose threshold (``min_severity``) a severity reaches."""
        return [name for name, floor in self._thresholds.items() if severity >= floor]

    def link(self, key: str) -> str | None:
        """Return a link back to an incident (or finding), when ``link_base`` is configured."""
        return f"{self._link_base}/findings/{key}" if self._link_base else None


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    """Compile an allow rule's resource glob.

    ``*`` and ``?`` stay within one path segment: they never match ``/`` or ``?``,
    so ``*/roster*.csv`` cannot reach ``roster_2021/people.csv`` or a query that
    names another file. ``**`` matches anything, and so does a leading ``*``
    (``*/roster.csv``: any scheme, host and folders).
    """
    out = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append(".*" if i == 0 else "[^/?]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/?]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _matches(rule: AllowRule, target: str, url: str, finding: Finding) -> bool:
    columns = {finding.column} if finding.column else set(finding.columns)
    checks = (
        rule.target is None or rule.target == target,
        rule.resource is None or rule.resource == url or _glob(rule.resource).fullmatch(url),
        rule.table is None or rule.table == finding.table,
        rule.column is None or rule.column in columns,
        rule.entity is None or rule.entity == finding.entity,
    )
    return all(checks)
