"""Schema baselines: the last observed shape of each table, the accepted one, and their history.

Drift is measured against the accepted baseline, never against the last scan,
so a change keeps alerting until someone accepts it (audited, with a reason).
A table is identified within its file by a hash of its name, so ``None`` (a
plain file) and ``""`` stay distinct and long sheet paths stay indexable.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select

from monitor.models import TableSchema
from monitor.store.audit import insert_audit, write_audit
from monitor.store.resources import find_resource, require_resource
from monitor.store.schema import BaselineHistoryRow, BaselineRow, ObservedSchemaRow, ResourceRow
from monitor.store.upsert import insert_if_absent

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.orm import Session

__all__ = [
    "accept_baselines",
    "accept_schema",
    "get_baseline",
    "observe_schema",
    "set_baseline",
    "table_key",
]

logger = logging.getLogger(__name__)


def table_key(table: str | None) -> str:
    """Return the key that identifies a table within its file."""
    return hashlib.sha256(json.dumps([table]).encode("utf-8")).hexdigest()


def observe_schema(session: Session, url: str, schema: TableSchema, at: dt.datetime) -> None:
    """Remember the latest schema seen for one table of a file."""
    resource = require_resource(session, url)
    key = table_key(schema.table)
    values = {
        "resource_id": resource.id,
        "table_key": key,
        "table_name": schema.table,
        "schema": schema.to_dict(),
        "observed_at": at,
    }
    insert_if_absent(session, ObservedSchemaRow, values, ["resource_id", "table_key"])
    row = session.scalars(
        select(ObservedSchemaRow)
        .where(ObservedSchemaRow.resource_id == resource.id, ObservedSchemaRow.table_key == key)
        .with_for_update()
    ).one()
    row.schema, row.observed_at = schema.to_dict(), at


def get_baseline(session: Session, url: str, table: str | None) -> TableSchema | None:
    """Return the accepted schema of one table of a file, if any."""
    resource = find_resource(session, url)
    if resource is None:
        return None
    row = session.scalars(
        select(BaselineRow).where(
            BaselineRow.resource_id == resource.id, BaselineRow.table_key == table_key(table)
        )
    ).one_or_none()
    return TableSchema.from_dict(row.schema) if row is not None else None


def set_baseline(
    session: Session, url: str, schema: TableSchema, *, at: dt.datetime, actor: str, reason: str
) -> None:
    """Accept a schema as the baseline of its table; history and audit record who and why."""
    resource = require_resource(session, url)
    _accept(session, resource, schema.to_dict(), at=at, actor=actor, reason=reason)


def accept_schema(
    session: Session,
    resource: ResourceRow,
    schema: TableSchema,
    *,
    at: dt.datetime,
    actor: str,
    reason: str,
) -> None:
    """``set_baseline`` for a table without a baseline, of a file whose row the caller holds.

    The first version of a table is the common case (every new file): one INSERT
    each for the baseline, its history and the audit entry, and no row read back.
    A baseline that appeared meanwhile (an operator's accept) is replaced, as
    ``set_baseline`` would.
    """
    data = schema.to_dict()
    values = {
        "resource_id": resource.id,
        "table_key": table_key(schema.table),
        "table_name": schema.table,
        "schema": data,
        "accepted_at": at,
        "actor": actor,
        "reason": reason,
    }
    if not insert_if_absent(session, BaselineRow, values, ["resource_id", "table_key"]):
        _accept(session, resource, data, at=at, actor=actor, reason=reason)
        return
    session.connection().execute(insert(BaselineHistoryRow).values(**values))
    insert_audit(session, actor, "baseline.accept", _detail(resource, data, reason), at)


def accept_baselines(
    session: Session,
    *,
    url: str | None,
    target: str | None,
    actor: str,
    reason: str,
    at: dt.datetime,
) -> int:
    """Promote the latest observed schemas that differ from their baselines; return how many.

    Raises:
        ValueError: neither ``url`` nor ``target`` was given (accepting everything
            at once is too easy to do by accident).
    """
    if url is None and target is None:
        raise ValueError("accept_baselines needs a url or a target")
    stmt = select(ObservedSchemaRow, ResourceRow).join(
        ResourceRow, ObservedSchemaRow.resource_id == ResourceRow.id
    )
    if url is not None:
        stmt = stmt.where(ResourceRow.url == url)
    if target is not None:
        stmt = stmt.where(ResourceRow.target == target)
    accepted = 0
    for observed, resource in session.execute(stmt.order_by(ResourceRow.url, ObservedSchemaRow.id)):
        current = session.scalars(
            select(BaselineRow).where(
                BaselineRow.resource_id == resource.id,
                BaselineRow.table_key == observed.table_key,
            )
        ).one_or_none()
        if current is not None and _shape(current.schema) == _shape(observed.schema):
            continue
        _accept(session, resource, dict(observed.schema), at=at, actor=actor, reason=reason)
        accepted += 1
    logger.info("%s accepted %d schema baseline(s)", actor, accepted)
    return accepted


def _accept(
    session: Session,
    resource: ResourceRow,
    schema: dict[str, Any],
    *,
    at: dt.datetime,
    actor: str,
    reason: str,
) -> None:
    # Any: TableSchema.to_dict() output.
    table = schema.get("table")
    key = table_key(table)
    values = {
        "resource_id": resource.id,
        "table_key": key,
        "table_name": table,
        "schema": schema,
        "accepted_at": at,
        "actor": actor,
        "reason": reason,
    }
    insert_if_absent(session, BaselineRow, values, ["resource_id", "table_key"])
    row = session.scalars(
        select(BaselineRow)
        .where(BaselineRow.resource_id == resource.id, BaselineRow.table_key == key)
        .with_for_update()
    ).one()
    row.table_name, row.schema, row.accepted_at, row.actor, row.reason = (
        table,
        schema,
        at,
        actor,
        reason,
    )
    session.add(BaselineHistoryRow(**values))
    write_audit(session, actor, "baseline.accept", _detail(resource, schema, reason), at)


def _detail(resource: ResourceRow, schema: dict[str, Any], reason: str) -> dict[str, Any]:
    # Any: TableSchema.to_dict() output in, JSON out.
    return {
        "resource_url": resource.url,
        "table": schema.get("table"),
        # The names are in baseline_history; the audit line says how much changed hands.
        "columns": len(schema.get("columns") or []),
        "row_level": bool(schema.get("row_level")),
        "reason": reason,
    }


def _shape(schema: dict[str, Any]) -> tuple[object, ...]:
    # Any: TableSchema.to_dict() output.
    # Row counts change with every edition; only columns and row-levelness make a schema.
    return (json.dumps(schema.get("columns"), sort_keys=True), bool(schema.get("row_level")))
