"""PagerDuty notifier: Events API v2 trigger and resolve, deduplicated per finding."""

from __future__ import annotations

import json
import logging
import posixpath
import urllib.parse
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from monitor.models import Severity
from monitor.notifiers.base import HttpUrl, http_post, parse_config, register

if TYPE_CHECKING:
    from monitor.config import NotifierConfig
    from monitor.models import Alert

__all__ = ["EVENTS_URL", "PagerDutyNotifier"]

logger = logging.getLogger(__name__)

#: The Events API v2 endpoint (the EU service uses events.eu.pagerduty.com).
EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"

#: PagerDuty's four severities, from ours.
SEVERITIES = {
    Severity.CRITICAL: "critical",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "info",
}

#: PagerDuty rejects a summary longer than 1024 characters.
SUMMARY_CHARS = 1023


def _file_name(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return posixpath.basename(path.rstrip("/")) or url


@register
class PagerDutyNotifier:
    """Open a PagerDuty incident when a finding opens and resolve it when the finding closes.

    ``dedup_key`` is the finding's stable key, so a redelivered trigger joins the
    same incident and the resolve closes it. An ``opened`` event sends
    ``event_action: trigger`` with a payload (summary, source = target, severity
    critical→critical, high→error, medium→warning, low→info, timestamp,
    component = file name, group = target, class = entities, and custom details
    with columns, entities, masked evidence and the file URL) and links back.
    A ``resolved`` event sends ``event_action: resolve``, which needs only the
    routing and dedup keys.

    Config: ``routing_key`` (required, the integration key, a secret); ``url``
    (default ``https://events.pagerduty.com/v2/enqueue``); ``timeout``. An empty
    ``routing_key`` switches the notifier off.
    """

    kind: ClassVar[str] = "pagerduty"

    class Config(BaseModel):
        """The fields of a notifier entry that PagerDuty reads."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        name: str
        routing_key: SecretStr
        url: HttpUrl = SecretStr(EVENTS_URL)
        timeout: float = Field(10.0, gt=0)

    def __init__(
        self,
        routing_key: str,
        *,
        url: str = EVENTS_URL,
        name: str = "pagerduty",
        timeout: float = 10.0,
    ) -> None:
        self.name = name
        self._routing_key = routing_key
        self._url = url
        self._timeout = timeout

    @classmethod
    def from_config(cls, cfg: NotifierConfig) -> Self:
        """Build from a ``notify:`` entry of kind ``pagerduty``."""
        conf = parse_config(cls.Config, cfg)
        return cls(
            conf.routing_key.get_secret_value(),
            url=conf.url.get_secret_value(),
            name=conf.name,
            timeout=conf.timeout,
        )

    def __repr__(self) -> str:
        return f"PagerDutyNotifier(name={self.name!r})"

    def event(self, alert: Alert) -> dict[str, object]:
        """Return the Events API v2 body for an alert event."""
        if alert.event == "resolved":
            return {
                "routing_key": self._routing_key,
                "event_action": "resolve",
                "dedup_key": alert.key,
            }
        file_name = _file_name(alert.resource_url)
        entities = ", ".join(alert.entities) or "personal data"
        summary = f"[{alert.severity}] {entities} published in {file_name} ({alert.target})"
        if alert.reason:
            summary += f": {alert.reason}"
        if len(summary) > SUMMARY_CHARS:
            summary = summary[: SUMMARY_CHARS - 1] + "…"
        links = [{"href": alert.resource_url, "text": "Published file"}]
        if alert.link:
            links.insert(0, {"href": alert.link, "text": "leakmon finding"})
        return {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": alert.key,
            "client": "leakmon",
            **({"client_url": alert.link} if alert.link else {}),
            "payload": {
                "summary": summary,
                "source": alert.target,
                "severity": SEVERITIES[alert.severity],
                "timestamp": alert.occurred_at.isoformat(),
                "component": file_name,
                "group": alert.target,
                "class": ",".join(alert.entities) or "personal-data",
                "custom_details": {
                    "resource_url": alert.resource_url,
                    "portal": alert.portal,
                    "dataset": alert.dataset,
                    "table": alert.table,
                    "columns": list(alert.columns),
                    "entities": list(alert.entities),
                    "evidence": list(alert.evidence),
                    "matched": alert.matched,
                    "reason": alert.reason,
                    "sequence": alert.sequence,
                },
            },
            "links": links,
        }

    def send(self, alert: Alert) -> None:
        """POST the event once; PagerDuty answers 202 when it accepts it.

        Raises:
            NotifyError: PagerDuty did not answer 2xx (invalid event, rate limited...).
        """
        body = json.dumps(self.event(alert), ensure_ascii=False).encode()
        status, _ = http_post(
            self.name,
            self._url,
            body,
            timeout=self._timeout,
            secrets=(self._routing_key,),
        )
        logger.debug("pagerduty %r answered %d for key=%s", self.name, status, alert.key)
