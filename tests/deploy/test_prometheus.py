"""deploy/prometheus: the rules pass promtool's checks and unit tests; the runbook covers them."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING

import yaml

from tests.deploy.queries import ALERTS, dashboard_exprs, rule_exprs, summed_cluster_wide
from tests.deploy.tools import DEPLOY, require_tool

if TYPE_CHECKING:
    from pathlib import Path

PROMETHEUS = DEPLOY / "prometheus"
README = DEPLOY / "README.md"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = require_tool("promtool")
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _alerts() -> list[dict[str, str]]:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [r for g in rules["groups"] for r in g["rules"] if "alert" in r]


def test_rules_pass_promtool_check() -> None:
    done = _promtool("check", "rules", str(ALERTS), str(PROMETHEUS / "alerts_test_intervals.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_rules_pass_their_unit_tests() -> None:
    done = _promtool("test", "rules", str(PROMETHEUS / "alerts_test.yml"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_firing_unit_test() -> None:
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text(encoding="utf-8"))
    fired = {
        case["alertname"]
        for group in tests["tests"]
        for case in group.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {a["alert"] for a in _alerts()} == fired


def test_rules_never_sum_cluster_wide_gauges() -> None:
    """Only the elected replica exports them; summed, a handover would page for 2x findings."""
    wrong = {expr: summed_cluster_wide(expr) for expr in rule_exprs()}
    assert {expr: why for expr, why in wrong.items() if why} == {}


def _anchors(markdown: str) -> set[str]:
    """Return the GitHub anchors of the headings, outside fenced code blocks."""
    anchors, fenced = set(), False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif line.startswith("#") and not fenced:
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^a-z0-9 -]", "", title).replace(" ", "-"))
    return anchors


def test_every_alert_links_to_its_runbook_section() -> None:
    headings = _anchors(README.read_text(encoding="utf-8"))
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        assert url.endswith("/deploy/README.md#" + alert["alert"].lower()), url
        assert alert["alert"].lower() in headings, f"deploy/README.md has no {alert['alert']}"
        assert alert["labels"]["severity"] in ("critical", "warning")


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    """promtool parses each dashboard query as a recording rule, Grafana variables filled in."""
    filled = {
        "$__rate_interval": "5m",
        "$__interval": "1m",
        "$__range": "24h",
        "$job": "leakmon",
        "$target": ".*",
    }
    rules = []
    for i, expr in enumerate(dashboard_exprs()):
        if expr.startswith("label_values("):
            # A Grafana function, not PromQL: check the selector inside it.
            expr = expr[len("label_values(") :].rsplit(",", 1)[0]
        for name, value in sorted(filled.items(), key=lambda kv: -len(kv[0])):
            expr = expr.replace(name, value)
        assert "$" not in expr, expr
        rules.append({"record": f"dashboard:query_{i}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    done = _promtool("check", "rules", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
