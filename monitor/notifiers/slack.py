"""Slack notifier: one incoming-webhook message per incident event, in Block Kit."""

from __future__ import annotations

import json
import logging
import posixpath
import urllib.parse
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field

from monitor.notifiers.base import HttpUrl, http_post, parse_config, register
from monitor.notifiers.bounds import Caps, cut_list, fit, more
from monitor.printable import printable

if TYPE_CHECKING:
    from monitor.config import NotifierConfig
    from monitor.models import Alert, AlertFinding

__all__ = ["SlackNotifier"]

logger = logging.getLogger(__name__)

# Slack's Block Kit limits (header text 150, section text 3,000, a field 2,000
# characters, 10 fields, 50 blocks a message); a message's text is cut at 40,000.
# Messages whose blocks add up to ~13,000 characters have been refused with
# msg_blocks_too_long (slackapi/bolt-js#2509), so the whole body is kept under that.
_HEADER_CHARS = 150
_SECTION_CHARS = 3000
_FIELD_CHARS = 2000
_TEXT_CHARS = 3000
_LIST_ITEMS = 20
_MESSAGE_BYTES = 12_000


def _escape(text: str) -> str:
    """Escape the characters Slack's mrkdwn treats as markup, and show controls and bidi."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _code(value: str) -> str:
    """Show a value verbatim: masked evidence is full of ``*``, which mrkdwn reads as bold."""
    return "`" + _escape(value.replace("`", "'")) + "`"


def _codes(values: tuple[str, ...], noun: str = "", caps: Caps | None = None) -> str:
    keep = _LIST_ITEMS if caps is None or caps.items is None else min(caps.items, _LIST_ITEMS)
    chars = None if caps is None else caps.chars
    shown, left = cut_list(values, keep, noun or "more", chars)
    out = [_code(v) for v in shown]
    if left:
        out.append(more(left, noun) if noun else f"and {left:,} more")
    return ", ".join(out) if out else "_none_"


def _lines(title: str, lines: list[str], noun: str) -> str:
    """Return a section text of as many lines as fit, then a count of the rest."""
    text = title
    for n, line in enumerate(lines):
        marker = "\n" + more(len(lines) - n, noun)
        if len(text) + 1 + len(line) + len(marker) > _SECTION_CHARS:
            return text + marker
        text += "\n" + line
    return text


def _link(url: str, label: str) -> str:
    """Return a mrkdwn link; characters that end a link in mrkdwn are percent-encoded."""
    safe = url.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace("&", "&amp;")
    return f"<{safe}|{_escape(label.replace('|', '/'))}>"


def _file_name(url: str) -> str:
    path = urllib.parse.urlsplit(url).path
    return posixpath.basename(path.rstrip("/")) or url


@register
class SlackNotifier:
    """Post each incident event (one per leaked file) to a Slack channel via an incoming webhook.

    The message carries a plain ``text`` (what phone notifications show) and
    Block Kit ``blocks``: severity, target, open findings, entities, columns,
    the file and its link, one line per finding, masked evidence, the reason, and
    a button back to the incident when ``link_base`` is configured. An update or
    a resolution says so in its first words. Long lists are cut with a count
    ("… and 3,412 more columns") to stay within Slack's block limits.

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
        """Return the Slack message for an incident event, cut to Slack's limits."""
        return json.loads(self.body(alert))  # type: ignore[no-any-return]  # our own JSON

    def body(self, alert: Alert) -> bytes:
        """Return the exact bytes sent: the message, with fewer details until it fits."""
        return fit(
            self.name,
            _MESSAGE_BYTES,
            lambda caps: json.dumps(self._message(alert, caps), ensure_ascii=False).encode(),
        )

    def _message(self, alert: Alert, caps: Caps) -> dict[str, object]:
        severity = str(alert.severity).upper()
        entities = ", ".join(alert.entities) or "personal data"
        file_name = _file_name(alert.resource_url)
        open_ = alert.open_findings
        count = f"{len(open_):,} findings" if len(open_) != 1 else "1 finding"
        where = f"{file_name} ({alert.target})"
        if alert.event == "resolved":
            headline = f"Resolved: {entities} in {where}"
            text = f"[RESOLVED] {headline}. {alert.reason}"
        elif alert.event == "updated":
            headline = f"Updated, {severity}: {count} in {where}"
            text = f"[{severity}] {headline}. {alert.reason}"
        else:
            headline = f"{severity}: {entities} published in {where}"
            text = f"[{severity}] {headline}. {alert.reason}"
        facts = [
            f"*Severity*\n{severity}",
            f"*Target*\n{_escape(alert.target)}",
            f"*Open findings*\n{len(open_):,}",
            f"*Entities*\n{_codes(alert.entities, 'entities', caps)}",
            f"*Columns*\n{_codes(alert.columns, 'columns', caps)}",
            f"*Matched cells*\n{alert.matched:,}",
        ]
        if alert.tables:
            facts.append(f"*Tables*\n{_codes(alert.tables, 'tables', caps)}")
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
        ]
        if caps.findings != 0:
            shown = alert.findings if caps.findings is None else alert.findings[: caps.findings]
            lines = [_finding_line(f, caps) for f in shown]
            left = len(alert.findings) - len(shown)
            title = "*Findings*"
            if left:
                lines.append(more(left, "findings"))
            blocks.append(_section(_lines(title, lines, "findings")))
        blocks.append(_section(f"*Evidence (masked)*\n{_codes(alert.evidence, 'samples', caps)}"))
        if alert.reason:
            blocks.append(_section(f"*Reason*\n{_escape(alert.reason)}"))
        if alert.link:
            blocks.append(
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "text": {"type": "plain_text", "text": "Open incident"},
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
                            f"leakmon · {alert.event} · incident {_code(alert.key[:12])} · "
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


def _finding_line(finding: AlertFinding, caps: Caps) -> str:
    change = {
        "opened": " · new",
        "escalated": " · more severe",
        "resolved": " · resolved",
        "allowed": " · allow-listed",
    }.get(finding.change or "", "")
    where = _codes(finding.columns, "columns", caps)
    if finding.table:
        where = f"{_code(finding.table[:120])} {where}"
    return (
        f"• *{str(finding.severity).upper()}* {_escape(finding.entity)} in {where}"
        f" ({finding.matched:,} cells){change}"
    )


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _cut(text, _SECTION_CHARS)}}
