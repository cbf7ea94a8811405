"""Metrics: every child exists at 0 from the start; process, Python and build-info series."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.metrics import Metrics


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_prime_creates_every_child_of_targets_and_notifiers_at_zero() -> None:
    metrics = Metrics()
    metrics.prime(["a", "b"], ["hook"], reader_kinds=["csv"])
    samples = _samples(metrics)
    for target in ("a", "b"):
        assert samples[("leakmon_scan_errors_total", (("target", target),))] == 0
        assert samples[("leakmon_downloaded_bytes_total", (("target", target),))] == 0
        key = (("entity", "PERSON"), ("severity", "critical"), ("target", target))
        assert samples[("leakmon_findings_total", key)] == 0
        key = (("kind", "csv"), ("outcome", "error"), ("target", target))
        assert samples[("leakmon_scans_total", key)] == 0
        assert samples[("leakmon_fetches_total", (("status", "5xx"), ("target", target)))] == 0
        for histogram in ("scan_duration", "time_to_alert", "poll_duration"):
            count = (f"leakmon_{histogram}_seconds_count", (("target", target),))
            assert samples[count] == 0
    for outcome in ("delivered", "failed", "error"):
        key = (("notifier", "hook"), ("outcome", outcome))
        assert samples[("leakmon_notifications_total", key)] == 0


def test_cluster_counters_only_in_cluster_mode() -> None:
    single, cluster = Metrics(), Metrics()
    single.prime(["a"], [])
    cluster.prime(["a"], [], cluster=True)
    assert not any(name == "leakmon_poll_claims_total" for name, _ in _samples(single))
    assert _samples(cluster)[("leakmon_poll_claims_total", (("target", "a"),))] == 0


def test_process_python_and_build_info() -> None:
    samples = _samples(Metrics())
    names = {name for name, _ in samples}
    assert {"process_resident_memory_bytes", "process_cpu_seconds_total", "python_info"} <= names
    assert samples[("leakmon_build_info", (("version", __version__),))] == 1


def test_each_metrics_has_its_own_registry() -> None:
    """Two instances (two tests) do not clash over the process collectors."""
    Metrics()
    Metrics()
