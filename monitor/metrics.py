"""Every Prometheus metric leakmon exports, built in one place.

Labels take bounded values only: target names, severities, entities, reader
kinds, HTTP status classes, notifier names. Never a URL, file name or value.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

__all__ = ["Metrics"]

_LATENCY_BUCKETS = (1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 300, 600, 1800, 3600)
_SCAN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900)


class Metrics:
    """All leakmon metrics on one registry (a fresh one per test).

    Args:
        registry: where to register; ``None`` makes a new private registry.
    """

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
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

    def exposition(self) -> bytes:
        """Return the metrics in Prometheus text format."""
        return generate_latest(self.registry)
