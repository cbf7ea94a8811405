"""Published files: first and last sight, HTTP validators, scan history, disappearance.

Every function here works inside a transaction the ``Store`` opened.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, case, insert, select, update

from monitor.errors import StoreError
from monitor.store.columns import UTCDateTime
from monitor.store.records import ResourceState
from monitor.store.schema import ResourceRow, ScanRow
from monitor.store.upsert import insert_if_absent

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Collection, Iterator, Sequence

    from sqlalchemy.orm import Session

__all__ = [
    "ensure_resource",
    "find_resource",
    "iter_validators",
    "list_resources",
    "mark_gone",
    "record_fetch",
    "record_scan",
    "require_resource",
    "to_state",
    "touch_batch",
    "touch_resource",
    "unlinked_urls",
    "validators_of",
]

logger = logging.getLogger(__name__)

_DEFAULT_PORTAL = "html"
#: Scan errors are reader messages; keep enough to diagnose, not a whole traceback.
_MAX_ERROR = 2000
#: Rows fetched per round trip when a whole target is read (a cursor, not a list).
_STREAM = 5000


def to_state(row: ResourceRow) -> ResourceState:
    """Return the public record of a resource row."""
    return ResourceState(
        target=row.target,
        url=row.url,
        portal=row.portal,
        dataset=row.dataset,
        etag=row.etag,
        last_modified=row.last_modified,
        sha256=row.sha256,
        size=row.size,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        last_changed=row.last_changed,
        last_scanned=row.last_scanned,
        gone_at=row.gone_at,
    )


def find_resource(session: Session, url: str, *, lock: bool = False) -> ResourceRow | None:
    """Return the row of a URL; ``lock`` holds it (PostgreSQL) until the transaction ends.

    Locking the resource row is how changes to one file's findings are serialized:
    every lifecycle transaction takes this lock first. SQLite needs no row lock, its
    writing transactions already run one at a time.
    """
    stmt = select(ResourceRow).where(ResourceRow.url == url)
    if lock:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def require_resource(session: Session, url: str, *, lock: bool = False) -> ResourceRow:
    """Return the row of a URL the crawler has already reported.

    Raises:
        StoreError: the URL was never touched.
    """
    row = find_resource(session, url, lock=lock)
    if row is None:
        raise StoreError(f"unknown resource url={url}: call touch_resource first")
    return row


def ensure_resource(
    session: Session,
    target: str,
    url: str,
    at: dt.datetime,
    *,
    portal: str | None = None,
    dataset: str | None = None,
) -> ResourceRow:
    """Return the locked row of a URL, creating it (first seen ``at``) when new."""
    insert_if_absent(
        session,
        ResourceRow,
        {
            "url": url,
            "target": target,
            "portal": portal or _DEFAULT_PORTAL,
            "dataset": dataset,
            "first_seen": at,
            "last_seen": at,
        },
        ["url"],
    )
    return require_resource(session, url, lock=True)


def touch_resource(
    session: Session,
    target: str,
    url: str,
    *,
    seen_at: dt.datetime,
    portal: str | None,
    dataset: str | None,
) -> ResourceState:
    """Note that a URL is listed now; a file that reappears is live again."""
    row = ensure_resource(session, target, url, seen_at, portal=portal, dataset=dataset)
    if row.target != target:
        logger.info("resource moved from target=%s to target=%s", row.target, target)
        row.target = target
    if portal is not None:
        row.portal = portal
    if dataset is not None:
        row.dataset = dataset
    # Workers finish out of order; last_seen only moves forward.
    row.last_seen = max(row.last_seen, seen_at)
    if row.gone_at is not None:
        logger.info("resource of target=%s is live again", target)
        row.gone_at = None
    return to_state(row)


def record_fetch(
    session: Session,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    sha256: str,
    size: int,
    at: dt.datetime,
) -> bool:
    """Store a download's validators; return True when the body's hash changed or was unknown."""
    row = require_resource(session, url, lock=True)
    changed = row.sha256 != sha256
    row.etag = etag
    row.last_modified = last_modified
    row.sha256 = sha256
    row.size = size
    row.last_seen = max(row.last_seen, at)
    if changed:
        row.last_changed = at
    return changed


def record_scan(
    session: Session,
    url: str,
    *,
    sha256: str | None,
    report_kind: str,
    rows: int,
    tables: int,
    error: str | None,
    seconds: float,
    at: dt.datetime,
) -> None:
    """Append a scan to the file's history (counts and outcome, never values)."""
    row = require_resource(session, url, lock=True)
    if error is not None and len(error) > _MAX_ERROR:
        error = error[: _MAX_ERROR - 1] + "…"
    session.add(
        ScanRow(
            resource_id=row.id,
            scanned_at=at,
            sha256=sha256,
            report_kind=report_kind,
            row_count=rows,
            table_count=tables,
            error=error,
            seconds=seconds,
        )
    )
    row.last_scanned = at


