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
from typing import TYPE_CHECKING, TypeVar

from monitor.alerts import AlertRouter
from monitor.cluster import Cluster
from monitor.crawl import CrawlService, Validators
from monitor.crawl.backlog import ScanBacklog
from monitor.crawl.cache import pack, unpack
from monitor.drift import compare_schemas, drift_finding
from monitor.errors import ConfigError, FrontierError, StoreBusy, StoreError
from monitor.exposure import exposure_findings
from monitor.health import HealthServer
from monitor.isolation import IsolatedScanner
from monitor.metrics import Metrics
from monitor.models import READER_KINDS, Finding, Severity, utcnow
from monitor.notifiers import Dispatcher, build_notifiers
from monitor.reload import load_reloaded, on_sighup
from monitor.scheduler import run_reactor, stop_reactor
from monitor.spool import Spool
from monitor.store import FetchValidators, ResultBatch, ScanResult, Store

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from twisted.internet.defer import Deferred

    from monitor.config import Settings
    from monitor.models import (
        Alert,
        Coverage,
        FetchedFile,
        FileReport,
        TableSchema,
        ViewExposure,
    )

__all__ = ["Daemon"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
#: One file's validators in memory, packed in one ``bytes`` (``monitor.crawl.cache``):
#: with its URL and dict slot 240 B per file, where a tuple of three took 411 B.
_Cached = bytes

#: The longest wait before a file that could not be checked is fetched again.
_RETRY_MAX_S = 86400.0
#: After a store failure, how long the reactor thread stops asking the store for
#: validators: an unreachable PostgreSQL can hold each query for its connect timeout.
_STORE_BACKOFF_S = 10.0
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: How often a replica checks that it still leads, or tries to.
_LEAD_CHECK_S = 2.0
#: A scan result's store writes are retried while the store is busy (locked, down):
#: first after this long, doubling up to ``_WRITE_RETRY_MAX_S``, until they go in or
#: the daemon stops (then the file is fetched and scanned again at the next start).
#: The cap is short because a retry that goes in is also what makes the daemon ready
#: again (the write probe may be queued behind these very workers).
_WRITE_RETRY_FIRST_S = 0.5
_WRITE_RETRY_MAX_S = 5.0
#: The store calls of a scan result that only read (their success proves no write).
_READS = frozenset({"resource", "baseline"})
#: How long, in all, the reactor may wait for the bulk validator load at start before
#: holding files for the next poll instead (see ``validators``).
_LOAD_WAIT_S = 5.0
#: Rows the bulk validator load adds to the cache per lock taken.
_LOAD_CHUNK = 5000
#: Unchanged files are recorded (touched) in batches of this many while a poll runs,
#: so the daemon holds at most this many of a poll's URLs, not one per watched file.
_TOUCH_EVERY = 1000
#: After a clean file's result the findings gauges are refreshed within this long, not
#: at once: two queries per file were a fifth of the first pass's store work.
_GAUGES_EVERY_S = 1.0


class Daemon:
    """Wires the crawler, scanner, store, notifiers and health endpoint together."""

    def __init__(
        self, settings: Settings, metrics: Metrics | None = None, config_path: Path | None = None
    ) -> None:
        self.settings = settings
        # Reloaded on SIGHUP (allow rules, notifiers, thresholds); None: nothing to reload.
        self.config_path = config_path
        self._reload_wanted = threading.Event()
        self.metrics = metrics or Metrics()
        self.metrics.prime(
            [t.name for t in settings.targets],
            [n.name for n in settings.notify],
            reader_kinds=READER_KINDS,
            cluster=settings.cluster is not None,
        )
        self.store = Store(settings.storage.get_secret_value())
        # Scan results waiting together are written in one transaction (group commit).
        self.results = ResultBatch(self.store, _drifted)
        self._gauges_pending = False
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
        # The findings page (http.page): refuses to start without its secret (ConfigError).
        page = None
        if settings.http.page is not None:
            from monitor.web.page import FindingsPage  # lazy import: Jinja2 only for the page

            page = FindingsPage.from_settings(settings, self.store)
        self.health = HealthServer(
            settings.http.listen,
            self.metrics,
            self.readiness,
            page=page,
            page_listen=settings.http.page.listen if settings.http.page else None,
        )
        self._stop = threading.Event()
        self._spool = Spool()
        self._inflight: set[str] = set()
        # Downloads wait while this many files (or bytes) wait for their scan.
        self.backlog = ScanBacklog(
            settings.crawl.max_backlog_files, settings.crawl.max_backlog_mb * 1024 * 1024
        )
        self._lock = threading.Lock()
        # Read on the reactor thread for every linked file of every poll: kept in memory
        # (the store is written first, so a restart only re-reads it, in bulk, on the
        # "validators" thread: see _load_validators).
        self._validators: dict[str, _Cached] = {}
        self._loading = False  # a bulk load was started (run())
        self._loaded = threading.Event()  # ... and has finished
        self._load_wait_left = _LOAD_WAIT_S
        # URLs found gone while the bulk load runs: it must not bring them back.
        self._forgotten: set[str] = set()
        # Unchanged files are recorded in batches of _TOUCH_EVERY, not one write per file.
        self._unchanged: dict[str, set[str]] = {}
        # The last store failure, until the write probe of readiness() succeeds.
        # A SELECT 1 ping cannot see a locked SQLite file (WAL readers go on), so
        # readiness also needs what the writers saw.
        self._store_error: str | None = None
        self._store_quiet_until = 0.0
        self._probing = False
        # Files whose last body could not be checked completely: url -> (failures,
        # monotonic time of the next try, why). Not downloaded again before then.
        self._retry: dict[str, tuple[int, float, str]] = {}

    # -- lifecycle -----------------------------------------------------------------------

    def run(self) -> None:
        """Migrate the store, start every part, and block until SIGTERM or SIGINT."""
        # Downloads and scan scratch files go to a private folder, removed on stop;
        # what a killed predecessor left there is removed now.
        self._spool.claim()
        self.store.migrate()
        self.start_loading_validators()
        self._resume_walks()
        # Allow rules and thresholds of this configuration apply to what is stored now.
        self._reapply("start")
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
        on_sighup(self._reload_wanted)
        threading.Thread(target=self._reloader, name="reload", daemon=True).start()
        try:
            run_reactor(start=self.crawl.start, stop=self._stop_crawl)
        finally:
            self.shutdown()
            sender.join(timeout=5)

    def reload(self) -> bool:
        """Reload the configuration file (SIGHUP) and apply it to stored findings at once.

        A bad file is refused with its error logged, and the running configuration is
        kept. A good one replaces the allow rules, notifiers, thresholds and
        ``link_base``; then every open or allowed finding is re-judged, so an added
        allow rule resolves its incident now, not when the file next changes.
        """
        if self.config_path is None:
            logger.warning("reload asked, but the daemon was not started from a file")
            return False
        try:
            new = load_reloaded(self.config_path, self.settings)
        except ConfigError as exc:
            self.metrics.config_reloads.labels("refused").inc()
            logger.error("configuration reload refused, the running configuration is kept: %s", exc)
            return False
        self.settings, self.router = new.settings, new.router
        self.scanner.reconfigure(new.settings.scan)  # workers restart with changed limits
        self.dispatcher.set_notifiers(new.notifiers)
        self.metrics.prime([], list(new.notifiers))
        self.metrics.config_reloads.labels("applied").inc()
        logger.info(
            "configuration reloaded from %s: %d allow rule(s), notifiers: %s",
            self.config_path,
            len(new.settings.allow),
            ", ".join(new.notifiers) or "none",
        )
        if new.pending:
            logger.warning(
                "changed settings that take effect at the next restart: %s",
                ", ".join(new.pending),
            )
        self._reapply("reload")
        return True

    def _reloader(self) -> None:
        while not self._stop.is_set():
            if self._reload_wanted.wait(0.5):
                self._reload_wanted.clear()
                self.reload()

    def _reapply(self, why: str) -> None:
        """Re-judge stored findings by the current allow rules and thresholds."""
        try:
            alerts = self.store.reapply(self.router, utcnow())
        except StoreError as exc:
            # Nothing is half-applied (one transaction per file); the next reload retries.
            logger.warning("allow rules and thresholds not re-applied at %s: %s", why, exc)
            return
        logger.info("re-applied allow rules and thresholds at %s: %d event(s)", why, len(alerts))
        for alert in alerts:
            self._after_alerts(alert.target, [alert], None)

    def _stop_crawl(self) -> object:
        """Stop the polls; downloads waiting for scan room go on, so the polls can end."""
        self.backlog.release()
        return self.crawl.stop()

    def request_stop(self) -> None:
        """Stop the daemon from another thread, as SIGTERM would."""
        stop_reactor()

    def shutdown(self) -> None:
        """Stop accepting work; queued alerts stay in the durable outbox for the next start."""
        self._stop.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
        # A scan in progress is cut short (its file is fetched and scanned again at the
        # next start); idle workers exit. The scan threads then return at once.
        self.scanner.close()
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

    def _store_failed(self, exc: StoreError, doing: str, *, log: bool = True) -> None:
        """Remember a store failure; the work is redone by a later poll (validators come last)."""
        self._store_error = str(exc)
        self._store_quiet_until = time.monotonic() + _STORE_BACKOFF_S
        self.metrics.store_errors.labels(doing).inc()
        if log:
            logger.warning("store unavailable during %s, will be retried: %s", doing, exc)

    # -- crawl hooks (reactor thread: never block) ---------------------------------------

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        """Return the stored validators of a URL for a conditional GET, or why to wait.

        One process: answered from memory. After the bulk load at start a URL not
        in memory has no complete fetch: it is fetched in full. While the load is
        still running (the first seconds after a restart) the reactor waits for it,
        at most ``_LOAD_WAIT_S`` in all; past that, a file not yet loaded is held
        for the next poll rather than downloaded again in full. Only a daemon whose
        load was never started (used in process, without ``run``) asks the store per
        URL, as cluster mode does unless the caller read the file's validators with
        its batch of jobs (``stored``).
        """
        held = self._held(url)
        if held is not None:
            return Validators(hold=held)
        if url in self._inflight:
            # Downloaded by an earlier poll and not scanned yet: not downloaded again.
            return Validators(hold="downloaded, its scan has not finished")
        if self.cluster is not None:  # another replica may have fetched the file since
            return stored if stored is not None else self._stored_validators(url)
        cached = self._validators.get(url)
        if cached is None and self._loading and not self._loaded.is_set():
            cached = self._await_load(url)
            if cached is None and not self._loaded.is_set():
                return Validators(hold="validators are still loading from the store")
        if cached is not None:
            return unpack(cached)
        if self._loaded.is_set():
            return Validators(None, None, None)
        return self._stored_validators(url)

    def _await_load(self, url: str) -> _Cached | None:
        """Wait (reactor thread, bounded in all by ``_LOAD_WAIT_S``) for the bulk load."""
        if self._load_wait_left <= 0:
            return None
        started = time.monotonic()
        self._loaded.wait(self._load_wait_left)
        self._load_wait_left -= time.monotonic() - started
        if not self._loaded.is_set():
            logger.warning("validators still loading after %.0f s; files held", _LOAD_WAIT_S)
        return self._validators.get(url)

    def _stored_validators(self, url: str) -> Validators:
        """Ask the store for one URL's validators (cluster mode, or no bulk load)."""
        if time.monotonic() < self._store_quiet_until:
            return Validators(None, None, None)  # store failing: fetch in full, scan later
        try:
            state = self.store.resource(url)
        except StoreError as exc:
            self._store_failed(exc, "validators")
            return Validators(None, None, None)
        if state is None:
            return Validators(None, None, None)
        if state.sha256 is not None and self.cluster is None:
            self._remember(url, state.etag, state.last_modified, state.sha256)
        return Validators(state.etag, state.last_modified, state.sha256)

    def _remember(self, url: str, etag: str | None, last_modified: str | None, sha256: str) -> None:
        """Keep a file's validators in memory (one process only)."""
        entry = pack(etag, last_modified, sha256)
        if entry is None:
            return  # not a sha256 hex digest: not kept, the file is fetched in full
        self._validators[url] = entry

    def on_file(self, fetched: FetchedFile) -> None:
        """Queue a new or changed file for scanning (once per URL at a time)."""
        with self._lock:
            if fetched.url in self._inflight:
                fetched.path.unlink(missing_ok=True)
                self.crawl.file_done(fetched.url)
                return
            self._inflight.add(fetched.url)
        self.backlog.add(fetched.size)
        self._submit(self._process, fetched)

    def room(self) -> Deferred[None] | None:
        """Return None when a file download may start, else when it may (scan backlog full)."""
        return self.backlog.room()

    def on_unchanged(self, target: str, url: str) -> None:
        """Note that a file is still there and unchanged (recorded in batches, and at the end)."""
        with self._lock:
            batch = self._unchanged.setdefault(target, set())
            batch.add(url)
            if len(batch) < _TOUCH_EVERY:
                return
            del self._unchanged[target]
        self._submit(self._touch_all, target, batch)

    def on_gone(self, target: str, url: str, status: int) -> None:
        """A file answers 404/410: resolve its findings."""
        self._submit(self._gone, target, url, f"file removed (HTTP {status})")

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        """Log a failed download; one that could not be checked becomes a finding that says so.

        ``too large`` files and ``could not check`` downloads (a Tableau view's full
        data behind a refused session, a workbook without its reader) are findings:
        what leakmon could not read is never reported as clean.
        """
        logger.warning("fetch failed target=%s: %s", target, error)
        if error.startswith(("too large", "could not check")):
            self._submit(self._too_large, target, url, error)

    def on_exposure(self, exposure: ViewExposure) -> None:
        """Record what a Tableau view offers visitors (findings for row-level downloads)."""
        self._submit(self._exposure, exposure)

    def on_coverage(self, coverage: Coverage) -> None:
        """Keep what the poll checked and what it could not, for ``leakmon status``."""
        self._submit(self.store.save_coverage, coverage)

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        """Record the poll's unchanged files; after a complete poll, unlinked files are gone."""
        with self._lock:
            unchanged = self._unchanged.pop(target, set())
        if unchanged:
            self._submit(self._touch_all, target, unchanged)
        if self.cluster is None:  # cluster mode: the poll lease keeps the cursor
            cursor = self.crawl.cursor(target)
            self._submit(self.store.save_cursor, target, cursor, utcnow())
            # The files the budget cut off, fetched first next poll, also after a restart.
            self._submit(self.store.save_carry_over, target, self.crawl.carry(target), utcnow())
        if ok:
            # ``seen`` is the finished poll's own set, handed over: not copied.
            self._submit(self._unlinked, target, seen)

    # -- worker threads ------------------------------------------------------------------

    def _resume_walks(self) -> None:
        """Resume each target's catalogue walk and coverage clock where the last run left them."""
        try:
            walks = self.store.walks()
        except StoreError as exc:
            logger.warning("cannot read the stored walk cursors; walks start over: %s", exc)
            return
        if self.cluster is None:
            try:
                for target, entries in self.store.carry_overs().items():
                    self.crawl.resume_carry(target, entries)
            except StoreError as exc:
                logger.warning("cannot read the stored carry-over; rotations start over: %s", exc)
        for target, (cursor, coverage) in walks.items():
            if self.cluster is None:
                self.crawl.resume(target, cursor)
            if coverage is not None:
                # The poll ended at coverage.at: changes since a little before it are read first.
                started = coverage.at - dt.timedelta(seconds=self.settings.crawl.download_timeout)
                self.crawl.resume_coverage(target, coverage.incomplete_since, started)

    def start_loading_validators(self) -> None:
        """Load the stored validators in bulk on the "validators" thread (one process only)."""
        if self.cluster is not None or self._loading:  # cluster mode asks the store every time
            return
        self._loading = True
        threading.Thread(target=self._load_validators, name="validators", daemon=True).start()

    def _load_validators(self) -> None:
        """Read every target's validators in bulk into memory (the "validators" thread).

        One streamed SELECT per target, retried while the store is busy. What
        workers record meanwhile is newer and is kept; files found gone meanwhile
        are not brought back.
        """
        started = time.monotonic()
        delay = _WRITE_RETRY_FIRST_S
        while not self._stop.is_set():
            try:
                count = sum(self._load_target(t.name) for t in self.settings.targets)
            except StoreError as exc:
                self._store_failed(exc, "load_validators")
                self._stop.wait(delay)
                delay = min(delay * 2, _WRITE_RETRY_MAX_S)
                continue
            with self._lock:
                self._forgotten.clear()
                self._loaded.set()
            logger.info(
                "validators of %d file(s) loaded in %.1f s", count, time.monotonic() - started
            )
            return

    def _load_target(self, target: str) -> int:
        count = 0
        chunk: list[tuple[str, _Cached]] = []
        for url, etag, last_modified, sha256 in self.store.validators(target):
            entry = pack(etag, last_modified, sha256)
            if entry is None:
                continue  # not a sha256 hex digest: left out, the file is fetched in full
            chunk.append((url, entry))
            if len(chunk) >= _LOAD_CHUNK:
                count += self._merge(chunk)
                chunk = []
        return count + self._merge(chunk)

    def _merge(self, chunk: list[tuple[str, _Cached]]) -> int:
        with self._lock:
            for url, entry in chunk:
                if url not in self._forgotten:
                    self._validators.setdefault(url, entry)
        return len(chunk)

    def _persist(self, what: str, call: Callable[..., _T], *args: object, **kwargs: object) -> _T:
        """Run one store call of a scan result, retrying while the store is busy.

        A scan result is never dropped for a locked or unreachable store: each call
        is one transaction, so it is simply tried again, with backoff, until it goes
        in. Only a stop ends the wait (``StoreBusy`` is raised); the file's
        validators are written last, so the next start fetches and scans it again.
        """
        delay = _WRITE_RETRY_FIRST_S
        failures = 0
        while True:
            try:
                result = call(*args, **kwargs)
            except StoreBusy as exc:
                failures += 1
                # Logged at the first failure; the retries of the same call are counted.
                self._store_failed(exc, what, log=failures == 1)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, _WRITE_RETRY_MAX_S)
                continue
            if failures:
                logger.info("store took %s after %d failed attempt(s)", what, failures)
                if what not in _READS:
                    self._store_error = None  # a write went in: ready again (as the probe)
            return result

    def _process(self, fetched: FetchedFile) -> None:
        try:
            if self.cluster is None:
                self._scan(fetched)
            else:
                self._scan_once(fetched, self.cluster)
        except StoreError:
            # Stopping while the store was busy, or a store failure no retry mends:
            # its validators are written last, so the file is fetched and scanned again.
            logger.warning(
                "scan result of target=%s not recorded; the file is checked again: %s",
                fetched.target,
                fetched.url,
            )
            raise
        finally:
            fetched.path.unlink(missing_ok=True)
            with self._lock:
                self._inflight.discard(fetched.url)
            self.backlog.done(fetched.size)
            self.crawl.file_done(fetched.url)

    def _scan(self, fetched: FetchedFile) -> None:
        # The file is recorded as taken before its scan (known, first seen), so the store
        # shows it while it is scanned; a busy store is waited out here, before the scan.
        self._persist(
            "touch",
            self.store.touch_resource,
            fetched.target,
            fetched.url,
            seen_at=fetched.fetched_at,
            portal=fetched.portal,
            dataset=fetched.dataset,
        )
        report = self.scanner.scan(fetched.path, source=fetched.url, media_type=fetched.media_type)
        # The report is kept while the store is busy: only the writes are retried.
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
            known = self._persist("resource", self.store.resource, fetched.url)
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
        if report.error and self._stop.is_set():
            # Shutting down: the worker was stopped with the daemon, not by the file. No
            # validators are stored, so the next start fetches and scans it again.
            logger.info("scan of %s interrupted by shutdown: %s", url, report.error)
            return
        outcome = "error" if report.error else "ok"
        self.metrics.scans.labels(target, report.kind, outcome).inc()
        self.metrics.scan_duration.labels(target).observe(report.seconds)
        findings = list(report.findings)
        if report.error:
            # Not read completely (a limit, a killed worker, an encrypted or damaged
            # part): what it found is added, nothing is resolved, the file says it could
            # not be checked, and its validators are not stored: it is fetched again
            # when its retry is due, not on every poll. Its schemas are not compared.
            self.metrics.scan_errors.labels(target).inc()
            findings.append(
                _file_limit(url, f"The file could not be fully checked: {report.error}.")
            )
        result = ScanResult(
            target=target,
            url=url,
            sha256=fetched.sha256,
            report_kind=report.kind,
            rows=report.rows,
            tables=report.tables,
            error=report.error,
            seconds=report.seconds,
            at=at,
            findings=tuple(findings),
            schemas=() if report.error else tuple(report.schemas),
            complete=not report.error,
            # Validators last (in the same transaction): a result not written is
            # fetched and scanned again.
            validators=None
            if report.error
            else FetchValidators(fetched.etag, fetched.last_modified, fetched.sha256, fetched.size),
        )
        # One transaction, shared with the results that wait beside it; retried
        # (the whole result) while the store is busy.
        alerts = self._persist("record_result", self._write_result, result)
        first_seen = fetched.first_seen or fetched.fetched_at
        self._after_alerts(target, alerts, first_seen, quiet=not findings)
        if report.error:
            self._retry_later(url, report.error)
            return
        with self._lock:
            self._retry.pop(url, None)
        if self.cluster is None:  # in cluster mode the store is asked every time
            self._remember(url, fetched.etag, fetched.last_modified, fetched.sha256)

    def _write_result(self, result: ScanResult) -> list[Alert]:
        # The router of this attempt: a reload while the store was busy applies.
        return self.results.write(result, self.router)

    def _apply(
        self,
        target: str,
        url: str,
        findings: list[Finding],
        first_seen: dt.datetime | None,
        complete: bool = True,
    ) -> None:
        """Apply a file's findings (not a scan result's: see ``_record``)."""
        alerts = self.store.apply_findings(
            target, url, findings, utcnow(), self.router, complete=complete
        )
        self._after_alerts(target, alerts, first_seen)

    def _retry_later(self, url: str, why: str) -> None:
        """Hold a file that could not be checked until its retry is due (backoff doubles)."""
        with self._lock:
            failures = self._retry.get(url, (0, 0.0, ""))[0] + 1
            wait = min(self.settings.scan.retry_unchecked * 2 ** (failures - 1), _RETRY_MAX_S)
            self._retry[url] = (failures, time.monotonic() + wait, why)
        logger.warning(
            "could not check %s (%s); fetched again in %.0f s (failure %d)",
            url,
            why,
            wait,
            failures,
        )

    def _held(self, url: str) -> str | None:
        """Return why a file is not to be fetched now (its retry is not due), or ``None``."""
        with self._lock:
            entry = self._retry.get(url)
        if entry is None:
            return None
        failures, due, why = entry
        left = due - time.monotonic()
        if left <= 0:
            return None
        return f"could not check ({why}); retry {failures} due in {left:.0f} s"

    def _after_alerts(
        self,
        target: str,
        alerts: list[Alert],
        first_seen: dt.datetime | None,
        *,
        quiet: bool = False,
    ) -> None:
        """Count and deliver a file's alerts and refresh the gauges.

        ``quiet``: the file had no findings and no alert came of it, so the open
        findings changed only if an incident was resolved silently: the gauges are
        refreshed within ``_GAUGES_EVERY_S`` rather than at once for every clean file.
        """
        for alert in alerts:
            opened = alert.changed("opened")
            for finding in opened:  # counted per finding: the incident groups them
                self.metrics.findings.labels(target, finding.entity, str(finding.severity)).inc()
            if opened and first_seen is not None:
                delay = (alert.occurred_at - first_seen).total_seconds()
                self.metrics.time_to_alert.labels(target).observe(max(0.0, delay))
        if alerts:
            self.dispatcher.wake()
        if quiet and not alerts:
            self._refresh_soon()
        else:
            self.refresh_gauges()

    def _refresh_soon(self) -> None:
        """Refresh the gauges within ``_GAUGES_EVERY_S`` (one refresh for many clean files)."""
        with self._lock:
            if self._gauges_pending:
                return
            self._gauges_pending = True
        timer = threading.Timer(_GAUGES_EVERY_S, self._refresh_pending)
        timer.name, timer.daemon = "gauges", True
        timer.start()

    def _refresh_pending(self) -> None:
        with self._lock:
            self._gauges_pending = False
        if self._stop.is_set():
            return
        try:
            self.refresh_gauges()
        except StoreError as exc:
            logger.warning("cannot refresh gauges: %s", exc)

    def _too_large(self, target: str, url: str, error: str) -> None:
        """Say that a file could not be checked, without resolving what was found before."""
        self.store.touch_resource(target, url, seen_at=utcnow())
        finding = _file_limit(url, f"The file could not be checked: {error}.")
        self._apply(target, url, [finding], None, complete=False)
        self._retry_later(url, error)

    def _exposure(self, exposure: ViewExposure) -> None:
        known = {
            f.column: f.severity
            for f in self.store.findings(open_only=True, target=exposure.target)
            if f.resource_url == exposure.url and f.entity == "DATA_EXPOSURE" and f.column
        }
        first_sight = self.store.resource(exposure.url) is None
        self.store.touch_resource(
            exposure.target,
            exposure.url,
            seen_at=utcnow(),
            portal="tableau",
            dataset=f"Tableau view {exposure.view}",
        )
        findings = exposure_findings(exposure, known, first_sight)
        self._apply(exposure.target, exposure.url, findings, None)

    def _touch_all(self, target: str, urls: set[str]) -> None:
        self.store.touch_resources(target, sorted(urls), seen_at=utcnow())

    def _gone(self, target: str, url: str, reason: str) -> None:
        at = utcnow()
        alerts = self.store.resolve_resource(target, url, at, self.router, reason=reason)
        self.store.mark_gone(url, at)
        with self._lock:
            self._validators.pop(url, None)
            if self._loading and not self._loaded.is_set():
                self._forgotten.add(url)
            self._retry.pop(url, None)
        self._after_alerts(target, alerts, None)

    def _unlinked(self, target: str, seen: set[str]) -> None:
        # URLs only, streamed: not a record per watched file on every complete poll.
        for url in self.store.unlinked(target, seen):
            self._gone(target, url, "file no longer linked from the portal")
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


def _drifted(url: str, baseline: TableSchema, schema: TableSchema) -> Finding | None:
    """Return the drift finding of a table's schema against its baseline, if it changed."""
    return drift_finding(url, compare_schemas(baseline, schema), schema)


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
