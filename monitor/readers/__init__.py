"""Readers turn files of every format portals publish into tables of string cells."""

from __future__ import annotations

# Built-in readers register themselves on import, exactly as plugins do.
from monitor.readers import archive as _archive  # noqa: F401
from monitor.readers import csv as _csv  # noqa: F401
from monitor.readers import html as _html  # noqa: F401
from monitor.readers import hyper as _hyper  # noqa: F401
from monitor.readers import json as _json  # noqa: F401
from monitor.readers import ndjson as _ndjson  # noqa: F401
from monitor.readers import pdf as _pdf  # noqa: F401
from monitor.readers import spreadsheet as _spreadsheet  # noqa: F401
from monitor.readers import tde as _tde  # noqa: F401
from monitor.readers import twb as _twb  # noqa: F401
from monitor.readers import twbx as _twbx  # noqa: F401
from monitor.readers import vizql as _vizql  # noqa: F401
from monitor.readers.registry import (
    REGISTRY,
    Reader,
    detect_kind,
    load_plugins,
    read_tables,
    reader_for,
    register,
)

__all__ = [
    "REGISTRY",
    "Reader",
    "detect_kind",
    "load_plugins",
    "read_tables",
    "reader_for",
    "register",
]
