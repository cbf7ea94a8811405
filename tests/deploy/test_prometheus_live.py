"""The rules and the dashboard's queries in a real Prometheus scraping a real ``leakmon run``.

Prometheus (the binary of Debian's prometheus package, as scripts/check installs it) runs
on 127.0.0.1 with a temporary config: one scrape job ``leakmon`` every second on the
``daemon`` fixture's /metrics, and deploy/prometheus/alerts.yml as its rule file,
evaluated every second. promtool's unit tests (test_prometheus.py) feed rules synthetic
series; here they read what leakmon really exports, through Prometheus's own query
engine, as on a production server.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests import synthetic
from tests.deploy.conftest import BROKEN_XLSX, XLSX_TYPE
from tests.deploy.queries import ALERTS, dashboard_exprs, metric_names, rule_exprs
from tests.deploy.tools import require_tool
from tests.net import free_port, get
from tests.processes import stop_process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

#: Grafana's variables as the dashboard would fill them for one leakmon job.
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$job": "leakmon",
    "$target": ".*",
}
#: Counters only cluster mode has series for: their queries are empty on one process.
CLUSTER_ONLY = {"leakmon_poll_claims_total", "leakmon_frontier_jobs_total"}
#: What may fire while the daemon watches a leaking portal with a broken file.
EXPECTED_FIRING = {"LeakmonCriticalFindingsOpen", "LeakmonHighFindingsOpen", "LeakmonScanErrors"}


@dataclass
class Prometheus:
    """A running Prometheus and its HTTP API."""

    url: str
    log: Any

    def api(self, path: str, **params: str) -> Any:
        """GET an API path; return ``data`` of a successful answer."""
        query = urllib.parse.urlencode(params)
        status, body = get(f"{self.url}/api/v1/{path}" + (f"?{query}" if query else ""))
        answer = json.loads(body) if body else {}
        assert status == 200, f"{path} {params}: {status} {body[:500]}"
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Evaluate an instant query; return its vector (or scalar as one sample)."""
        data = self.api("query", query=expr)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        result: list[dict[str, Any]] = data["result"]
        return result

    def wait_for(self, what: str, check: Callable[[], bool], timeout: float = 90) -> None:
        """Poll ``check`` until it holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(1)
        pytest.fail(f"{what} within {timeout:g} s\n{self.log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def prometheus(
    daemon: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    binary = require_tool("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    config = tmp / "prometheus.yml"
    config.write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": [str(ALERTS)],
                "scrape_configs": [
                    {
                        "job_name": "leakmon",
                        "static_configs": [{"targets": [f"127.0.0.1:{daemon['port']}"]}],
                    }
                ],
            }
        )
    )
    port = free_port()
    log = tmp / "prometheus.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            server = Prometheus(f"http://127.0.0.1:{port}", log)
            server.wait_for("Prometheus ready", lambda: get(f"{server.url}/-/ready")[0] == 200)
            assert daemon["proc"].poll() is None, daemon["log"].read_text()[-4000:]
            server.wait_for(
                "leakmon scraped", lambda: bool(server.query('up{job="leakmon"} == 1')), 60
            )
            yield server
        finally:
            stop_process(proc)


def _fill(expr: str) -> str:
    if expr.startswith("label_values("):
        expr = expr[len("label_values(") :].rsplit(",", 1)[0]  # the selector inside
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace(name, value)
    assert "$" not in expr, expr
    return expr


def _firing(server: Prometheus) -> list[dict[str, Any]]:
    return [a for a in server.api("alerts")["alerts"] if a["state"] == "firing"]


def test_quiet_targets_first_leak_and_first_failure_alert(
    prometheus: Prometheus, daemon: dict[str, Any]
) -> None:
    """The counters of a target exist at 0 before anything happens there, so ``increase()``
    sees the first leak and the first unreadable file, and LeakmonScanErrors fires for it."""
    prometheus.wait_for(
        "five zero samples of the quiet target's counters",
        lambda: bool(
            prometheus.query(
                'count_over_time(leakmon_scan_errors_total{target="quiet"}[1m]) >= 5'
                ' and leakmon_scan_errors_total{target="quiet"} == 0'
            )
        ),
    )
    assert prometheus.query('sum(leakmon_findings_total{target="quiet"}) == 0')
    leak = synthetic.ccw_applicants_csv(daemon["files"] / "quiet", rows=200)
    daemon["quiet"].publish("export.csv", leak.read_bytes())
    daemon["quiet"].publish("roster.xlsx", BROKEN_XLSX, XLSX_TYPE)
    prometheus.wait_for(
        "increase() of the quiet target's findings and scan errors",
        lambda: bool(
            prometheus.query('sum(increase(leakmon_findings_total{target="quiet"}[5m])) >= 1')
            and prometheus.query(
                'sum(increase(leakmon_scan_errors_total{target="quiet"}[5m])) >= 1'
            )
        ),
    )

    def quiet_alerts() -> dict[str, dict[str, Any]]:
        return {
            a["labels"]["alertname"]: a
            for a in _firing(prometheus)
            if a["labels"].get("target") == "quiet"
        }

    prometheus.wait_for(
        "critical-findings and scan-errors alerts for the quiet target",
        lambda: {"LeakmonCriticalFindingsOpen", "LeakmonScanErrors"} <= set(quiet_alerts()),
    )
    alerts = quiet_alerts()
    errors = alerts["LeakmonScanErrors"]
    assert errors["labels"]["job"] == "leakmon"
    assert re.fullmatch(
        r"About [1-9]\d* file scan\(s\) of target quiet failed in the last hour",
        errors["annotations"]["summary"],
    ), errors["annotations"]["summary"]
    critical = alerts["LeakmonCriticalFindingsOpen"]
    assert re.fullmatch(
        r"[1-9]\d* open critical finding\(s\) on target quiet", critical["annotations"]["summary"]
    ), critical["annotations"]["summary"]
    assert critical["annotations"]["runbook_url"].endswith(
        "/docs/runbooks/leakmoncriticalfindingsopen.md"
    )


def test_every_rule_evaluates_without_error(prometheus: Prometheus) -> None:
    def evaluated() -> list[dict[str, Any]]:
        groups = prometheus.api("rules")["groups"]
        return [r for g in groups for r in g["rules"]]

    prometheus.wait_for(
        "every rule evaluated",
        lambda: all(not r["lastEvaluation"].startswith("0001") for r in evaluated()),
    )
    rules = evaluated()
    assert len(rules) == len(rule_exprs())
    assert [(r["name"], r["lastError"]) for r in rules if r["health"] != "ok"] == []
    for expr in rule_exprs():
        prometheus.query(expr)  # and each expression answers as a query


def test_only_the_leak_and_the_broken_file_alert(prometheus: Prometheus) -> None:
    """A healthy daemon outside Kubernetes: ready (the scrape refreshes the gauge), polled,
    delivering; what fires is the leak and the unreadable file, nothing else."""
    prometheus.wait_for(
        "the standin leak alerting",
        lambda: any(
            a["labels"]["alertname"] == "LeakmonCriticalFindingsOpen"
            and a["labels"].get("target") == "standin"
            for a in _firing(prometheus)
        ),
    )
    ready = prometheus.query('max by (job, namespace, instance) (leakmon_ready{job="leakmon"})')
    assert [r["value"][1] for r in ready] == ["1"]
    assert "pod" not in ready[0]["metric"]
    # Firing only: /api/v1/alerts also lists *pending* alerts, and a 15-minute rule such as
    # LeakmonOutboxBacklog goes pending whenever an evaluation sees an alert queued and not
    # yet delivered (the quiet target's leak, published by another test of this module).
    everything = prometheus.api("alerts")["alerts"]
    firing = _firing(prometheus)
    unexpected = {a["labels"]["alertname"] for a in firing} - EXPECTED_FIRING
    assert unexpected == set(), firing
    for alert in everything:
        assert alert["labels"]["job"] == "leakmon", alert


def test_every_dashboard_query_answers_with_data(prometheus: Prometheus) -> None:
    prometheus.wait_for(
        "30 samples for the 1m rates",
        lambda: bool(prometheus.query('count_over_time(up{job="leakmon"}[5m]) >= 30')),
        timeout=60,
    )
    empty = []
    for expr in dashboard_exprs():
        result = prometheus.query(_fill(expr))
        if not result and not metric_names([expr]) & CLUSTER_ONLY:
            empty.append(expr)
    assert empty == []


def test_process_python_and_build_info_are_scraped(prometheus: Prometheus) -> None:
    for expr in (
        'process_resident_memory_bytes{job="leakmon"} > 0',
        'process_open_fds{job="leakmon"} > 0',
        'python_info{job="leakmon"} == 1',
        'python_gc_collections_total{job="leakmon"}',
        'leakmon_build_info{job="leakmon", version=~"[0-9]+\\\\..+"} == 1',
    ):
        assert prometheus.query(expr), expr
