"""Every Prometheus metric leakmon exports, built in one place.

Labels take bounded values only: target names, severities, entities, reader
kinds, HTTP status classes, notifier names. Never a URL, file name or value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.exposition import generate_latest

from monitor import __version__
from monitor.models import ENTITIES, Severity

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600)
_SCAN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)

#: Label values known before anything happens, so that every counter child exists at 0
#: from the first scrape: ``increase()`` over a series that appears at its first value
#: reads 0, and the first leak (or the first file that fails) would never show or alert.
_FETCH_STATUSES = ("2xx", "304", "3xx", "4xx", "5xx", "error", "too_large")
#: Why a Tableau download could not be checked (``leakmon_tableau_unchecked_total``).
_TABLEAU_REASONS = ("refused", "http", "shape", "error", "too_large")
_REFUSAL_REASONS = ("scheme", "offsite", "address", "name", "resolved", "port")
_SCAN_OUTCOMES = ("ok", "error")
_NOTIFY_OUTCOMES = ("delivered", "failed", "error")
_STORE_OPERATIONS = (
    "process",
    "validators",
    "touch_all",
    "unlinked",
    "gone",
    "too_large",
    "write_probe",
)


class Metrics:
    """All leakmon metrics on one registry (a fresh one per test).

    Besides leakmon's own metrics, the registry carries the standard process
    (``process_*``) and Python (``python_gc_*``, ``python_info``) collectors and
    ``leakmon_build_info{version}``.

    Args:
        registry: where to register; ``None`` makes a new private registry.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        if r is not REGISTRY:  # prometheus_client registers them on its global one itself
            ProcessCollector(registry=r)
            PlatformCollector(registry=r)
            GCCollector(registry=r)
        self.build_info = Info(
            "leakmon_build", "The running leakmon's version (always 1).", registry=r
        )
        self.build_info.info({"version": __version__})
        self.open_findings = Gauge(
            "leakmon_open_findings", "Findings currently open.", ["target", "severity"], registry=r
        )
        self.findings = Counter(
            "leakmon_findings_total",
            "Findings opened.",
            ["target", "entity", "severity"],
            registry=r,
        )
        self.scans = Counter(
            "leakmon_scans_total",
            "Files scanned, by reader kind and outcome.",
            ["target", "kind", "outcome"],
            registry=r,
        )
        self.scan_errors = Counter(
            "leakmon_scan_errors_total",
            "Files that could not be scanned.",
            ["target"],
            registry=r,
        )
        self.scan_duration = Histogram(
            "leakmon_scan_duration_seconds",
            "Time to scan one file.",
            ["target"],
            buckets=_SCAN_BUCKETS,
            registry=r,
        )
        self.fetches = Counter(
            "leakmon_fetches_total",
            "HTTP fetches by status class (2xx, 304, 4xx, 5xx, error).",
            ["target", "status"],
            registry=r,
        )
        self.refused_requests = Counter(
            "leakmon_refused_requests_total",
            "Requests the crawler refused to send: reason is address or resolved (a non-public"
            " address), name (an internal host name), offsite (off the target's domains) or"
            " scheme (not http or https).",
            ["target", "reason"],
            registry=r,
        )
        self.bytes_downloaded = Counter(
            "leakmon_downloaded_bytes_total", "Bytes of files downloaded.", ["target"], registry=r
        )
        self.tableau_views = Gauge(
            "leakmon_tableau_views",
            "Tableau views whose viz session the last poll opened.",
            ["target"],
            registry=r,
        )
        self.tableau_views_offering = Gauge(
            "leakmon_tableau_views_offering",
            "Tableau views of the last poll offering a visitor each download: summary_data,"
            " full_data, crosstab or workbook.",
            ["target", "mechanism"],
            registry=r,
        )
        self.tableau_unchecked = Counter(
            "leakmon_tableau_unchecked_total",
            "Tableau downloads that could not be checked: mechanism is session, full_data,"
            " crosstab or workbook; reason is refused, http, shape, error or too_large.",
            ["target", "mechanism", "reason"],
            registry=r,
        )
        self.time_to_alert = Histogram(
            "leakmon_time_to_alert_seconds",
            "From a file's first sight by the crawler to its alert being queued.",
            ["target"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.notifications = Counter(
            "leakmon_notifications_total",
            "Notification attempts by outcome.",
            ["notifier", "outcome"],
            registry=r,
        )
        self.alerts_parked = Counter(
            "leakmon_alerts_parked_total",
            "Alert events a notifier's receiver refused for good, given up after their retries.",
            ["notifier"],
            registry=r,
        )
        self.config_reloads = Counter(
            "leakmon_config_reloads_total",
            "Configuration reloads (SIGHUP) by outcome: applied, or refused (old one kept).",
            ["outcome"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "leakmon_outbox_depth", "Alert events waiting for delivery.", registry=r
        )
        self.last_poll = Gauge(
            "leakmon_last_successful_poll_timestamp_seconds",
            "Unix time of the last successful poll of a target.",
            ["target"],
            registry=r,
        )
        self.poll_duration = Histogram(
            "leakmon_poll_duration_seconds",
            "Time to crawl a target once.",
            ["target"],
            buckets=_SCAN_BUCKETS,
            registry=r,
        )
        self.watched_files = Gauge(
            "leakmon_watched_files", "Files known per target (not gone).", ["target"], registry=r
        )
        self.catalogue_walked = Gauge(
            "leakmon_catalogue_datasets_walked",
            "Datasets of a catalogue walked so far in the current pass (large catalogues are "
            "walked across several polls).",
            ["target", "kind"],
            registry=r,
        )
        self.catalogue_size = Gauge(
            "leakmon_catalogue_datasets",
            "Datasets a catalogue reports in total.",
            ["target", "kind"],
            registry=r,
        )
        self.resources = Gauge(
            "leakmon_resources",
            "Resources the target's last poll found, by state: discovered (all), checked,"
            " unchanged, queued, or not checked because of robots, budget, error, unsupported"
            " or permission.",
            ["target", "state"],
            registry=r,
        )
        self.coverage_incomplete_since = Gauge(
            "leakmon_coverage_incomplete_since_timestamp_seconds",
            "Since when the target's polls have left something unchecked (0: the last poll"
            " checked everything it could list).",
            ["target"],
            registry=r,
        )
        self.coverage_alert_after = Gauge(
            "leakmon_coverage_alert_after_seconds",
            "How long a target's coverage may stay incomplete before LeakmonCoverageIncomplete"
            " fires (crawl.coverage_alert_after).",
            ["target"],
            registry=r,
        )
        self.ready = Gauge(
            "leakmon_ready", "1 when the store is reachable and the crawler runs.", registry=r
        )
        self.store_errors = Counter(
            "leakmon_store_errors_total",
            "Store calls that failed (the work is redone by a later poll), by what the daemon"
            " was doing: process, validators, touch_all, unlinked, gone, too_large, write_probe.",
            ["operation"],
            registry=r,
        )
        # Cluster mode. Cluster-wide figures (open findings, outbox depth, frontier
        # backlog) are exported by the elected replica only, so a sum over replicas
        # does not count them twice; the dashboard takes ``max by`` to ride out a handover.
        self.cluster_leader = Gauge(
            "leakmon_cluster_leader",
            "1 on the replica that delivers alerts and exports cluster-wide gauges.",
            registry=r,
        )
        self.frontier_pending = Gauge(
            "leakmon_frontier_pending",
            "File downloads queued in the shared frontier and not yet taken (elected replica).",
            registry=r,
        )
        self.frontier_inflight = Gauge(
            "leakmon_frontier_inflight",
            "File downloads this replica took from the frontier and has not finished.",
            registry=r,
        )
        self.poll_claims = Counter(
            "leakmon_poll_claims_total",
            "Polls this replica claimed (a claim of a dead replica's overdue poll included).",
            ["target"],
            registry=r,
        )
        self.frontier_jobs = Counter(
            "leakmon_frontier_jobs_total",
            "File downloads through the frontier: offered, duplicate (already queued), "
            "taken, reclaimed (from a replica that stopped renewing), done.",
            ["outcome"],
            registry=r,
        )

    def prime(
        self,
        targets: Iterable[str],
        notifiers: Iterable[str],
        *,
        reader_kinds: Iterable[str] = (),
        cluster: bool = False,
    ) -> None:
        """Create every counter and histogram child of the configured targets and notifiers at 0.

        Cluster-only counters are left out of a single process: ``LeakmonNoLeader`` tells
        a cluster from a single process by the presence of ``leakmon_poll_claims_total``.
        """
        targets, kinds = list(targets), list(reader_kinds)
        for name in notifiers:
            self.alerts_parked.labels(name)
            for outcome in _NOTIFY_OUTCOMES:
                self.notifications.labels(name, outcome)
        for outcome in ("applied", "refused"):
            self.config_reloads.labels(outcome)
        for operation in _STORE_OPERATIONS:
            self.store_errors.labels(operation)
        for target in targets:
            self.scan_errors.labels(target)
            self.bytes_downloaded.labels(target)
            for mechanism in ("session", "full_data", "crosstab", "workbook"):
                for reason in _TABLEAU_REASONS:
                    self.tableau_unchecked.labels(target, mechanism, reason)
            self.scan_duration.labels(target)
            self.time_to_alert.labels(target)
            self.poll_duration.labels(target)
            for kind in kinds:
                for outcome in _SCAN_OUTCOMES:
                    self.scans.labels(target, kind, outcome)
            for status in _FETCH_STATUSES:
                self.fetches.labels(target, status)
            for reason in _REFUSAL_REASONS:
                self.refused_requests.labels(target, reason)
            for entity in sorted(ENTITIES):
                for severity in Severity:
                    self.findings.labels(target, entity, str(severity))
            if cluster:
                self.poll_claims.labels(target)
        if cluster:
            for outcome in ("offered", "duplicate", "taken", "reclaimed", "done"):
                self.frontier_jobs.labels(outcome)

    def exposition(self) -> bytes:
        """Return the metrics in Prometheus text format."""
        return generate_latest(self.registry)
