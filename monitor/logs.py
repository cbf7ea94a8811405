"""Logging set-up: JSON lines for the daemon (one object per line), plain text for the CLI.

JSON lines carry ``time`` (RFC 3339, UTC, milliseconds), ``level``, ``logger`` and
``message``, plus the context fields ``target``, ``resource`` and ``incident`` when a line
is about one. Call sites pass them as ``extra={"target": ...}``; for lines written the
older way, the ``target=NAME``, ``incident=KEY``/``key=KEY`` and ``url=URL`` tokens are
lifted out of the message into those fields, and the first URL a message names is copied
into ``resource``.

The same format holds in scan workers (``configure_worker_logging``) and for uncaught
exceptions in any thread. Third-party chatter is kept below INFO (alembic's migration
steps, Scrapy's "Disabled ..." notes for plugins that switch themselves off), and an
error that repeats is written once per ``_THROTTLE_S`` with the number of repeats.

Nothing leakmon logs carries a raw matched value: findings are masked before they
exist outside the scan worker.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from pythonjsonlogger.json import JsonFormatter

if TYPE_CHECKING:
    from types import TracebackType

__all__ = ["configure_logging", "configure_worker_logging"]

_QUIET = ("scrapy", "twisted", "presidio-analyzer", "urllib3", "filelock", "asyncio", "alembic")
#: Set by ``configure_logging`` so that scan workers (forked from a forkserver that
#: inherits the environment) log the way the daemon does.
_ENV_FORMAT, _ENV_LEVEL = "LEAKMON_LOG_FORMAT", "LEAKMON_LOG_LEVEL"
#: The context fields a JSON line may carry, and the message tokens that fill them.
CONTEXT_FIELDS = ("target", "resource", "incident")
_TOKENS = re.compile(r"\s*\b(target|incident|key|url|resource)=(\S+)")
_TOKEN_FIELD = {"target": "target", "incident": "incident", "key": "incident"}
_TOKEN_FIELD |= {"url": "resource", "resource": "resource"}
_URL = re.compile(r"\bhttps?://[^\s'\"<>()]+")
_INCIDENT = re.compile(r"\bincident ([0-9a-f]{12,64})\b")
#: A repeated warning or error is written at most once per this many seconds.
_THROTTLE_S = 600.0
#: Loggers whose tracebacks are folded into one line (``_LibraryTracebacks``).
_LIBRARIES = ("sqlalchemy",)
_REASON_CHARS = 300
_THROTTLE_KEYS = 2048


def _rfc3339(created: float) -> str:
    """Return ``2026-06-28T08:15:02.123Z``."""
    moment = dt.datetime.fromtimestamp(created, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class _Formatter(JsonFormatter):
    """python-json-logger's formatter with leakmon's field names and timestamps."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """Return the record's time in RFC 3339 with milliseconds, in UTC."""
        return _rfc3339(record.created)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        """Add the standard fields, then drop extras that are objects, not values."""
        # Any: a JSON object's values.
        super().add_fields(log_data, record, message_dict)
        shown = log_data.pop("leakmon_message", None)
        if shown is not None:
            log_data["message"] = shown
        for name, value in list(log_data.items()):
            if not isinstance(value, str | int | float | bool | list | dict | type(None)):
                del log_data[name]  # e.g. Scrapy's ``crawler`` object: only its repr


class _Context(logging.Filter):
    """Move ``target=``/``incident=``/``url=`` tokens of a message into fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Fill the context fields; never drops a record."""
        message = record.getMessage()
        found: dict[str, str] = {}

        def lift(m: re.Match[str]) -> str:
            field = _TOKEN_FIELD[m.group(1)]
            found.setdefault(field, m.group(2).rstrip(",;:"))
            return ""

        stripped = _TOKENS.sub(lift, message).strip()
        if found:
            for field, value in found.items():
                if getattr(record, field, None) is None:
                    setattr(record, field, value)
            # Only this handler's line loses the tokens: other handlers (pytest's caplog,
            # a library's own) see the record's message unchanged.
            record.leakmon_message = stripped or message
        # The daemon's own listeners name their address: that is not a resource.
        serving = record.name.startswith(("monitor.health", "monitor.web"))
        if getattr(record, "resource", None) is None and not serving:
            url = _URL.search(message)
            if url:
                record.resource = url.group(0).rstrip(".,;:")
        if getattr(record, "incident", None) is None:
            incident = _INCIDENT.search(message)
            if incident:
                record.incident = incident.group(1)
        return True


