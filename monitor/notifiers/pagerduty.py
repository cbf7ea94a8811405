"""PagerDuty notifier: Events API v2 trigger and resolve, one alert per incident (file)."""

from __future__ import annotations

import json
import logging
import posixpath
import urllib.parse
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from monitor.models import Severity
from monitor.notifiers.base import HttpUrl, http_post, parse_config, register
from monitor.notifiers.bounds import alert_document, cut_text, fit
from monitor.printable import printable

if TYPE_CHECKING:
    from monitor.config import NotifierConfig
    from monitor.models import Alert
    from monitor.notifiers.bounds import Caps

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
#: "Events API payloads are limited to 512 KB" (PagerDuty developer docs, Events API v2
#: overview, "Size Limits"); this stays below it whether a KB is 1,000 or 1,024 bytes.
MAX_EVENT_BYTES = 500_000


def _file_name(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return posixpath.basename(path.rstrip("/")) or url


@register
class PagerDutyNotifier:
    """Open one PagerDuty alert per leaked file, update it while it lasts, resolve it at the end.

    ``dedup_key`` is the incident's stable key (one per target + file), so every
    finding of a file lands on one PagerDuty alert: an ``opened`` event sends
    ``event_action: trigger``; an ``updated`` event (findings added, gone or more
    severe) sends another ``trigger`` with the same key, which PagerDuty adds to
    the open alert's log instead of opening a new one; a ``resolved`` event sends
    ``event_action: resolve``, which needs only the routing and dedup keys. A
    trigger carries a summary, source = target, severity critical→critical,
    high→error, medium→warning, low→info, timestamp, component = file name,
    group = target, class = entities, custom details (every finding with its
    columns and masked evidence, cut with counts to stay under PagerDuty's 512 KB
    event limit) and links back.

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
        """Return the Events API v2 body for an incident event (not yet cut to size)."""
        return json.loads(self.body(alert))  # type: ignore[no-any-return]  # our own JSON

    def body(self, alert: Alert) -> bytes:
        """Return the exact bytes sent: the event, cut until it is under ``MAX_EVENT_BYTES``."""
        if alert.event == "resolved":
            resolve = {
                "routing_key": self._routing_key,
                "event_action": "resolve",
                "dedup_key": alert.key,
            }
            return json.dumps(resolve, ensure_ascii=False).encode()
        return fit(
            self.name,
            MAX_EVENT_BYTES,
            lambda caps: json.dumps(self._trigger(alert, caps), ensure_ascii=False).encode(),
        )

    def _trigger(self, alert: Alert, caps: Caps) -> dict[str, object]:
        file_name = cut_text(_file_name(alert.resource_url), 200)
        open_ = alert.open_findings
        entities = ", ".join(alert.entities) or "personal data"
        count = f"{len(open_):,} findings" if len(open_) != 1 else "1 finding"
        where = f"{file_name} ({alert.target})"
        summary = f"[{alert.severity}] {count} ({entities}) published in {where}"
        if alert.event == "updated":
            summary = f"Updated: {summary}"
        if alert.reason:
            summary += f": {alert.reason}"
        summary = printable(summary)  # shown as one line in pagers and apps
        details = alert_document(alert, caps, markers=True)
        links = [{"href": cut_text(alert.resource_url, 4096), "text": "Published file"}]
        if alert.link:
            links.insert(0, {"href": alert.link, "text": "leakmon incident"})
        return {
            "routing_key": self._routing_key,
            "event_action": "trigger",
            "dedup_key": alert.key,
            "client": "leakmon",
            **({"client_url": alert.link} if alert.link else {}),
            "payload": {
                "summary": cut_text(summary, SUMMARY_CHARS),
                "source": alert.target,
                "severity": SEVERITIES[alert.severity],
                "timestamp": alert.occurred_at.isoformat(),
                "component": file_name,
                "group": alert.target,
                "class": cut_text(",".join(alert.entities) or "personal-data", 1000),
                "custom_details": {
                    key: details[key]
                    for key in (
                        "event",
                        "resource_url",
                        "portal",
                        "dataset",
                        "reason",
                        "open_findings",
                        "entities",
                        "tables",
                        "columns",
                        "evidence",
                        "matched",
                        "findings",
                        "truncated",
                        "opened_at",
                        "sequence",
                    )
                    if key in details
                },
            },
            "links": links,
        }

    def send(self, alert: Alert) -> None:
        """POST the event once; PagerDuty answers 202 when it accepts it.

        Raises:
            NotifyError: PagerDuty did not answer 2xx (invalid event, rate limited...).
        """
        body = self.body(alert)
        status, _ = http_post(
            self.name,
            self._url,
            body,
            timeout=self._timeout,
            secrets=(self._routing_key,),
        )
        logger.debug("pagerduty %r answered %d for key=%s", self.name, status, alert.key)
