"""Who hears about which finding: the allow-list, notifier thresholds and links back.

The store calls this router inside the transaction that opens or resolves a
finding, so an allowed finding never reaches the outbox and a paged one always does.
"""

from __future__ import annotations

import fnmatch
import logging
from typing import TYPE_CHECKING

from monitor.models import Severity, utcnow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from monitor.config import AllowRule, Settings
    from monitor.models import Alert, Finding

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

    def recipients(self, alert: Alert) -> list[str]:
        """Return the notifiers whose threshold the alert's severity reaches."""
        return [name for name, floor in self._thresholds.items() if alert.severity >= floor]

    def link(self, key: str) -> str | None:
        """Return a link back to a finding, when ``link_base`` is configured."""
        return f"{self._link_base}/findings/{key}" if self._link_base else None


def _matches(rule: AllowRule, target: str, url: str, finding: Finding) -> bool:
    columns = {finding.column} if finding.column else set(finding.columns)
    checks = (
        rule.target is None or rule.target == target,
        rule.resource is None or rule.resource == url or fnmatch.fnmatchcase(url, rule.resource),
        rule.table is None or rule.table == finding.table,
        rule.column is None or rule.column in columns,
        rule.entity is None or rule.entity == finding.entity,
    )
    return all(checks)