class _Demote(logging.Filter):
    """Scrapy's "Disabled X: why" is a plugin switching itself off on purpose: DEBUG."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Lower the record to DEBUG; keep it only when DEBUG is on."""
        if isinstance(record.msg, str) and record.msg.startswith("Disabled "):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        return True


class _LibraryTracebacks(logging.Filter):
    """A database library's traceback is one line: its exception's type and first line.

    SQLAlchemy logs "Error closing cursor" with the whole traceback when the
    database goes away under a streamed query; the outage itself is reported by
    leakmon's own lines ("store unavailable ..., will be retried"), so this one is a
    warning that names the error, not forty lines an operator must read past.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Fold a ``sqlalchemy`` record's traceback into its message."""
        if not record.name.startswith(_LIBRARIES) or not record.exc_info:
            return True
        error = record.exc_info[1]
        if error is not None:
            first = (str(error).splitlines() or [""])[0][:_REASON_CHARS]
            record.msg = f"{record.getMessage()}: {type(error).__name__}: {first}"
            record.args = None
        record.exc_info, record.exc_text = None, None
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class _Throttle(logging.Filter):
    """Write a repeated warning or error once per window, then say how often it repeated."""

    def __init__(self, window: float = _THROTTLE_S, clock: Any = time.monotonic) -> None:
        # Any: a zero-argument callable returning seconds (tests pass a fake clock).
        super().__init__()
        self._window = window
        self._clock = clock
        self._seen: OrderedDict[tuple[str, int, str], tuple[float, int]] = OrderedDict()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the first of a run of identical lines and one per window after it."""
        if record.levelno < logging.WARNING:
            return True
        context = "\x00".join(str(getattr(record, f, "")) for f in CONTEXT_FIELDS)
        key = (record.name, record.levelno, f"{record.getMessage()}\x00{context}")
        now = self._clock()
        with self._lock:
            first, suppressed = self._seen.get(key, (None, 0))
            if first is not None and now - first < self._window:
                self._seen[key] = (first, suppressed + 1)
                return False
            self._seen[key] = (now, 0)
            self._seen.move_to_end(key)
            while len(self._seen) > _THROTTLE_KEYS:
                self._seen.popitem(last=False)
        if suppressed:
            record.repeated = suppressed  # lines suppressed since the last one written
        return True


def _handler(json_lines: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(
            _Formatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
        handler.addFilter(_Context())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Demote())
    handler.addFilter(_LibraryTracebacks())
    handler.addFilter(_Throttle())
    return handler


def _log_uncaught(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None, where: str
) -> None:
    logging.getLogger("monitor").critical(
        "uncaught %s in %s", kind.__name__, where, exc_info=(kind, exc, tb)
    )


def configure_logging(level: int = logging.INFO, json_lines: bool = False) -> None:
    """Log to stderr, as JSON lines when ``json_lines`` (for journald, Kubernetes, Loki).

    Scan workers started after this call log the same way, and so do uncaught
    exceptions and Python warnings.
    """
    root = logging.getLogger()
    root.handlers[:] = [_handler(json_lines)]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    logging.captureWarnings(True)
    os.environ[_ENV_FORMAT] = "json" if json_lines else "text"
    os.environ[_ENV_LEVEL] = logging.getLevelName(level)
    sys.excepthook = lambda kind, exc, tb: _log_uncaught(kind, exc, tb, "main thread")
    threading.excepthook = lambda a: _log_uncaught(
        a.exc_type, a.exc_value or a.exc_type(), a.exc_traceback, f"thread {a.thread}"
    )


def configure_worker_logging() -> None:
    """Log in a scan worker as the daemon that started it does (JSON lines or text)."""
    fmt = os.environ.get(_ENV_FORMAT)
    if fmt is None:
        return  # not started by a configured process (a library caller): leave logging be
    level = logging.getLevelName(os.environ.get(_ENV_LEVEL, "WARNING"))
    configure_logging(level if isinstance(level, int) else logging.WARNING, fmt == "json")
