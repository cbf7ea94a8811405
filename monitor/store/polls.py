"""Poll leases (cluster mode): each target's due poll goes to exactly one replica.

Claiming is ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL: replicas asking at
the same moment each lock different rows instead of waiting for one another, and a
row one of them holds is simply not offered to the rest. The lease is what survives
the transaction: a row whose ``lease_until`` has passed is claimable again, which is
how a dead replica's poll is taken over. On SQLite (one process) the clause is
ignored and the writing transaction alone serializes claims.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update

from monitor.store.newest import is_superseded, newest_wins
from monitor.store.records import PollClaim
from monitor.store.schema import PollRow
from monitor.store.upsert import insert_if_absent

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.orm import Session

__all__ = [
    "claim_polls",
    "finish_poll",
    "release_polls",
    "renew_polls",
    "save_coverage",
    "save_walk",
    "sync_polls",
    "walks",
]

logger = logging.getLogger(__name__)


def sync_polls(session: Session, targets: Collection[str], at: dt.datetime) -> None:
    """Give every configured target a lease row, due at once when it is new."""
    for name in sorted(targets):
        insert_if_absent(session, PollRow, {"target": name, "next_due_at": at}, ["target"])


def claim_polls(
    session: Session,
    owner: str,
    targets: Collection[str],
    now: dt.datetime,
    lease: float,
    limit: int,
) -> list[PollClaim]:
    """Claim up to ``limit`` due polls among ``targets`` that no live lease holds."""
    if not targets or limit <= 0:
        return []
    stmt = (
        select(PollRow)
        .where(
            PollRow.target.in_(sorted(targets)),
            PollRow.next_due_at <= now,
            or_(PollRow.owner.is_(None), PollRow.lease_until < now),
        )
        .order_by(PollRow.next_due_at, PollRow.target)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    until = now + dt.timedelta(seconds=lease)
    claims = []
    for row in session.scalars(stmt):
        taken_over = row.owner is not None and row.owner != owner
        if taken_over:
            logger.warning(
                "target=%s: taking over its poll from replica %s, whose lease ended at %s",
                row.target,
                row.owner,
                row.lease_until.isoformat(timespec="seconds") if row.lease_until else "?",
            )
        row.owner, row.lease_until, row.started_at = owner, until, now
        claims.append(PollClaim(row.target, row.cursor, taken_over))
    return claims


def renew_polls(
    session: Session, owner: str, targets: Collection[str], until: dt.datetime
) -> set[str]:
    """Extend this replica's leases; return the targets it still holds."""
    if not targets:
        return set()
    session.execute(
        update(PollRow)
        .where(PollRow.owner == owner, PollRow.target.in_(sorted(targets)))
        .values(lease_until=until)
    )
    held = session.scalars(
        select(PollRow.target).where(PollRow.owner == owner, PollRow.target.in_(sorted(targets)))
    )
    return set(held)


def finish_poll(
    session: Session,
    owner: str,
    target: str,
    *,
    next_due_at: dt.datetime,
    cursor: str | None,
    at: dt.datetime,
) -> bool:
    """End this replica's poll of a target; return False if its lease was lost meanwhile."""
    result = session.execute(
        update(PollRow)
        .where(PollRow.target == target, PollRow.owner == owner)
        .values(
            owner=None, lease_until=None, next_due_at=next_due_at, cursor=cursor, finished_at=at
        )
    )
    done = int(getattr(result, "rowcount", 0)) == 1
    if not done:
        logger.warning(
            "target=%s: this replica's lease ended before its poll did; another replica"
            " has taken the target over",
            target,
        )
    return done


def release_polls(session: Session, owner: str) -> int:
    """Hand back every lease of a replica that is stopping; the polls stay due."""
    result = session.execute(
        update(PollRow).where(PollRow.owner == owner).values(owner=None, lease_until=None)
    )
    return int(getattr(result, "rowcount", 0))


def save_walk(
    session: Session,
    target: str,
    *,
    cursor: str | None,
    coverage: dict[str, Any] | None,
    at: dt.datetime,
) -> None:
    """Keep a target's walk cursor and last coverage (one process: no lease is involved).

    Two polls' saves run on the daemon's worker threads and may land out of order: the
    one ``at`` the later time wins, so a late save never moves the walk back to where an
    older poll stopped (``monitor.store.newest``). Any: ``coverage`` is
    ``Coverage.to_dict()`` JSON; ``None`` leaves the stored one.
    """
    insert_if_absent(session, PollRow, {"target": target, "next_due_at": at}, ["target"])
    values: dict[str, Any] = {"cursor": cursor, "finished_at": at}
    if coverage is not None:
        values["coverage"] = coverage
    session.execute(
        update(PollRow)
        .where(PollRow.target == target, newest_wins(PollRow.finished_at, at))
        .values(**values)
    )


def save_coverage(session: Session, target: str, coverage: dict[str, Any]) -> None:
    """Keep a target's last poll coverage unless a later poll's is stored.

    Two polls' saves may land out of order (worker threads): an older poll's "complete"
    must not replace the newer poll's "incomplete" in ``leakmon status``. The row is
    locked while the two polls' end times are compared (SQLite: the write transaction
    already is; the rule: ``monitor.store.newest``). Any: ``Coverage.to_dict()`` JSON.
    """
    insert_if_absent(
        session, PollRow, {"target": target, "next_due_at": dt.datetime.now(dt.UTC)}, ["target"]
    )
    stored = session.scalar(
        select(PollRow.coverage).where(PollRow.target == target).with_for_update()
    )
    if is_superseded(_ended_at(coverage), _ended_at(stored)):
        logger.debug("target=%s coverage of an older poll not saved: a newer one is", target)
        return
    session.execute(update(PollRow).where(PollRow.target == target).values(coverage=coverage))


def _ended_at(coverage: dict[str, Any] | None) -> dt.datetime | None:
    """Return when a stored coverage's poll ended; None when it has no readable time."""
    try:
        return dt.datetime.fromisoformat(coverage["at"]) if coverage else None
    except (KeyError, TypeError, ValueError):
        return None


def walks(session: Session) -> dict[str, tuple[str | None, dict[str, Any] | None]]:
    """Return each target's walk cursor and last coverage JSON (Any: JSON)."""
    rows = session.execute(select(PollRow.target, PollRow.cursor, PollRow.coverage))
    return {row.target: (row.cursor, row.coverage) for row in rows}
