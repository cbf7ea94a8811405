"""The daemon: crawl hooks → isolated scans → findings lifecycle → durable alerts.

Threads and why: the Twisted reactor (crawler) owns the main thread and must
never block, so each downloaded file is scanned on a worker thread that drives
an isolated scan process; the dispatcher delivers the outbox on its own thread;
the health endpoint serves from another. The store is the only shared state,
and it is transactional.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from monitor.alerts import AlertRouter
from monitor.cluster import Cluster
from monitor.crawl import CrawlService, Validators
from monitor.drift import compare_schemas, drift_finding
from monitor.errors import FrontierError, StoreError
from monitor.health import HealthServer
from monitor.isolation import WORKER_KILLED, IsolatedScanner
from monitor.metrics import Metrics
from monitor.models import Finding, Severity, utcnow
from monitor.notifiers import Dispatcher, build_notifiers
from monitor.scheduler import run_reactor, stop_reactor
from monitor.spool import Spool
from monitor.store import Store

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.config import Settings
    from monitor.models import Alert, FetchedFile, FileReport

__all__ = ["Daemon"]

logger = logging.getLogger(__name__)

#: Errors that mean "this file could not be checked": reported, never silent. A file
#: that kills its scan worker (memory or time limit) is one of them.
_UNCHECKABLE = ("EncryptedFile", "FileTooLarge", WORKER_KILLED)
#: After a store failure, how long the reactor thread stops asking the store for
#: validators: an unreachable PostgreSQL can hold each query for its connect timeout.
_STORE_BACKOFF_S = 10.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: How often a replica checks that it still leads, or tries to.
_LEAD_CHECK_S = 2.0


class Daemon:
    """Wires the crawler, scanner, store, notifiers and health endpoint together."""

    def __init__(self, settings: Settings, metrics: Metrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or Metrics()
        self.store = Store(settings.storage.get_secret_value())
        notifiers = build_notifiers(settings.notify)
        self.router = AlertRouter(settings, active=set(notifiers))
        self.scanner = IsolatedScanner(settings.scan)
        self.pool = ThreadPoolExecutor(settings.scan_workers, thread_name_prefix="scan")
        self.dispatcher = Dispatcher(self.store, notifiers, self.metrics)
        # Cluster mode: the store's poll leases and the Redis frontier share out the work;
        # one elected replica (the leader) delivers alerts and exports cluster-wide gauges.
        self.cluster = Cluster(settings.cluster, self.store) if settings.cluster else None
        self._leading = threading.Event()
        if self.cluster is None:
            self._leading.set()  # one process: it delivers alerts and exports every gauge
            self.metrics.cluster_leader.set(1)
        self.crawl = CrawlService(settings, self, self.metrics, cluster=self.cluster)
        self.health = HealthServer(settings.http.listen, self.metrics, self.readiness)
        self._stop = threading.Event()
        self._spool = Spool()
        self._inflight: set[str] = set()
        self._lock = threading.Lock()
        # Read on the reactor thread for every linked file of every poll: kept in memory
        # (the store is written first, so a restart only re-reads it).
        self._validators: dict[str, Validators] = {}
        # Unchanged files are recorded once per poll, in one transaction, not one per file.
        self._unchanged: dict[str, set[str]] = {}
        # The last store failure, until the write probe of readiness() succeeds.
        # A SELECT 1 ping cannot see a locked SQLite file (WAL readers go on), so
        # readiness also needs what the writers saw.
        self._store_error: str | None = None
        self._store_quiet_until = 0.0
        self._probing = False

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        """Migrate the store, start every part, and block until SIGTERM or SIGINT."""
        # Downloads and scan scratch files go to a private folder, removed on stop;
        # what a killed predecessor left there is removed now.
        self._spool.claim()
        self.store.migrate()
        self.refresh_gauges()
        self.health.start()
        sender = threading.Thread(
            target=self.dispatcher.run_forever,
            args=(self._stop,),
            kwargs={"gate": self._leading.is_set},
            name="dispatch",
            daemon=True,
        )
        sender.start()
        if self.cluster is not None:
            threading.Thread(target=self._lead, name="leader", daemon=True).start()
        try:
            run_reactor(start=self.crawl.start, stop=self.crawl.stop)
        finally:
            self.shutdown()
            sender.join(timeout=5)

    def request_stop(self) -> None:
        """Stop the daemon from another thread, as SIGTERM would."""
        stop_reactor()

    def shutdown(self) -> None:
        """Stop accepting work; queued alerts stay in the durable outbox for the next start."""
        self._stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.health.stop()
        self._spool.release()
        logger.info("leakmon stopped")

    def readiness(self) -> tuple[bool, dict[str, str]]:
        """Return whether the store answers and takes writes and the crawler runs, with details.

        After a failed store call the daemon stays not ready until a write goes
        through again: a background probe (a write that changes nothing) finds
        out without waiting for the next poll.
        """
        answers = self.store.ping()
        failing = self._store_error is not None
        if answers and failing:
            self._probe_store()
        crawling = self.crawl.running
        ready = answers and not failing and crawling
        details = {
            "store": "unreachable" if not answers else "failing" if failing else "ok",
            "crawler": "running" if crawling else "stopped",
        }
        if self.cluster is not None:
            # Without Redis this replica still polls what it claims (and fetches those
            # files itself), but takes no downloads from the others: not ready.
            frontier = self.cluster.frontier.ping()
            ready = ready and frontier
            details["frontier"] = "ok" if frontier else "unreachable"
            details["leader"] = "yes" if self._leading.is_set() else "no"
        self.metrics.ready.set(1 if ready else 0)
        return ready, details

    def _probe_store(self) -> None:
        with self._lock:
            if self._probing or self._stop.is_set():  # stopping: the pool takes no work
                return
            self._probing = True
        self._submit(self._write_probe)

    def _write_probe(self) -> None:
        try:
            # Deletes nothing, but is a real write: it needs SQLite's write lock
            # (BEGIN IMMEDIATE) and a PostgreSQL that takes writes.
            self.store.prune_outbox(delivered_before=_EPOCH)
        finally:
            self._probing = False
        logger.info("store takes writes again")
        self._store_error = None

    def _submit(self, task: Callable[..., None], *args: object) -> None:
        """Run a store-writing task on a worker thread, so a store failure is seen and logged."""
        self.pool.submit(self._guarded, task, *args)

    def _guarded(self, task: Callable[..., None], *args: object) -> None:
        try:
            task(*args)
        except StoreError as exc:
            self._store_failed(exc, task.__name__.strip("_"))
        except Exception:
            # The pool-task boundary: a bug here must be seen, not vanish in an unread
            # Future, and must not stop the daemon. Nothing of a file is lost (its
            # validators are written last, so the next poll fetches it again).
            logger.exception("worker task %s failed", task.__name__.strip("_"))

    def _store_failed(self, exc: StoreError, doing: str) -> None:
        """Remember a store failure; the work is redone by a later poll (validators come last)."""
        self._store_error = str(exc)
        self._store_quiet_until = time.monotonic() + _STORE_BACKOFF_S
        self.metrics.store_errors.labels(doing).inc()
        logger.warning("store unavailable during %s, will be retried: %s", doing, exc)

    # -- crawl hooks (reactor thread: never block) ---------------------------------------

    def validators(self, url: str) -> Validators:
        """Return the stored validators of a URL for a conditional GET."""
        # In cluster mode another replica may have fetched the file since: ask the store.
        cached = self._validators.get(url) if self.cluster is None else None
        if cached is not None:
            return cached
        if time.monotonic() < self._store_quiet_until:
            return Validators(None, None, None)  # store failing: fetch in full, scan later
        try:
            state = self.store.resource(url)
        except StoreError as exc:
            self._store_failed(exc, "validators")
            return Validators(None, None, None)
        if state is None:
            return Validators(None, None, None)
        found = Validators(state.etag, state.last_modified, state.sha256)
        if state.sha256 is not None and self.cluster is None:
            self._validators[url] = found
        return found

    def on_file(self, fetched: FetchedFile) -> None:
        """Queue a new or changed file for scanning (once per URL at a time)."""
        with self._lock:
            if fetched.url in self._inflight:
                fetched.path.unlink(missing_ok=True)
                self.crawl.file_done(fetched.url)
                return
            self._inflight.add(fetched.url)
        self._submit(self._process, fetched)

    def on_unchanged(self, target: str, url: str) -> None:
        """Note that a file is still there and unchanged (recorded when the poll ends)."""
        with self._lock:
            self._unchanged.setdefault(target, set()).add(url)

    def on_gone(self, target: str, url: str, status: int) -> None:
        """A file answers 404/410: resolve its findings."""
        self._submit(self._gone, target, url, f"file removed (HTTP {status})")

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        """Log a failed download; a file that is too large becomes a finding that says so."""
        logger.warning("fetch failed target=%s: %s", target, error)
        if error.startswith("too large"):
            self._submit(self._too_large, target, url, error)

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        """Record the poll's unchanged files; after a complete poll, unlinked files are gone."""
        with self._lock:
            unchanged = self._unchanged.pop(target, set())
        if unchanged:
            self._submit(self._touch_all, target, unchanged)
        if ok:
            self._submit(self._unlinked, target, set(seen))

    # -- worker threads ------------------------------------------------------------------

    def _process(self, fetched: FetchedFile) -> None:
        try:
            self.store.touch_resource(
                fetched.target,
                fetched.url,
                seen_at=fetched.fetched_at,
                portal=fetched.portal,
                dataset=fetched.dataset,
            )
            if self.cluster is None:
                self._scan(fetched)
            else:
                self._scan_once(fetched, self.cluster)
        except StoreError:
            # Nothing of this file is lost: its validators are written last, so the
            # next poll fetches and scans it again.
            logger.warning(
                "file of target=%s dropped until the next poll: %s", fetched.target, fetched.url
            )
            raise
        finally:
            fetched.path.unlink(missing_ok=True)
            with self._lock:
                self._inflight.discard(fetched.url)
            self.crawl.file_done(fetched.url)

    def _scan(self, fetched: FetchedFile) -> None:
        report = self.scanner.scan(fetched.path, source=fetched.url, media_type=fetched.media_type)
        self._record(fetched, report)

    def _scan_once(self, fetched: FetchedFile, cluster: Cluster) -> None:
        """Scan a file unless another replica is scanning it or already recorded this body."""
        with cluster.scan_claim(fetched.url) as mine:
            if not mine:
                logger.info(
                    "target=%s file is being scanned by another replica, skipped: %s",
                    fetched.target,
                    fetched.url,
                )
                return
            # Checked under the claim: a replica that finished this body first stored its sha256.
            known = self.store.resource(fetched.url)
            if known is not None and known.sha256 == fetched.sha256:
                logger.info(
                    "target=%s file already scanned by another replica, skipped: %s",
                    fetched.target,
                    fetched.url,
                )
                return
            self._scan(fetched)

    def _record(self, fetched: FetchedFile, report: FileReport) -> None:
        target, url, at = fetched.target, fetched.url, utcnow()
        outcome = "error" if report.error else "ok"
        self.metrics.scans.labels(target, report.kind, outcome).inc()
        self.metrics.scan_duration.labels(target).observe(report.seconds)
        self.store.record_scan(
            url,
            sha256=fetched.sha256,
            report_kind=report.kind,
            rows=report.rows,
            tables=report.tables,
            error=report.error,
            seconds=report.seconds,
            at=at,
        )
        findings = list(report.findings)
        if report.error:
            self.metrics.scan_errors.labels(target).inc()
            if report.error.split(":")[0] in _UNCHECKABLE:
                findings.append(
                    _file_limit(url, f"The file could not be fully checked: {report.error}.")
                )
            elif not findings and not report.schemas:
                # Unreadable this time: keep what we knew rather than resolve on a glitch.
                return
        findings += self._drift(url, report, at)
        first_seen = fetched.first_seen or fetched.fetched_at
        self._apply(target, url, findings, first_seen)
        # Validators last: a crash before this line re-fetches and rescans the file.
        self.store.record_fetch(
            url,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            sha256=fetched.sha256,
            size=fetched.size,
            at=at,
        )
        if self.cluster is None:  # in cluster mode the store is asked every time
            self._validators[url] = Validators(fetched.etag, fetched.last_modified, fetched.sha256)

    def _drift(self, url: str, report: FileReport, at: dt.datetime) -> list[Finding]:
        out = []
        for schema in report.schemas:
            self.store.observed_schema(url, schema, at)
            baseline = self.store.baseline(url, schema.table)
            if baseline is None:
                self.store.set_baseline(
                    url, schema, at=at, actor="leakmon", reason="first version seen"
                )
                continue
            finding = drift_finding(url, compare_schemas(baseline, schema), schema)
            if finding is not None:
                out.append(finding)
        return out

    def _apply(
        self, target: str, url: str, findings: list[Finding], first_seen: dt.datetime | None
    ) -> None:
        alerts = self.store.apply_findings(target, url, findings, utcnow(), self.router)
        self._after_alerts(target, alerts, first_seen)

    def _after_alerts(
        self, target: str, alerts: list[Alert], first_seen: dt.datetime | None
    ) -> None:
        for alert in alerts:
            if alert.event == "opened":
                self.metrics.findings.labels(
                    target, alert.entities[0] if alert.entities else "", str(alert.severity)
                ).inc()
                if first_seen is not None:
                    delay = (alert.occurred_at - first_seen).total_seconds()
                    self.metrics.time_to_alert.labels(target).observe(max(0.0, delay))
        if alerts:
            self.dispatcher.wake()
        self.refresh_gauges()

    def _too_large(self, target: str, url: str, error: str) -> None:
        """Say that a file could not be checked, without resolving what was found before."""
        known = [
            f for f in self.store.findings(open_only=True, target=target) if f.resource_url == url
        ]
        if known:
            return  # the file is already flagged; an unreadable new version changes nothing
        self.store.touch_resource(target, url, seen_at=utcnow())
        self._apply(
            target, url, [_file_limit(url, f"The file could not be checked: {error}.")], None
        )

    def _touch_all(self, target: str, urls: set[str]) -> None:
        self.store.touch_resources(target, sorted(urls), seen_at=utcnow())

    def _gone(self, target: str, url: str, reason: str) -> None:
        at = utcnow()
        alerts = self.store.resolve_resource(target, url, at, self.router, reason=reason)
        self.store.mark_gone(url, at)
        self._validators.pop(url, None)
        self._after_alerts(target, alerts, None)

    def _unlinked(self, target: str, seen: set[str]) -> None:
        for state in self.store.resources(target):
            if state.url not in seen:
                self._gone(target, state.url, "file no longer linked from the portal")
        self.metrics.watched_files.labels(target).set(len(seen))

    def refresh_gauges(self) -> None:
        """Recompute the open-findings gauge from the store (the source of truth).

        In cluster mode only the leader exports the cluster-wide gauges, so that a sum
        over replicas counts each finding once.
        """
        if not self._leading.is_set():
            self.metrics.open_findings.clear()
            return
        started = time.monotonic()
        counts = self.store.open_counts()
        self.metrics.open_findings.clear()
        for target in {t.name for t in self.settings.targets} | {t for t, _ in counts}:
            for severity in Severity:
                self.metrics.open_findings.labels(target, str(severity)).set(
                    counts.get((target, severity), 0)
                )
        self.metrics.outbox_depth.set(self.store.outbox_depth())
        if self.cluster is not None:
            try:
                self.metrics.frontier_pending.set(self.cluster.frontier.waiting())
            except FrontierError as exc:
                logger.debug("frontier backlog unknown: %s", exc)
        logger.debug("gauges refreshed in %.3f s", time.monotonic() - started)

    def _lead(self) -> None:
        """Hold the leader lock, or wait for it (cluster mode; the "leader" thread).

        The lock is a PostgreSQL advisory lock on a connection of its own: when the
        leader dies its connection closes and the lock is free, so another replica
        leads within ``_LEAD_CHECK_S``.
        """
        assert self.cluster is not None  # noqa: S101  (started only in cluster mode)
        lock = self.cluster.leader_lock()
        failing: str | None = None
        while not self._stop.is_set():
            try:
                leading = lock.held() or lock.try_acquire()
                failing = None
            except StoreError as exc:
                if str(exc) != failing:  # once per new failure, not every 2 s
                    logger.warning("leader election cannot reach the store: %s", exc)
                failing = str(exc)
                leading = False
            if leading != self._leading.is_set():
                self._now_leading(leading)
            self._stop.wait(_LEAD_CHECK_S)
        lock.release()

    def _now_leading(self, leading: bool) -> None:
        replica = self.cluster.replica if self.cluster is not None else "?"
        if leading:
            self._leading.set()
            logger.info("replica %s leads: it delivers alerts and exports cluster gauges", replica)
            self.dispatcher.wake()
        else:
            self._leading.clear()
            logger.warning("replica %s no longer leads (lost its database connection)", replica)
            # A follower's last values would win the dashboard's max() over the new leader's.
            self.metrics.outbox_depth.set(0)
            self.metrics.frontier_pending.set(0)
        self.metrics.cluster_leader.set(1 if leading else 0)
        try:
            self.refresh_gauges()
        except StoreError as exc:
            logger.warning("cannot refresh gauges: %s", exc)


def _file_limit(url: str, reason: str) -> Finding:
    """Return the finding that says a file could not be checked (encrypted, too large)."""
    return Finding(
        file=url,
        table=None,
        column=None,
        entity="FILE_LIMIT",
        severity=Severity.MEDIUM,
        score=1.0,
        matched=0,
        scanned=0,
        reason=reason,
    )
