"""One database: engine, short sessions, schema checks, and SQLAlchemy errors as ``StoreError``."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from alembic.util import CommandError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import (
    DBAPIError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StoreBusy, StoreError
from monitor.store import migrate as _migrate
from monitor.store.engine import WRITE, build_engine, is_memory, redact
from monitor.store.locks import AdvisoryLock, LocalLock

if TYPE_CHECKING:
    from collections.abc import Iterator
    from contextlib import AbstractContextManager

    from monitor.store.locks import NamedLock

__all__ = ["Database"]

logger = logging.getLogger(__name__)

_BACKENDS = ("sqlite", "postgresql")


class Database:
    """The connection side of the store; ``Store`` adds the domain on top.

    Raises:
        StoreError: the URL is malformed or names an unsupported database.
    """

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except SQLAlchemyError as exc:
            raise StoreError(f"storage URL is not a database URL: {exc}") from None
        backend = parsed.get_backend_name()
        if backend not in _BACKENDS:
            raise StoreError(
                f"storage {redact(parsed)}: leakmon supports sqlite and postgresql, not {backend}"
            )
        #: The URL without its password, for messages.
        self.where = redact(parsed)
        memory = is_memory(parsed)
        self._sqlite_file = (
            Path(parsed.database)
            if backend == "sqlite" and not memory and parsed.database
            else None
        )
        self._engine = build_engine(url)
        self._reads = sessionmaker(self._engine, expire_on_commit=False)
        self._writes = sessionmaker(
            self._engine.execution_options(**{WRITE: True}), expire_on_commit=False
        )
        # An in-memory database is one shared connection: callers must take turns.
        self._turns: threading.Lock | None = threading.Lock() if memory else None

    def _exclusive(self) -> AbstractContextManager[object]:
        return self._turns if self._turns is not None else nullcontext()

    @contextmanager
    def session(self, *, write: bool) -> Iterator[Session]:
        """Yield a session in one transaction: committed on success, rolled back otherwise.

        ``write`` opens it with the write lock taken up front on SQLite (see ``engine``).
        """
        maker = self._writes if write else self._reads
        with self._exclusive():
            try:
                with maker.begin() as session:
                    yield session
            except SQLAlchemyError as exc:
                raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> StoreError:
        # The driver's own message, first line only: the SQL text is noise in a log line.
        cause = getattr(exc, "orig", None) or exc
        lines = str(cause).strip().splitlines()
        message = f"store {self.where}: {type(cause).__name__}: {lines[0] if lines else ''}"
        return StoreBusy(message) if _transient(exc) else StoreError(message)

    def migrate(self, revision: str) -> None:
        """Upgrade the schema to ``revision``, creating a SQLite file's folder first."""
        if self._sqlite_file is not None:
            try:
                self._sqlite_file.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"store {self.where}: cannot create its folder: {exc}") from exc
        with self._exclusive():
            try:
                _migrate.upgrade(self._engine, revision)
            except SQLAlchemyError as exc:
                raise self._error(exc) from exc
            except CommandError as exc:
                raise StoreError(f"store {self.where}: cannot migrate: {exc}") from exc

    def check_current(self) -> None:
        """Raise ``MigrationRequired`` or ``StoreError`` unless the schema is current."""
        with self._exclusive():
            try:
                _migrate.check_current(self._engine)
            except SQLAlchemyError as exc:
                raise self._error(exc) from exc

    def ping(self) -> bool:
        """Say whether the database answers ``SELECT 1``; never raises."""
        with self._exclusive():
            try:
                with self._engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
            except SQLAlchemyError as exc:
                logger.debug("store %s does not answer: %s", self.where, exc)
                return False
        return True

    def lock(self, name: str) -> NamedLock:
        """Return a lock on ``name`` shared by every process using this database."""
        if self._engine.dialect.name == "postgresql":
            return AdvisoryLock(self._engine, name, self.where)
        return LocalLock(name)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()


def _transient(exc: BaseException) -> bool:
    """Say whether a database error may go away by itself (lock, connection, deadlock).

    ``OperationalError`` covers "database is locked", refused or dropped
    connections and PostgreSQL's deadlock and serialization failures; constraint
    violations and SQL errors are not retried (they would fail the same way).
    """
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated
