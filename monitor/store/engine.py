"""Build the SQLAlchemy engine: WAL and write-first transactions on SQLite, pre-ping on PostgreSQL.

SQLite allows one writer at a time. A transaction that reads first and writes
later (``BEGIN DEFERRED``, the driver's default) can fail with "database is
locked" when another writer committed in between, and the busy timeout cannot
save it. So the store opens writing transactions with ``BEGIN IMMEDIATE``, which
takes the write lock up front and waits politely for it; reading transactions
stay deferred, and WAL lets them run beside a writer.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from monitor.redaction import redact_url

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection, Engine
    from sqlalchemy.pool import ConnectionPoolEntry

__all__ = ["WRITE", "build_engine", "is_memory", "redact"]

logger = logging.getLogger(__name__)

#: Execution option that marks a connection as opening writing transactions.
WRITE = "leakmon_write"

_BUSY_TIMEOUT_MS = 30_000
_PG_CONNECT_TIMEOUT_S = 5
#: A server (or a network path) that accepts and then goes silent must not hold a
#: connection for ever: TCP keepalives probe an idle one, and tcp_user_timeout fails a
#: connection whose sent data goes unacknowledged for 15 s. libpq parameters.
_PG_LIVENESS = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 15_000,
}


def redact(url: str | URL) -> str:
    """Return the database URL with its secrets hidden (password, ?password=), for messages."""
    text = url if isinstance(url, str) else url.render_as_string(hide_password=True)
    return redact_url(text)


def is_memory(url: URL) -> bool:
    """Say whether a URL names an in-memory SQLite database (one shared connection)."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def build_engine(url: str) -> Engine:
    """Return an engine for a SQLite or PostgreSQL URL, tuned for the daemon.

    ``hide_parameters`` keeps bound values (masked evidence, but still) out of
    exception messages, which end up in logs.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    # Any: create_engine keyword arguments of several types.
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if backend == "postgresql":
        options["connect_args"] = {"connect_timeout": _PG_CONNECT_TIMEOUT_S, **_PG_LIVENESS}
    return create_engine(parsed, **options)


def _sqlite_engine(url: URL) -> Engine:
    # Any: driver keyword arguments of several types.
    connect_args: dict[str, Any] = {
        "check_same_thread": False,  # the pool hands a connection to one thread at a time
        "timeout": _BUSY_TIMEOUT_MS / 1000,
    }
    if is_memory(url):
        # One connection, or every thread would see its own empty database.
        engine = create_engine(
            url, connect_args=connect_args, poolclass=StaticPool, hide_parameters=True
        )
    else:
        engine = create_engine(url, connect_args=connect_args, hide_parameters=True)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    # Any: the sqlite3 connection; SQLAlchemy types it loosely.
    # Let SQLAlchemy, not the driver, decide where transactions begin (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Connection) -> None:
    immediate = connection.get_execution_options().get(WRITE, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
