"""deploy/grafana/leakmon.json: a well-formed dashboard that shows what the issue asks for.

That every metric it reads is exported is checked against the real daemon in
test_metrics_coverage.py; that its PromQL parses, with promtool in test_prometheus.py.
"""

from __future__ import annotations

import itertools
import re

from tests.deploy.queries import (
    GRAFANA_BUILTINS,
    dashboard,
    dashboard_exprs,
    panels,
    summed_cluster_wide,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def test_dashboard_is_identified() -> None:
    board = dashboard()
    assert board["uid"] == "leakmon"
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)


def test_panels_have_unique_ids_and_queries() -> None:
    all_panels = panels(dashboard())
    ids = [p["id"] for p in all_panels]
    assert len(ids) == len(set(ids))
    for panel in all_panels:
        if panel["type"] == "row":
            continue
        assert panel["title"], panel["id"]
        assert panel.get("description"), panel["title"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == DATASOURCE, panel["title"]
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_panels_fit_the_grid_without_overlapping() -> None:
    boxes = []
    for panel in panels(dashboard()):
        pos = panel["gridPos"]
        assert pos["x"] >= 0, panel["title"]
        assert pos["w"] > 0, panel["title"]
        assert pos["x"] + pos["w"] <= 24, panel["title"]
        boxes.append((panel["title"], pos))
    for (a, p), (b, q) in itertools.combinations(boxes, 2):
        apart = (
            p["x"] + p["w"] <= q["x"]
            or q["x"] + q["w"] <= p["x"]
            or p["y"] + p["h"] <= q["y"]
            or q["y"] + q["h"] <= p["y"]
        )
        assert apart, f"panels {a!r} and {b!r} overlap"


def test_every_variable_used_is_defined() -> None:
    board = dashboard()
    defined = {v["name"] for v in board["templating"]["list"]}
    assert "datasource" in defined
    used = {
        m.group(1) or m.group(2)
        for expr in dashboard_exprs()
        for m in re.finditer(r"\$\{(\w+)\}|\$(\w+)", expr)
    }
    assert used - defined - GRAFANA_BUILTINS == set()


def test_dashboard_shows_what_operators_need() -> None:
    exprs = "\n".join(dashboard_exprs())
    wanted = {
        "open findings by target and severity": r"by \(target, severity\) \(leakmon_open_findings",
        "time to detect quantiles": r"histogram_quantile\(0\.95, sum by \(le\) "
        r"\(increase\(leakmon_time_to_alert_seconds_bucket",
        "scans": r"leakmon_scans_total",
        "scan errors": r"leakmon_scan_errors_total",
        "fetches by status": r"by \(status\) \(rate\(leakmon_fetches_total",
        "outbox depth": r"leakmon_outbox_depth",
        "notification failures": r"by \(notifier, outcome\) "
        r"\(increase\(leakmon_notifications_total",
        "time since last poll": r"time\(\) - max by \(target\) "
        r"\(leakmon_last_successful_poll_timestamp_seconds",
        "watched files": r"leakmon_watched_files",
        "replicas": r"sum\(up\{job=~\"\$job\"\}\)",
        "leader": r"leakmon_cluster_leader",
        "frontier backlog": r"max\(leakmon_frontier_pending",
        "frontier in flight": r"sum(?: by \(instance\))? \(leakmon_frontier_inflight",
    }
    missing = [what for what, pattern in wanted.items() if not re.search(pattern, exprs)]
    assert missing == []


def test_cluster_wide_gauges_are_never_summed_over_replicas() -> None:
    """Only the elected replica exports them; a handover must not show a finding twice."""
    wrong = {expr: summed_cluster_wide(expr) for expr in dashboard_exprs()}
    assert {expr: why for expr, why in wrong.items() if why} == {}


def test_cluster_panels_are_titled_for_operators() -> None:
    titles = {p["title"] for p in panels(dashboard())}
    assert {"Cluster", "Replicas", "Leader", "Frontier backlog"} <= titles
