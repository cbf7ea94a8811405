"""A replica says in /readyz whether it reaches the frontier and whether it leads."""

from __future__ import annotations

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from tests.cluster.harness import ADMIN_URL
from tests.net import free_port


def _replica(redis: str) -> Daemon:
    settings = Settings.model_validate(
        {
            "storage": ADMIN_URL,
            "http": {"listen": f"127.0.0.1:{free_port()}"},
            "cluster": {"redis": redis, "replica": "r-test", "lease": "5s"},
        }
    )
    return Daemon(settings, Metrics())


def test_an_unreachable_frontier_makes_the_replica_not_ready() -> None:
    daemon = _replica("redis://127.0.0.1:1/0")
    ready, details = daemon.readiness()
    assert not ready
    assert details["frontier"] == "unreachable"
    assert details["leader"] == "no"
    assert daemon.metrics.cluster_leader._value.get() == 0


def test_a_reachable_frontier_is_reported(redis_url: str) -> None:
    _, details = _replica(redis_url).readiness()
    assert details["frontier"] == "ok"
    assert details["store"] == "ok"


def test_one_process_leads_itself() -> None:
    daemon = Daemon(Settings.model_validate({"storage": "sqlite://"}), Metrics())
    _, details = daemon.readiness()
    assert "frontier" not in details
    assert daemon.metrics.cluster_leader._value.get() == 1
