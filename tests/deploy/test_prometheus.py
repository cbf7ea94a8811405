"""deploy/prometheus: the rules pass promtool's checks and unit tests; each has a runbook page."""

from __future__ import annotations

import re
import subprocess
from typing import TYPE_CHECKING

import yaml

from tests.deploy.queries import ALERTS, dashboard_exprs, rule_exprs, summed_cluster_wide
from tests.deploy.tools import DEPLOY, REPO, require_tool

if TYPE_CHECKING:
    from pathlib import Path

PROMETHEUS = DEPLOY / "prometheus"


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


def test_every_alert_links_to_its_runbook_page() -> None:
    for alert in _alerts():
        url = alert["annotations"]["runbook_url"]
        page = f"docs/runbooks/{alert['alert'].lower()}.md"
        assert url == f"https://github.com/leakmon/leakmon/blob/main/{page}", url
        text = (REPO / page).read_text(encoding="utf-8")
        assert text.startswith(f"# {alert['alert']}\n"), page
        assert alert["labels"]["severity"] in ("critical", "warning")
        assert f"**Severity: {alert['labels']['severity']}" in text, page
    pages = {p.name for p in (REPO / "docs" / "runbooks").glob("leakmon*.md")}
    assert pages == {f"{a['alert'].lower()}.md" for a in _alerts()}
    index = (REPO / "docs" / "runbooks" / "index.md").read_text(encoding="utf-8")
    for alert in _alerts():
        row = f"| [{alert['alert']}]({alert['alert'].lower()}.md) | {alert['labels']['severity']} |"
        assert row in index, f"docs/runbooks/index.md lists no {alert['alert']}"


def test_summaries_print_whole_numbers() -> None:
    """A ``$value`` in a summary is printed with ``printf "%.0f"`` or as a duration."""
    for alert in _alerts():
        summary = alert["annotations"]["summary"]
        for use in re.findall(r"\{\{[^}]*\$value[^}]*\}\}", summary):
            assert 'printf "%.0f"' in use or "humanizeDuration" in use, (alert["alert"], use)


def test_alerts_keep_job_and_namespace() -> None:
    """Two deployments watching a target of the same name must be two alerts."""
    for alert in _alerts():
        for by in re.findall(r"\b(?:max|min|sum|count) by \(([^)]*)\)", alert["expr"]):
            labels = {label.strip() for label in by.split(",")}
            assert {"job", "namespace"} <= labels, (alert["alert"], by)


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
