"""The ``Store`` facade: one short transaction per call, safe from many threads.

Everything outside ``monitor.store`` talks to the database through this class,
in ``monitor.models`` types and the records of ``monitor.store.records``. Any
database failure surfaces as ``StoreError`` (the daemon catches exactly that);
exceptions raised by the caller's router roll the transaction back and propagate
unchanged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from monitor.models import Coverage
from monitor.store import audit as _audit
from monitor.store import baselines as _baselines
from monitor.store import carry as _carry
from monitor.store import findings as _findings
from monitor.store import incidents as _incidents
from monitor.store import lifecycle as _lifecycle
from monitor.store import outbox as _outbox
from monitor.store import polls as _polls
from monitor.store import resources as _resources
from monitor.store import results as _results
from monitor.store.database import Database

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
    from typing import Any

    from monitor.models import Alert, Finding, Severity, TableSchema
    from monitor.store.locks import NamedLock
    from monitor.store.records import (
        AuditEntry,
        FindingEvent,
        FindingRecord,
        IncidentEvent,
        IncidentRecord,
        OutboxItem,
        PollClaim,
        ResourceState,
        Router,
    )
    from monitor.store.results import ScanResult

__all__ = ["TOUCH_BATCH", "Store"]

logger = logging.getLogger(__name__)

#: URLs per ``touch_resources`` transaction: one statement each, well under SQLite's
#: 32,766 bound parameters, and milliseconds of write lock.
TOUCH_BATCH = 1000


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    """Yield lists of up to ``size`` items, in order."""
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class Store:
    """leakmon's state: resources, findings lifecycle, outbox, baselines and audit.

    Args:
        url: a SQLAlchemy URL, ``sqlite:///path/state.db`` or
            ``postgresql+psycopg://user@host:5432/db``. Nothing connects until first use.

    Raises:
        StoreError: the URL is malformed or names an unsupported database.
    """

    def __init__(self, url: str) -> None:
        self._db = Database(url)
        self._session = self._db.session

    def __repr__(self) -> str:
        return f"Store({self._db.where!r})"

    # -- schema and connections -----------------------------------------------------------

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (Alembic ``upgrade``), creating a SQLite folder."""
        self._db.migrate(revision)

    def check_current(self) -> None:
        """Raise unless the schema is the one this leakmon needs.

        Raises:
            MigrationRequired: the schema is behind; run ``leakmon migrate``.
            StoreError: the database is unreachable, or newer than this leakmon.
        """
        self._db.check_current()

    def ping(self) -> bool:
        """Say whether the database answers ``SELECT 1``; never raises."""
        return self._db.ping()

    def close(self) -> None:
        """Close every pooled connection (SQLite then folds its WAL back into the file)."""
        self._db.close()

    # -- resources ------------------------------------------------------------------------

    def resource(self, url: str) -> ResourceState | None:
        """Return what is known about a file, or ``None``."""
        with self._session(write=False) as s:
            row = _resources.find_resource(s, url)
            return _resources.to_state(row) if row is not None else None

    def resources(
        self, target: str | None = None, include_gone: bool = False
    ) -> list[ResourceState]:
        """Return the files of one target (or all), by URL; live ones unless asked."""
        with self._session(write=False) as s:
            return _resources.list_resources(s, target, include_gone=include_gone)

    def touch_resource(
        self,
        target: str,
        url: str,
        *,
        seen_at: dt.datetime,
        portal: str | None = None,
        dataset: str | None = None,
    ) -> ResourceState:
        """Record that a file is listed now (insert or update; clears ``gone_at``).

        ``portal`` and ``dataset`` left at ``None`` keep what is stored (a new
        file gets portal ``html``), so a bare "still there" touch loses nothing.
        """
        with self._session(write=True) as s:
            return _resources.touch_resource(
                s, target, url, seen_at=seen_at, portal=portal, dataset=dataset
            )

    def touch_resources(
        self,
        target: str,
        urls: Iterable[str],
        *,
        seen_at: dt.datetime,
        batch: int = TOUCH_BATCH,
    ) -> int:
        """Record that many files are still listed; return how many.

        One ``UPDATE ... WHERE url IN (...)`` per ``batch`` URLs, each batch its own
        short transaction: at 100,000 files the SQLite write lock is never held for
        more than one batch (milliseconds), so a scan result waiting to be recorded
        is not starved by a poll's bookkeeping. A failure part-way keeps the batches
        done; touching again is harmless.
        """
        count = 0
        for chunk in _chunks(urls, batch):
            with self._session(write=True) as s:
                count += _resources.touch_batch(s, target, chunk, seen_at)
        return count

    def validators(self, target: str) -> Iterator[tuple[str, str | None, str | None, str]]:
        """Yield ``(url, etag, last_modified, sha256)`` of a target's live fetched files.

        Streamed from one SELECT in one read transaction, held open until the
        iterator is exhausted or closed: consume it promptly (a restart's bulk load).
        """
        with self._session(write=False) as s:
            yield from _resources.iter_validators(s, target)

    def validators_of(
        self, urls: Collection[str], *, batch: int = TOUCH_BATCH
    ) -> dict[str, tuple[str | None, str | None, str | None]]:
        """Return ``url -> (etag, last_modified, sha256)`` for those of ``urls`` ever recorded.

        One read transaction, one SELECT per ``batch`` URLs (cluster mode reads a
        whole take of frontier jobs this way instead of a query per file).
        """
        found: dict[str, tuple[str | None, str | None, str | None]] = {}
        with self._session(write=False) as s:
            for chunk in _chunks(urls, batch):
                found.update(_resources.validators_of(s, chunk))
        return found

    def unlinked(self, target: str, seen: Collection[str]) -> list[str]:
        """Return the URLs of a target's live files that are not in ``seen``, by URL."""
        with self._session(write=False) as s:
            return _resources.unlinked_urls(s, target, seen)

    def record_fetch(
        self,
        url: str,
        *,
        etag: str | None,
        last_modified: str | None,
        sha256: str,
        size: int,
        at: dt.datetime,
    ) -> bool:
        """Store a download's validators; return True when the content changed (or was unknown)."""
        with self._session(write=True) as s:
            return _resources.record_fetch(
                s, url, etag=etag, last_modified=last_modified, sha256=sha256, size=size, at=at
            )

    def record_scan(
        self,
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
        """Append a scan to the file's history (counts and outcome only)."""
        with self._session(write=True) as s:
            _resources.record_scan(
                s,
                url,
                sha256=sha256,
                report_kind=report_kind,
                rows=rows,
                tables=tables,
                error=error,
                seconds=seconds,
                at=at,
            )

    def record_results(
        self,
        results: Sequence[tuple[ScanResult, Router]],
        drift: Callable[[str, TableSchema, TableSchema], Finding | None],
    ) -> list[list[Alert]]:
        """Record several files' scan results in one transaction; return each one's alerts.

        Each result is what ``record_scan``, ``observed_schema``, ``baseline`` /
        ``set_baseline``, ``apply_findings`` and ``record_fetch`` did in as many
        transactions (see ``monitor.store.results``); all of them commit together or
        none does. They are written in URL order, so two batches lock files' rows
        in the same order.
        """
        order = sorted(range(len(results)), key=lambda i: results[i][0].url)
        alerts: list[list[Alert]] = [[] for _ in results]
        with self._session(write=True) as s:
            for i in order:
                result, router = results[i]
                alerts[i] = _results.record_result(s, result, router, drift)
        return alerts

    def mark_gone(self, url: str, at: dt.datetime) -> None:
        """Record that a file disappeared."""
        with self._session(write=True) as s:
            _resources.mark_gone(s, url, at)

    # -- findings -------------------------------------------------------------------------

    def apply_findings(
        self,
        target: str,
        url: str,
        findings: Sequence[Finding],
        at: dt.datetime,
        router: Router,
        complete: bool = True,
    ) -> list[Alert]:
        """Apply a resource's current findings; return the alerts queued.

        See ``monitor.store.lifecycle`` for the transitions. Findings, events,
        audit entries and outbox rows commit together or not at all. A scan that
        was not ``complete`` resolves nothing.
        """
        with self._session(write=True) as s:
            return _lifecycle.apply_findings(s, target, url, findings, at, router, complete)

    def resolve_resource(
        self,
        target: str,
        url: str,
        at: dt.datetime,
        router: Router,
        reason: str = "file removed",
    ) -> list[Alert]:
        """Resolve every finding of a file that is gone; return the alerts queued."""
        with self._session(write=True) as s:
            return _lifecycle.resolve_resource(s, target, url, at, router, reason)

    def reapply(self, router: Router, at: dt.datetime) -> list[Alert]:
        """Apply the router's allow rules and thresholds to every open or allowed finding.

        Called when the configuration is (re)loaded: no rescan is needed for an allow
        rule or a notifier threshold to take effect. One transaction per file, so a
        failure part-way keeps what was done; calling it again is harmless.
        """
        with self._session(write=False) as s:
            urls = _lifecycle.reapply_candidates(s)
        alerts: list[Alert] = []
        for url in urls:
            with self._session(write=True) as s:
                alerts += _lifecycle.reapply(s, url, at, router)
        return alerts

    # -- incidents (one per file of a target: what on-call is paged about) ------------------

    def open_incidents(self, target: str | None = None) -> list[IncidentRecord]:
        """Return the open incidents, most severe first, each with all its file's findings."""
        with self._session(write=False) as s:
            return _incidents.list_incidents(s, open_only=True, target=target)

    def incidents(self, open_only: bool = False, target: str | None = None) -> list[IncidentRecord]:
        """Return incidents: open ones first (most severe first), then resolved ones."""
        with self._session(write=False) as s:
            return _incidents.list_incidents(s, open_only=open_only, target=target)

    def incident(self, key: str) -> IncidentRecord | None:
        """Return one incident by its key (or its file's URL), with every finding of the file."""
        with self._session(write=False) as s:
            return _incidents.get_incident(s, key)

    def incident_events(self, key: str) -> list[IncidentEvent]:
        """Return an incident's announced events (opened, updated, resolved) in order."""
        with self._session(write=False) as s:
            return _incidents.list_incident_events(s, key)

    # -- findings -------------------------------------------------------------------------

    def findings(self, open_only: bool = False, target: str | None = None) -> list[FindingRecord]:
        """Return findings, most recently opened first."""
        with self._session(write=False) as s:
            return _findings.list_findings(s, open_only=open_only, target=target)

    def open_counts(self) -> dict[tuple[str, Severity], int]:
        """Return how many findings are open per (target, severity), for the gauge."""
        with self._session(write=False) as s:
            return _findings.open_counts(s)

    def finding_events(self, key: str) -> list[FindingEvent]:
        """Return one finding's events in sequence order."""
        with self._session(write=False) as s:
            return _findings.list_events(s, key)

    # -- outbox ---------------------------------------------------------------------------

    def due(self, now: dt.datetime, limit: int = 100) -> list[OutboxItem]:
        """Return undelivered alerts due by ``now``: the oldest per (notifier, incident) only."""
        with self._session(write=False) as s:
            return _outbox.due(s, now, limit)

    def delivered(self, item_id: int, at: dt.datetime) -> None:
        """Mark an outbox row delivered, releasing the finding's next event."""
        with self._session(write=True) as s:
            _outbox.delivered(s, item_id, at)

    def failed(
        self, item_id: int, at: dt.datetime, error: str, next_attempt_at: dt.datetime
    ) -> None:
        """Count a failed delivery and schedule a retry; the row is kept."""
        with self._session(write=True) as s:
            _outbox.failed(s, item_id, at, error, next_attempt_at)

    def park(self, item_id: int, at: dt.datetime, error: str) -> None:
        """Give up on an outbox row the receiver refused for good; later events go on."""
        with self._session(write=True) as s:
            _outbox.park(s, item_id, at, error)

    def parked(self, notifier: str | None = None, limit: int = 100) -> list[OutboxItem]:
        """Return parked outbox rows (refused for good), most recent first."""
        with self._session(write=False) as s:
            return _outbox.parked(s, notifier, limit)

    def prune_outbox(self, delivered_before: dt.datetime) -> int:
        """Delete outbox rows delivered before a time; return how many. Undelivered rows stay."""
        with self._session(write=True) as s:
            return _outbox.prune(s, delivered_before)

    def outbox_depth(self) -> int:
        """Return how many alerts wait for delivery."""
        with self._session(write=False) as s:
            return _outbox.depth(s)

    # -- baselines and audit --------------------------------------------------------------

    def observed_schema(self, url: str, schema: TableSchema, at: dt.datetime) -> None:
        """Remember the latest schema seen for one table of a file."""
        with self._session(write=True) as s:
            _baselines.observe_schema(s, url, schema, at)

    def baseline(self, url: str, table: str | None) -> TableSchema | None:
        """Return the accepted schema of one table of a file, if any."""
        with self._session(write=False) as s:
            return _baselines.get_baseline(s, url, table)

    def set_baseline(
        self, url: str, schema: TableSchema, *, at: dt.datetime, actor: str, reason: str
    ) -> None:
        """Accept a schema as its table's baseline (history and audit record who and why)."""
        with self._session(write=True) as s:
            _baselines.set_baseline(s, url, schema, at=at, actor=actor, reason=reason)

    def accept_baselines(
        self,
        *,
        url: str | None = None,
        target: str | None = None,
        actor: str,
        reason: str,
        at: dt.datetime,
    ) -> int:
        """Promote the latest observed schemas that differ from their baselines; return how many.

        Raises:
            ValueError: neither ``url`` nor ``target`` was given.
        """
        with self._session(write=True) as s:
            return _baselines.accept_baselines(
                s, url=url, target=target, actor=actor, reason=reason, at=at
            )

    def audit(self, actor: str, action: str, detail: dict[str, Any], at: dt.datetime) -> None:
        """Append an entry to the audit log (``detail`` is JSON: Any values)."""
        with self._session(write=True) as s:
            _audit.write_audit(s, actor, action, detail, at)

    def audit_log(self, limit: int = 100) -> list[AuditEntry]:
        """Return the latest audit entries, newest first."""
        with self._session(write=False) as s:
            return _audit.audit_log(s, limit)

    # -- cluster mode: poll leases and named locks -----------------------------------------

    def sync_polls(self, targets: Collection[str], at: dt.datetime) -> None:
        """Give every configured target a poll lease row (a new one is due at once)."""
        with self._session(write=True) as s:
            _polls.sync_polls(s, targets, at)

    def claim_polls(
        self, owner: str, targets: Collection[str], now: dt.datetime, lease: float, limit: int
    ) -> list[PollClaim]:
        """Claim up to ``limit`` due polls no live lease holds, for ``lease`` seconds."""
        with self._session(write=True) as s:
            return _polls.claim_polls(s, owner, targets, now, lease, limit)

    def renew_polls(self, owner: str, targets: Collection[str], until: dt.datetime) -> set[str]:
        """Extend this replica's poll leases; return the targets it still holds."""
        with self._session(write=True) as s:
            return _polls.renew_polls(s, owner, targets, until)

    def finish_poll(
        self,
        owner: str,
        target: str,
        *,
        next_due_at: dt.datetime,
        cursor: str | None,
        at: dt.datetime,
    ) -> bool:
        """End a poll and set the next; False when the lease had passed to another replica."""
        with self._session(write=True) as s:
            return _polls.finish_poll(
                s, owner, target, next_due_at=next_due_at, cursor=cursor, at=at
            )

    def save_coverage(self, coverage: Coverage) -> None:
        """Keep a target's last poll coverage, for ``leakmon status`` and restarts."""
        with self._session(write=True) as s:
            _polls.save_coverage(s, coverage.target, coverage.to_dict())

    def save_cursor(self, target: str, cursor: str | None, at: dt.datetime) -> None:
        """Keep where a target's catalogue walk resumes (one process; cluster: ``finish_poll``)."""
        with self._session(write=True) as s:
            _polls.save_walk(s, target, cursor=cursor, coverage=None, at=at)

    def walks(self) -> dict[str, tuple[str | None, Coverage | None]]:
        """Return each target's stored walk cursor and last coverage."""
        with self._session(write=False) as s:
            stored = _polls.walks(s)
        out: dict[str, tuple[str | None, Coverage | None]] = {}
        for target, (cursor, data) in stored.items():
            coverage = None
            if data:
                try:
                    coverage = Coverage.from_dict(data)
                except ValueError as exc:
                    logger.warning("target=%s stored coverage unreadable: %s", target, exc)
            out[target] = (cursor, coverage)
        return out

    def release_polls(self, owner: str) -> int:
        """Hand back a stopping replica's leases so another takes the polls at once."""
        with self._session(write=True) as s:
            return _polls.release_polls(s, owner)

    def lock(self, name: str) -> NamedLock:
        """Return a non-blocking lock on ``name`` shared by every replica of this store."""
        return self._db.lock(name)

    # -- the HTML rotation's carry-over (issue 14; appended) ------------------------------

    def save_carry_over(
        self, target: str, entries: list[dict[str, str | None]], at: dt.datetime
    ) -> None:
        """Keep the files a target's last poll could not fetch for its budget (empty: none)."""
        with self._session(write=True) as s:
            _carry.save_carry(s, target, entries, at)

    def carry_overs(self) -> dict[str, list[dict[str, str | None]]]:
        """Return every target's stored carry-over, for the first polls after a restart."""
        with self._session(write=False) as s:
            return _carry.carried(s)
