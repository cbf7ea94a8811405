"""Logging set-up: JSON lines for the daemon (one object per line), plain text for the CLI.

The JSON formatter is python-json-logger's; leakmon only chooses the fields.
Nothing leakmon logs carries a raw matched value: findings are masked before they
exist outside the scan worker.
"""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging"]

_QUIET = ("scrapy", "twisted", "presidio-analyzer", "urllib3", "filelock", "asyncio")


def configure_logging(level: int = logging.INFO, json_lines: bool = False) -> None:
    """Log to stderr, as JSON lines when ``json_lines`` (for journald, Kubernetes, Loki)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                datefmt="%Y-%m-%dT%H:%M:%S%z",
            )
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
