"""Run and check Alembic migrations programmatically; they ship inside the package.

There is no ``alembic.ini``: the configuration is built here, and the store
hands its own connection to ``migrations/env.py``. To write a new revision
during development::

    from alembic import command
    from monitor.store.migrate import alembic_config
    cfg = alembic_config("sqlite:///dev.db")
    command.revision(cfg, message="what changes", autogenerate=True)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from monitor.errors import MigrationRequired, StoreError
from monitor.store.engine import WRITE

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["alembic_config", "check_current", "current_revisions", "head_revisions", "upgrade"]

logger = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).resolve().with_name("migrations")
#: PostgreSQL advisory lock held while migrating, so two daemons starting at once take turns.
_MIGRATION_LOCK = 0x6C65616B6D6F6E  # "leakmon"


def alembic_config(url: str | None = None) -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> tuple[str, ...]:
    """Return the revision(s) this version of leakmon needs."""
    return tuple(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """Return the revision(s) the database is at; empty for a database never migrated."""
    with engine.connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database to ``revision`` in one transaction."""
    with engine.execution_options(**{WRITE: True}).begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        before = tuple(MigrationContext.configure(conn).get_current_heads())
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        after = tuple(MigrationContext.configure(conn).get_current_heads())
    if before != after:
        logger.info("database schema migrated from %s to %s", _show(before), _show(after))


def check_current(engine: Engine) -> None:
    """Raise unless the database schema is exactly the one this leakmon needs.

    Raises:
        MigrationRequired: the schema is behind (or the database is empty).
        StoreError: the schema was written by a leakmon this one does not know.
    """
    current = current_revisions(engine)
    heads = head_revisions()
    if set(current) == set(heads):
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [rev for rev in current if rev not in known]
    if unknown:
        raise StoreError(
            f"database schema is at {_show(current)}, which this leakmon does not know "
            f"(it needs {_show(heads)}); was it migrated by a newer leakmon?"
        )
    raise MigrationRequired(
        f"database schema is at {_show(current)}, leakmon needs {_show(heads)}; "
        "run `leakmon migrate`"
    )


def _show(revisions: tuple[str, ...]) -> str:
    return ",".join(revisions) if revisions else "base (empty)"
