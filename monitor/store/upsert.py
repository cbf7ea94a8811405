"""Insert-if-absent that is safe under concurrency on both SQLite and PostgreSQL.

Two workers may meet the same new URL (or table schema) at once. A plain
"SELECT, then INSERT if missing" lets both insert and one fail on the unique
constraint; ``INSERT ... ON CONFLICT DO NOTHING`` lets the database settle it,
and the caller then reads (and on PostgreSQL locks) the one surviving row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import literal_column
from sqlalchemy.dialects import postgresql, sqlite

from monitor.errors import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.orm import Session
    from sqlalchemy.sql.expression import Executable

    from monitor.store.schema import Base

__all__ = ["insert_if_absent"]

logger = logging.getLogger(__name__)

#: Each dialect's INSERT with ON CONFLICT (the two build the same statement).
_INSERTS: dict[str, Callable[[type[Base]], postgresql.Insert | sqlite.Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def insert_if_absent(
    session: Session, model: type[Base], values: dict[str, Any], conflict: list[str]
) -> bool:
    """Insert a row unless one with the same ``conflict`` columns exists; say whether it did.

    Args:
        session: the open transaction.
        model: the ORM class of the table.
        values: column values (Any: each column has its own type).
        conflict: the columns of the unique constraint that decides "exists".
    """
    dialect = session.get_bind().dialect.name
    insert = _INSERTS.get(dialect)
    if insert is None:
        raise StoreError(f"leakmon's store supports sqlite and postgresql, not {dialect}")
    stmt: Executable = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(literal_column("1"))
    )
    # On the session's connection, not through ``session.execute``: the ORM's bulk-insert
    # path cost more than the statement (a third of a first pass's store time). Pending
    # objects go first, as the session's autoflush would have sent them.
    session.flush()
    # Whether it inserted is read from RETURNING (a row, or none when the conflict
    # skipped it), not from rowcount: SQLAlchemy adds an implicit RETURNING to a
    # PostgreSQL INSERT and psycopg then reports rowcount -1, so on PostgreSQL every
    # insert looked skipped and each new file's baseline took the slow path.
    return session.connection().execute(stmt).first() is not None
