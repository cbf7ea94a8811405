"""Configuration reload on SIGHUP: validate the file, keep the running one on any error.

What an operator changes while on call takes effect at once: allow rules,
notifiers (their URLs, keys and ``min_severity``), ``link_base`` and the scan
settings (``scan``: limits, free-text analysis; the scan workers restart with
them, a file being scanned finishes under the old ones). The daemon then
re-applies allow rules and thresholds to the stored findings, so an added rule
resolves its incident without waiting for the file to change. Everything else
(targets, crawl, storage, http, cluster, scan_workers) is read once at start; a
reload that changes it says so in the log and leaves it for the next restart.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.alerts import AlertRouter
from monitor.config import Settings, load_settings
from monitor.notifiers import build_notifiers

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.notifiers import Notifier

__all__ = ["LIVE_FIELDS", "Reloaded", "load_reloaded", "on_sighup"]

logger = logging.getLogger(__name__)

#: The settings a reload applies at once; the others need a restart.
LIVE_FIELDS = ("allow", "notify", "link_base", "scan")


@dataclass(frozen=True)
class Reloaded:
    """A validated new configuration, ready to swap in.

    Attributes:
        settings: the running settings with the live fields replaced.
        router: the allow rules and thresholds of the new file.
        notifiers: the new notifiers, built (a bad one fails the whole reload).
        pending: settings that changed in the file but wait for a restart.
    """

    settings: Settings
    router: AlertRouter
    notifiers: dict[str, Notifier]
    pending: tuple[str, ...]


def load_reloaded(path: Path, running: Settings) -> Reloaded:
    """Load, validate and build a new configuration without touching the running one.

    Raises:
        ConfigError: the file cannot be read, is invalid, or names a notifier that
            cannot be built; the caller keeps the running configuration.
    """
    settings = load_settings(path)
    notifiers = build_notifiers(settings.notify)
    router = AlertRouter(settings, active=set(notifiers))
    pending = tuple(
        name
        for name in Settings.model_fields
        if name not in LIVE_FIELDS and getattr(settings, name) != getattr(running, name)
    )
    merged = running.model_copy(update={name: getattr(settings, name) for name in LIVE_FIELDS})
    return Reloaded(merged, router, notifiers, pending)


def on_sighup(wanted: threading.Event) -> bool:
    """Make SIGHUP set ``wanted`` instead of ending the process; False off the main thread.

    The handler only sets an event: the reload itself runs on a thread of its own,
    never inside a signal handler on the reactor's thread.
    """
    if threading.current_thread() is not threading.main_thread():
        logger.warning("SIGHUP reload is not installed: the daemon does not run on the main thread")
        return False
    signal.signal(signal.SIGHUP, lambda signum, frame: wanted.set())
    return True
