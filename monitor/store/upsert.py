"""Insert-if-absent that is safe under concurrency on both SQLite and PostgreSQL.

Two workers may meet the same new URL (or table schema) at once. A plain
"SELECT, then INSERT if missing" lets both insert and one fail on the unique
constraint; ``INSERT ... ON CONFLICT DO NOTHING`` lets the database settle it,
and the caller then reads (and on PostgreSQL locks) the one surviving row.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite

from monitor.errors import StoreError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.store.schema import Base

__all__ = ["insert_if_absent"]

logger = logging.getLogger(__name__)


def insert_if_absent(
    session: Session, model: type[Base], values: dict[str, Any], conflict: list[str]
) -> None:
    """Insert a row unless one with the same ``conflict`` columns exists.

    Args:
        session: the open transaction.
        model: the ORM class of the table.
        values: column values (Any: each column has its own type).
        conflict: the columns of the unique constraint that decides "exists".
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(model).values(**values)
        session.execute(pg_stmt.on_conflict_do_nothing(index_elements=conflict))
    elif dialect == "sqlite":
        lite_stmt = sqlite.insert(model).values(**values)
        session.execute(lite_stmt.on_conflict_do_nothing(index_elements=conflict))
    else:
        raise StoreError(f"leakmon's store supports sqlite and postgresql, not {dialect}")