def mark_gone(session: Session, url: str, at: dt.datetime) -> None:
    """Record that a file disappeared (the first time it is noticed counts)."""
    row = find_resource(session, url, lock=True)
    if row is None:
        logger.debug("mark_gone for a URL never seen; nothing to do")
        return
    if row.gone_at is None:
        row.gone_at = at


def list_resources(
    session: Session, target: str | None, *, include_gone: bool
) -> list[ResourceState]:
    """Return the files of one target (or all), live ones only unless asked."""
    stmt = select(ResourceRow).order_by(ResourceRow.url)
    if target is not None:
        stmt = stmt.where(ResourceRow.target == target)
    if not include_gone:
        stmt = stmt.where(ResourceRow.gone_at.is_(None))
    return [to_state(row) for row in session.scalars(stmt)]


def touch_batch(session: Session, target: str, urls: Sequence[str], seen_at: dt.datetime) -> int:
    """Note that files are listed now, in one statement; insert those never seen; return how many.

    What ``touch_resource`` does for one URL, for a batch: ``last_seen`` moves
    forward only, ``gone_at`` is cleared and the target is the one that lists it.
    One multi-row ``UPDATE ... WHERE url IN (...)`` does it (no ORM objects); only
    when it matched fewer rows than URLs are the missing ones looked up and inserted.
    """
    if not urls:
        return 0
    at = bindparam("seen_at", seen_at, type_=UTCDateTime())
    moved = session.execute(
        update(ResourceRow)
        .where(ResourceRow.url.in_(urls))
        .values(
            last_seen=case((ResourceRow.last_seen < at, at), else_=ResourceRow.last_seen),
            gone_at=None,
            target=target,
        )
        # No ORM objects of these rows live in the session: nothing to synchronize.
        .execution_options(synchronize_session=False)
    )
    matched: int = moved.rowcount  # type: ignore[attr-defined]  # CursorResult of an UPDATE
    if matched < len(urls):
        known = set(session.scalars(select(ResourceRow.url).where(ResourceRow.url.in_(urls))))
        new = [
            {
                "url": url,
                "target": target,
                "portal": _DEFAULT_PORTAL,
                "first_seen": seen_at,
                "last_seen": seen_at,
            }
            for url in dict.fromkeys(urls)
            if url not in known
        ]
        if new:
            session.execute(insert(ResourceRow), new)
    return len(urls)


def iter_validators(
    session: Session, target: str
) -> Iterator[tuple[str, str | None, str | None, str]]:
    """Yield ``(url, etag, last_modified, sha256)`` of a target's live, fetched files, streamed.

    One SELECT of four columns read through a cursor (``yield_per``): a restart
    loads 100,000 files' validators without 100,000 queries or ORM objects.
    """
    stmt = (
        select(ResourceRow.url, ResourceRow.etag, ResourceRow.last_modified, ResourceRow.sha256)
        .where(ResourceRow.target == target)
        .where(ResourceRow.gone_at.is_(None))
        .where(ResourceRow.sha256.is_not(None))
        .execution_options(yield_per=_STREAM)
    )
    for url, etag, last_modified, sha256 in session.execute(stmt):
        if sha256 is not None:  # always, by the WHERE clause; for the type checker
            yield url, etag, last_modified, sha256


def validators_of(
    session: Session, urls: Collection[str]
) -> dict[str, tuple[str | None, str | None, str | None]]:
    """Return ``url -> (etag, last_modified, sha256)`` of those of ``urls`` the store has.

    One SELECT of four columns for the lot (the caller keeps ``urls`` to a
    batch): cluster mode reads the validators of every job it takes from the
    frontier at once, where a query and an ORM object per file cost more CPU
    than the conditional GET they serve. A URL absent from the result was
    never recorded.
    """
    if not urls:
        return {}
    stmt = select(
        ResourceRow.url, ResourceRow.etag, ResourceRow.last_modified, ResourceRow.sha256
    ).where(ResourceRow.url.in_(list(urls)))
    return {url: (etag, modified, sha) for url, etag, modified, sha in session.execute(stmt)}


def unlinked_urls(session: Session, target: str, seen: Collection[str]) -> list[str]:
    """Return the live files of a target that are not in ``seen`` (the poll's linked URLs).

    Only URLs are read, streamed: the set difference keeps nothing but the
    (usually few) unlinked ones, where ``list_resources`` built a record per file.
    """
    stmt = (
        select(ResourceRow.url)
        .where(ResourceRow.target == target)
        .where(ResourceRow.gone_at.is_(None))
        .order_by(ResourceRow.url)
        .execution_options(yield_per=_STREAM)
    )
    return [url for url in session.scalars(stmt) if url not in seen]
