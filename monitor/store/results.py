"""A scan result's store writes in the caller's transaction: history, schemas, findings, validators.

The daemon used to record one scanned file in seven or more transactions (scan
history, observed schema, baseline read, baseline, findings, validators), each a
commit, a pooled-connection check-out and, on PostgreSQL, a pre-ping and a WAL
flush: 18 commits per file on the first pass. ``record_result`` does the same
writes inside one transaction that a batch of several files can share
(``monitor.store.batch``), reading the file's row once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from monitor.errors import StoreError
from monitor.models import TableSchema
from monitor.store import baselines as _baselines
from monitor.store import lifecycle as _lifecycle
from monitor.store.resources import require_resource
from monitor.store.schema import BaselineRow, ObservedSchemaRow, ResourceRow, ScanRow

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable

    from sqlalchemy.orm import Session

    from monitor.models import Alert, Finding
    from monitor.store.records import Router

__all__ = ["FetchValidators", "ScanResult", "record_result"]

logger = logging.getLogger(__name__)

#: Scan errors are reader messages; keep enough to diagnose, not a whole traceback.
_MAX_ERROR = 2000


@dataclass(frozen=True)
class FetchValidators:
    """A download's HTTP validators, stored last: a file whose result is not in is fetched again."""

    etag: str | None
    last_modified: str | None
    sha256: str
    size: int


@dataclass(frozen=True)
class ScanResult:
    """Everything the store records about one scanned file, as one unit.

    ``schemas`` are compared with (or become) their tables' baselines; ``complete``
    false means the scan read part of the file, so nothing is resolved; no
    ``validators`` means the file is fetched and scanned again (a scan that failed).
    """

    target: str
    url: str
    sha256: str | None
    report_kind: str
    rows: int
    tables: int
    error: str | None
    seconds: float
    at: dt.datetime
    findings: tuple[Finding, ...] = ()
    schemas: tuple[TableSchema, ...] = ()
    complete: bool = True
    validators: FetchValidators | None = None


def record_result(
    session: Session,
    result: ScanResult,
    router: Router,
    drift: Callable[[str, TableSchema, TableSchema], Finding | None],
) -> list[Alert]:
    """Write one scan result in the open transaction; return the alerts it queued.

    ``drift`` is given a file's URL, a table's accepted baseline and its schema
    now, and returns the drift finding, if any (``monitor.drift`` lives above the store).

    The same writes, in the same order, as the separate calls did: the scan's
    history row, each table's observed schema and its baseline (set when there
    is none, else compared by ``drift``), the findings' lifecycle, and last the
    validators. The file's row is locked once, first (every lifecycle
    transaction takes that lock first, so two results of one file cannot interleave).

    Raises:
        StoreError: the URL was never touched.
    """
    resource = require_resource(session, result.url, lock=True)
    error = result.error
    if error is not None and len(error) > _MAX_ERROR:
        error = error[: _MAX_ERROR - 1] + "…"
    # A plain INSERT on the connection: no ORM object of a row nobody reads back here.
    session.connection().execute(
        insert(ScanRow).values(
            resource_id=resource.id,
            scanned_at=result.at,
            sha256=result.sha256,
            report_kind=result.report_kind,
            row_count=result.rows,
            table_count=result.tables,
            error=error,
            seconds=result.seconds,
        )
    )
    findings = list(result.findings)
    for schema in result.schemas:
        _observe(session, resource.id, schema, result.at)
        baseline = _baseline(session, resource.id, schema.table)
        if baseline is None:
            _baselines.accept_schema(
                session,
                resource,
                schema,
                at=result.at,
                actor="leakmon",
                reason="first version seen",
            )
            continue
        finding = drift(result.url, baseline, schema)
        if finding is not None:
            findings.append(finding)
    alerts = _lifecycle.apply_findings(
        session,
        result.target,
        result.url,
        findings,
        result.at,
        router,
        result.complete,
        resource=resource,
    )
    # The file's row is updated once, at the commit (not flushed between the reads above).
    resource.last_scanned = result.at
    if result.validators is not None:
        _validators(resource, result.validators, result.at)
    return alerts


def _observe(session: Session, resource_id: int, schema: TableSchema, at: dt.datetime) -> None:
    """Upsert a table's latest observed schema in one statement (no row read back)."""
    # Any: column values of several types.
    values: dict[str, Any] = {
        "resource_id": resource_id,
        "table_key": _baselines.table_key(schema.table),
        "table_name": schema.table,
        "schema": schema.to_dict(),
        "observed_at": at,
    }
    dialect = session.get_bind().dialect.name
    # On the connection: the ORM's bulk-insert path costs more than the statement.
    if dialect == "postgresql":
        pg = postgresql.insert(ObservedSchemaRow).values(**values)
        session.connection().execute(
            pg.on_conflict_do_update(
                index_elements=["resource_id", "table_key"],
                set_={"schema": pg.excluded.schema, "observed_at": pg.excluded.observed_at},
            )
        )
    elif dialect == "sqlite":
        lite = sqlite.insert(ObservedSchemaRow).values(**values)
        session.connection().execute(
            lite.on_conflict_do_update(
                index_elements=["resource_id", "table_key"],
                set_={"schema": lite.excluded.schema, "observed_at": lite.excluded.observed_at},
            )
        )
    else:
        raise StoreError(f"leakmon's store supports sqlite and postgresql, not {dialect}")


def _baseline(session: Session, resource_id: int, table: str | None) -> TableSchema | None:
    """Return a table's accepted schema, reading one column (no ORM object)."""
    stored = session.scalar(
        select(BaselineRow.schema).where(
            BaselineRow.resource_id == resource_id,
            BaselineRow.table_key == _baselines.table_key(table),
        )
    )
    return TableSchema.from_dict(stored) if stored is not None else None


def _validators(resource: ResourceRow, fetched: FetchValidators, at: dt.datetime) -> None:
    """Store a download's validators on the locked row (as ``resources.record_fetch``)."""
    if resource.sha256 != fetched.sha256:
        resource.last_changed = at
    resource.etag = fetched.etag
    resource.last_modified = fetched.last_modified
    resource.sha256 = fetched.sha256
    resource.size = fetched.size
    resource.last_seen = max(resource.last_seen, at)
