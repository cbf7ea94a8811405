"""Store fixtures: every store test runs on SQLite (a file) and on the real PostgreSQL.

PostgreSQL gets one throw-away database per test session (dropped at the end)
and one schema per test inside it, so runs and tests never see each other's rows.
"""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from monitor.store import Store
from tests.store.fakes import FakeRouter

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from sqlalchemy.engine import URL

ADMIN_URL = os.environ.get(
    "LEAKMON_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
START = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[URL]:
    """Create a throw-away database for this session; fail in CI, skip elsewhere, if down."""
    admin = create_engine(
        ADMIN_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
    )
    name = f"leakmon_test_{secrets.token_hex(6)}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        message = f"PostgreSQL is not reachable at {ADMIN_URL} ({reason}); start it with: {START}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield make_url(ADMIN_URL).set(database=name)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    database: URL = request.getfixturevalue("postgres_database")
    schema = f"t_{secrets.token_hex(6)}"
    engine = create_engine(database, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    url = database.update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    """Return a migrated store on an empty database."""
    s = Store(store_url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def router() -> FakeRouter:
    """Return a router that pages the notifier ``hook`` for every severity."""
    return FakeRouter()
