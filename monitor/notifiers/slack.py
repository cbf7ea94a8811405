"""Slack notifier: one incoming-webhook message per alert event, in Block Kit."""

from __future__ import annotations

import json
import logging
import posixpath
import urllib.parse
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from monitor.notifiers.base import HttpUrl, http_post, parse_config, register

if TYPE_CHECKING:
    from monitor.config import NotifierConfig
    from monitor.models import Alert

__all__ = ["SlackNotifier"]

logger = logging.getLogger(__name__)

# Slack rejects a message whose blocks exceed these; cut with room to spare.
_HEADER_CHARS = 150
_SECTION_CHARS = 3000
_FIELD_CHARS = 2000
_TEXT_CHARS = 3000
_LIST_ITEMS = 20


def _escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(value: str) -> str:
    """Show a value verbatim: masked evidence is full of ``*``, which mrkdwn reads as bold."""
    return "`" + _escape(value.replace("`", "'")) + "`"


def _codes(values: tuple[str, ...]) -> str:
    shown = [_code(v) for v in values[:_LIST_ITEMS]]
    if len(values) > _LIST_ITEMS:
        shown.append(f"and {len(values) - _LIST_ITEMS} more")
    return ", ".join(shown) if shown else "_none_"


def _link(url: str, label: str) -> str:
    """Return a mrkdwn link; characters that end a link in mrkdwn are percent-encoded."""
    safe = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace("&", "&amp;")
    return f"<{safe}|{_escape(label.replace('|', '/'))}>"


def _file_name(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return posixpath.basename(path.rstrip("/")) or url


@register
class SlackNotifier:
    """Post each alert event to a Slack channel through an incoming webhook.

    The message carries a plain ``text`` (what phone notifications show) and
    Block Kit ``blocks``: severity, target, the file and its link, table, columns,
    entities, masked evidence, the reason, and a button back to the finding when
    ``link_base`` is configured. A resolved event says so in its first words.

    Config: ``url`` (required, the incoming-webhook URL, a secret); ``timeout``.
    An empty ``url`` switches the notifier off.
    """

    kind: ClassVar[str] = "slack"

    class Config(BaseModel):
        """The fields of a notifier entry that Slack reads."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        name: str
        url: HttpUrl
        timeout: float = Field(10.0, gt=0)

    def __init__(self, url: str, *, name: str = "slack", timeout: float = 10.0) -> None:
        self.name = name
        self._url = url
        self._timeout = timeout

    @classmethod
    def from_config(cls, cfg: NotifierConfig) -> Self:
        """Build from a ``notify:`` entry of kind ``slack``."""
        conf = parse_config(cls.Config, cfg)
        return cls(conf.url.get_secret_value(), name=conf.name, timeout=conf.timeout)

    def __repr__(self) -> str:
        return f"SlackNotifier(name={self.name!r})"

    def message(self, alert: Alert) -> dict[str, object]:
        """Return the Slack message for an alert event."""
        severity = str(alert.severity).upper()
        entities = ", ".join(alert.entities) or "personal data"
        file_name = _file_name(alert.resource_url)
        if alert.event == "resolved":
            headline = f"Resolved: {entities} in {file_name} ({alert.target})"
            text = f"[RESOLVED] {headline}. {alert.reason}"
        else:
            headline = f"{severity}: {entities} published in {file_name} ({alert.target})"
            text = f"[{severity}] {headline}. {alert.reason}"
        facts = [
            f"*Severity*\n{severity}",
            f"*Target*\n{_escape(alert.target)}",
            f"*Entities*\n{_codes(alert.entities)}",
            f"*Columns*\n{_codes(alert.columns)}",
            f"*Matched cells*\n{alert.matched}",
        ]
        if alert.table:
            facts.append(f"*Table*\n{_code(alert.table)}")
        blocks: list[dict[str, object]] = [
            {
                "type": "header",
                "text": {"type": "plain_text", "text": _cut(headline, _HEADER_CHARS)},
            },
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": _cut(f, _FIELD_CHARS)} for f in facts],
            },
            _section(
                f"*File*\n{_link(alert.resource_url, file_name)}"
                + (
                    f"\n{_escape(alert.portal)} · {_escape(alert.dataset)}"
                    if alert.portal and alert.dataset
                    else ""
                )
            ),
            _section(f"*Evidence (masked)*\n{_codes(alert.evidence)}"),
        ]
        if alert.reason:
            blocks.append(_section(f"*Reason*\n{_escape(alert.reason)}"))
        if alert.link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open finding"},
                            "url": alert.link,
                        }
                    ],
                }
            )
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": _cut(
                            f"leakmon · {alert.event} · key {_code(alert.key)} · "
                            f"event {alert.sequence} · {alert.occurred_at.isoformat()}",
                            _SECTION_CHARS,
                        ),
                    }
                ],
            }
        )
        return {"text": _cut(_escape(text), _TEXT_CHARS), "blocks": blocks}

    def send(self, alert: Alert) -> None:
        """POST the message once.

        Raises:
            NotifyError: Slack did not answer 2xx (``no_service``, ``invalid_payload``...).
        """
        body = json.dumps(self.message(alert), ensure_ascii=False).encode()
        status, _ = http_post(self.name, self._url, body, timeout=self._timeout)
        logger.debug("slack %r answered %d for key=%s", self.name, status, alert.key)


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_CHARS)}}
