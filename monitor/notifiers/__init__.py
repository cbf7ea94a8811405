"""Notifiers deliver alert events to webhooks, Slack and PagerDuty; the dispatcher drives them."""

from __future__ import annotations

# Built-in notifiers register themselves on import, exactly as plugins do.
from monitor.notifiers.base import (
    NOTIFIERS,
    Notifier,
    build_notifiers,
    http_post,
    load_plugins,
    register,
)
from monitor.notifiers.dispatcher import Dispatcher, Outbox, OutboxItem
from monitor.notifiers.pagerduty import PagerDutyNotifier
from monitor.notifiers.slack import SlackNotifier
from monitor.notifiers.webhook import WebhookNotifier, verify_signature

__all__ = [
    "NOTIFIERS",
    "Dispatcher",
    "Notifier",
    "Outbox",
    "OutboxItem",
    "PagerDutyNotifier",
    "SlackNotifier",
    "WebhookNotifier",
    "build_notifiers",
    "http_post",
    "load_plugins",
    "register",
    "verify_signature",
]
