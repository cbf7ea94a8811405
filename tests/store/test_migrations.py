from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text

from monitor.errors import MigrationRequired, StoreError
from monitor.store import Store
from monitor.store.migrate import current_revisions, head_revisions
from monitor.store.schema import Base
from tests.store.fakes import TARGET, URL, finding, minutes

if TYPE_CHECKING:
    from pathlib import Path

    from tests.store.fakes import FakeRouter


def test_migrate_builds_the_schema_on_an_empty_database(store_url: str) -> None:
    store = Store(store_url)
    store.migrate()

    store.check_current()
    assert store.findings() == []
    store.close()


def test_migrations_produce_exactly_the_orm_schema(store_url: str) -> None:
    Store(store_url).migrate()

    engine = create_engine(store_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_migrate_twice_is_harmless(store: Store, router: FakeRouter) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), router)

    store.migrate()

    assert len(store.findings()) == 1


def test_empty_database_requires_migration(store_url: str) -> None:
    store = Store(store_url)

    with pytest.raises(MigrationRequired, match=r"at base \(empty\), leakmon needs 0006"):
        store.check_current()
    store.close()


def test_database_at_an_older_revision_requires_migration(store_url: str) -> None:
    store = Store(store_url)
    store.migrate("0001")

    with pytest.raises(MigrationRequired) as caught:
        store.check_current()

    assert str(caught.value) == (
        "database schema is at 0001, leakmon needs 0006; run `leakmon migrate`"
    )
    store.migrate()
    store.check_current()
    store.close()


def test_database_from_a_newer_leakmon_is_refused(store_url: str) -> None:
    store = Store(store_url)
    store.migrate()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()

    with pytest.raises(StoreError, match="does not know") as caught:
        store.check_current()
    assert not isinstance(caught.value, MigrationRequired)
    store.close()


def test_head_is_the_latest_revision() -> None:
    assert head_revisions() == ("0006",)


def test_migrate_creates_the_sqlite_folder(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'var' / 'lib' / 'state.db'}")

    store.migrate()

    assert (tmp_path / "var" / "lib" / "state.db").is_file()
    assert current_revisions(
        create_engine(f"sqlite:///{tmp_path / 'var' / 'lib' / 'state.db'}")
    ) == ("0006",)
    store.close()


def test_unreachable_database_is_a_store_error_and_ping_says_no() -> None:
    store = Store("postgresql+psycopg://leakmon:s3cret@127.0.0.1:1/nothing")

    assert store.ping() is False
    with pytest.raises(StoreError) as caught:
        store.check_current()
    assert "s3cret" not in str(caught.value)
    assert "127.0.0.1:1" in str(caught.value)
    store.close()


def test_ping_answers_on_a_live_database(store: Store) -> None:
    assert store.ping() is True


def test_unsupported_database_is_refused_early() -> None:
    with pytest.raises(StoreError, match="supports sqlite and postgresql"):
        Store("mysql://leakmon@localhost/leakmon")


def test_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(Store("postgresql+psycopg://leakmon:s3cret@db.example/leakmon"))
