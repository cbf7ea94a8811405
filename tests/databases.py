"""Throw-away PostgreSQL databases on the local server, for tests that run real daemons."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

__all__ = ["ADMIN_URL", "Postgres", "create_postgres", "drop_postgres"]

ADMIN_URL = os.environ.get(
    "LEAKMON_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@dataclass
class Postgres:
    """A throw-away PostgreSQL database created for one test."""

    url: str
    name: str

    def url_via(self, port: int, password: str | None = None) -> str:
        """Return the URL through another port (a proxy), optionally with a password."""
        url = make_url(self.url).set(port=port)
        if password is not None:
            url = url.set(password=password)
        return url.render_as_string(hide_password=False)


def create_postgres(prefix: str = "leakmon_fault") -> Postgres | None:
    """Create ``<prefix>_<random>`` on the local server; ``None`` when it is down."""
    admin = create_engine(
        ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"{prefix}_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # any failure means: no PostgreSQL here
        return None
    finally:
        admin.dispose()
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return Postgres(url, name)


def drop_postgres(db: Postgres) -> None:
    """Drop a database made by ``create_postgres`` (forcing out leftover connections)."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{db.name}" WITH (FORCE)'))
    admin.dispose()
