"""Generic webhook notifier: the alert as JSON, optionally signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from monitor.notifiers.base import HttpUrl, http_post, parse_config, register
from monitor.notifiers.bounds import alert_document, fit

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.config import NotifierConfig
    from monitor.models import Alert

__all__ = ["WebhookNotifier", "sign", "verify_signature"]

logger = logging.getLogger(__name__)

#: How far a receiver should let a signature's timestamp stray from its own clock.
DEFAULT_TOLERANCE = 300.0
#: The default body limit (``max_body_kb``): most HTTP servers and gateways take 1 MB.
DEFAULT_MAX_BODY_KB = 512


def sign(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """Return the ``X-Leakmon-Signature`` value for a body sent at ``timestamp``."""
    key = secret.encode("utf-8") if isinstance(secret, str) else secret
    digest = hmac.new(key, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(
    secret: str | bytes,
    timestamp: str,
    body: bytes,
    signature: str,
    *,
    now: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
) -> bool:
    """Say whether a received webhook is authentic and fresh (for receivers written in Python).

    Args:
        secret: the shared signing key.
        timestamp: the ``X-Leakmon-Timestamp`` header.
        body: the raw request body, exactly as received (not re-serialised JSON).
        signature: the ``X-Leakmon-Signature`` header.
        now: the receiver's Unix time; defaults to the current time.
        tolerance: how many seconds old (or early) a timestamp may be, to stop replays.
    """
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


def _json(document: dict[str, object]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@register
class WebhookNotifier:
    """POST each incident event as JSON to any HTTPS endpoint, signed when a secret is set.

    One incident per file: ``opened`` with every finding of the file, ``updated``
    when findings are added, leave or grow more severe, ``resolved`` when the last
    one resolves. The body is ``Alert.to_dict()``: ``event``, ``key`` (the
    incident's), ``severity``, ``target``, ``resource_url``, ``portal``,
    ``dataset``, ``reason``, ``entities``, ``tables``, ``columns``, ``evidence``
    (masked samples only), ``matched``, ``open_findings``, ``findings`` (one
    object per finding: ``key``, ``entity``, ``severity``, ``status``, ``change``,
    ``table``, ``columns``, ``evidence``, ``matched``, ``reason``),
    ``occurred_at``, ``opened_at``, ``sequence`` and ``link``. A body larger than
    ``max_body_kb`` is cut (fewer findings, shorter lists) until it fits, and
    ``truncated`` counts what was left out (``{"columns": 3412}``).

    Headers:
        ``X-Leakmon-Event``: ``opened``, ``updated`` or ``resolved``.
        ``X-Leakmon-Delivery``: ``<key>:<sequence>``, the same on every redelivery of an
        event; delivery is at least once, so a receiver should drop ids it has seen.
        ``X-Leakmon-Timestamp``: Unix seconds when this attempt was sent (not when the
        finding changed: a redelivery after an outage carries a fresh timestamp).
        ``X-Leakmon-Signature``: only when ``secret`` is configured,
        ``sha256=`` + hex HMAC-SHA256, keyed with the secret, of the bytes
        ``<timestamp> + "." + <raw body>``.

    To verify, a receiver recomputes the HMAC over the timestamp header, a dot and
    the raw body bytes as received, compares it in constant time, and rejects
    timestamps more than five minutes away from its clock (replays).
    ``monitor.notifiers.webhook.verify_signature`` does exactly this.

    Config: ``url`` (required, a secret); ``secret`` (optional HMAC key); ``timeout``;
    ``max_body_kb`` (default 512). An empty ``url`` switches the notifier off.
    """

    kind: ClassVar[str] = "webhook"

    class Config(BaseModel):
        """The fields of a notifier entry that a webhook reads."""

        model_config = ConfigDict(extra="forbid", frozen=True)

        name: str
        url: HttpUrl
        secret: SecretStr | None = None
        timeout: float = Field(10.0, gt=0)
        max_body_kb: int = Field(DEFAULT_MAX_BODY_KB, ge=4, le=100 * 1024)

    def __init__(
        self,
        url: str,
        *,
        secret: str | bytes | None = None,
        name: str = "webhook",
        timeout: float = 10.0,
        max_body_kb: int = DEFAULT_MAX_BODY_KB,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.name = name
        self._url = url
        self._secret = secret or None
        self._timeout = timeout
        self._max_bytes = max_body_kb * 1024
        self._clock = clock

    @classmethod
    def from_config(cls, cfg: NotifierConfig) -> Self:
        """Build from a ``notify:`` entry of kind ``webhook``."""
        conf = parse_config(cls.Config, cfg)
        return cls(
            conf.url.get_secret_value(),
            secret=conf.secret.get_secret_value() if conf.secret else None,
            name=conf.name,
            timeout=conf.timeout,
            max_body_kb=conf.max_body_kb,
        )

    def __repr__(self) -> str:
        return f"WebhookNotifier(name={self.name!r}, signed={self._secret is not None})"

    def body(self, alert: Alert) -> bytes:
        """Return the exact bytes sent (and signed) for an alert, within ``max_body_kb``."""
        return fit(
            self.name,
            self._max_bytes,
            lambda caps: _json(alert_document(alert, caps, markers=False)),
        )

    def headers(self, alert: Alert, body: bytes) -> dict[str, str]:
        """Return the leakmon headers for one attempt, signing ``body`` when a secret is set."""
        out = {
            "X-Leakmon-Event": alert.event,
            "X-Leakmon-Delivery": f"{alert.key}:{alert.sequence}",
        }
        if self._secret is not None:
            timestamp = str(int(self._clock()))
            out["X-Leakmon-Timestamp"] = timestamp
            out["X-Leakmon-Signature"] = sign(self._secret, timestamp, body)
        return out

    def send(self, alert: Alert) -> None:
        """POST the alert once.

        Raises:
            NotifyError: the endpoint did not answer 2xx.
            NotifyRefused: it answered 400, 413, 415 or 422: it will not take this body,
                however often it is sent.
        """
        body = self.body(alert)
        status, _ = http_post(
            self.name, self._url, body, self.headers(alert, body), timeout=self._timeout
        )
        logger.debug("webhook %r answered %d for key=%s", self.name, status, alert.key)
