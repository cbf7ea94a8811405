"""Named locks shared by every replica: PostgreSQL advisory locks, process-local on SQLite.

A session-level advisory lock belongs to one database connection, so it lasts as
long as that connection and no longer: when a replica dies, the server closes its
connection and the lock is free at once, with no lease to wait out. That is what
the leader election and the per-URL scan claim need. SQLite serves one process,
so a process-local lock gives the same answers there.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection, Engine

__all__ = ["AdvisoryLock", "LocalLock", "NamedLock", "lock_key"]

logger = logging.getLogger(__name__)


class NamedLock(Protocol):
    """A non-blocking lock on a name."""

    def try_acquire(self) -> bool:
        """Take the lock if it is free; return whether this holder has it now."""
        ...

    def held(self) -> bool:
        """Say whether this holder still has the lock (never raises)."""
        ...

    def release(self) -> None:
        """Give the lock back (never raises)."""
        ...


def lock_key(name: str) -> int:
    """Return the signed 64-bit advisory-lock key of a name."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big", signed=True)


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock, held on a connection of its own."""

    def __init__(self, engine: Engine, name: str, where: str) -> None:
        self._engine = engine
        self._name = name
        self._where = where
        self._key = lock_key(name)
        self._conn: Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if it is free.

        Raises:
            StoreError: the database does not answer.
        """
        if self._conn is not None:
            return self.held()
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise StoreError(f"store {self._where}: cannot lock {self._name!r}: {exc}") from None
        try:
            got = bool(
                conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._key}).scalar()
            )
        except SQLAlchemyError as exc:
            conn.invalidate()
            conn.close()
            raise StoreError(f"store {self._where}: cannot lock {self._name!r}: {exc}") from None
        if got:
            self._conn = conn
        else:
            conn.close()
        return got

    def held(self) -> bool:
        """Say whether the lock's connection is still alive (a dead one lost the lock)."""
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            logger.warning("lock %r lost with its database connection: %s", self._name, exc)
            self._drop()
            return False
        return True

    def release(self) -> None:
        """Unlock and hand the connection back; a broken connection is thrown away."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
            self._conn.close()
        except SQLAlchemyError:
            self._drop()
        self._conn = None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.invalidate()  # never back into the pool: it may still hold the lock
            conn.close()
        except SQLAlchemyError:
            logger.debug("closing a broken lock connection failed", exc_info=True)


_LOCAL: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()


class LocalLock:
    """A process-local lock on a name, for a store that serves one process (SQLite)."""

    def __init__(self, name: str) -> None:
        with _LOCAL_GUARD:
            self._lock = _LOCAL.setdefault(name, threading.Lock())
        self._mine = False

    def try_acquire(self) -> bool:
        """Take the lock if it is free."""
        if not self._mine:
            self._mine = self._lock.acquire(blocking=False)
        return self._mine

    def held(self) -> bool:
        """Say whether this holder has the lock."""
        return self._mine

    def release(self) -> None:
        """Give the lock back."""
        if self._mine:
            self._mine = False
            self._lock.release()
