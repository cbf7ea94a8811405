"""Fault fixtures: a stand-in portal, a holding receiver, and a fresh store per test.

The store is a SQLite file in ``tmp_path``, or a PostgreSQL database created for
the one test (``leakmon_fault_<random>``) and dropped after it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from monitor.standin import Portal
from tests.databases import Postgres, create_postgres, drop_postgres
from tests.faults.harness import HoldingReceiver

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def portal() -> Iterator[Portal]:
    """Return a running stand-in portal."""
    p = Portal().start()
    yield p
    p.stop()


@pytest.fixture
def receiver() -> Iterator[HoldingReceiver]:
    """Return a running webhook receiver that can hold a POST open."""
    r = HoldingReceiver().start()
    yield r
    r.stop()


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    """Return a fresh PostgreSQL database; fail in CI, skip elsewhere, when the server is down."""
    db = create_postgres()
    if db is None:
        message = "PostgreSQL is not reachable at 127.0.0.1:5432"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    yield db
    drop_postgres(db)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty store: a SQLite file, or a fresh PostgreSQL database.

    The PostgreSQL runs are ``slow`` (about 30 s together): the SQLite runs carry the
    must-holds in the default suite, ``-m slow`` repeats them on the production store.
    """
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    db: Postgres = request.getfixturevalue("postgres")
    return db.url
