"""deploy/kubernetes/monitoring and the NetworkPolicy: generated, in step with their sources.

The PrometheusRule and the Grafana dashboard ConfigMap are generated from
deploy/prometheus/alerts.yml and deploy/grafana/leakmon.json by
scripts/render_monitoring.py; a hand edit or a forgotten re-render fails here.
The PrometheusRule is checked against the constraints of the Prometheus Operator's CRD
(prometheus-operator/prometheus-operator,
example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml, v0.82.2):
rule groups with unique non-empty names, rules with ``expr`` and exactly one of
``record``/``alert``, durations matching its pattern, string labels and annotations.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from tests.deploy import kustomize as k8s
from tests.deploy.queries import ALERTS, DASHBOARD
from tests.deploy.tools import REPO, require_tool

if TYPE_CHECKING:
    from pathlib import Path

RENDER = REPO / "scripts" / "render_monitoring.py"
#: The CRD's duration pattern (``for``, ``interval``).
DURATION = re.compile(
    r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
)


@pytest.fixture(scope="module")
def monitoring() -> list[dict[str, Any]]:
    return k8s.render("monitoring")


def test_generated_files_match_their_sources() -> None:
    done = subprocess.run(
        [sys.executable, str(RENDER), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_a_drifted_file_is_reported(tmp_path: Path) -> None:
    """The check is not vacuous: an edited copy of the rules is caught."""
    sys.path.insert(0, str(RENDER.parent))
    try:
        import render_monitoring  # the script, imported to call its render()
    finally:
        sys.path.remove(str(RENDER.parent))
    rendered = render_monitoring.render()
    for path, text in rendered.items():
        assert path.read_text(encoding="utf-8") == text
    out = render_monitoring.OUT
    try:
        render_monitoring.OUT = tmp_path
        for path, text in render_monitoring.render().items():
            path.write_text(text.replace("for: 15m", "for: 16m"), encoding="utf-8")
        assert render_monitoring.main(["--check"]) == 1
    finally:
        render_monitoring.OUT = out


def test_prometheus_rule_holds_exactly_the_alert_rules(monitoring: list[dict[str, Any]]) -> None:
    rule = k8s.only(monitoring, "PrometheusRule")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    source = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    assert rule["spec"]["groups"] == source["groups"]


def test_prometheus_rule_meets_the_crd(monitoring: list[dict[str, Any]]) -> None:
    groups = k8s.only(monitoring, "PrometheusRule")["spec"]["groups"]
    names = [g["name"] for g in groups]
    assert all(names)
    assert len(names) == len(set(names))
    for group in groups:
        assert set(group) <= {"name", "interval", "rules", "limit", "partial_response_strategy"}
        for rule in group["rules"]:
            assert ("record" in rule) != ("alert" in rule), rule
            assert isinstance(rule["expr"], str)
            assert rule["expr"].strip()
            assert set(rule) <= {"record", "alert", "expr", "for", "labels", "annotations"}
            assert DURATION.match(rule.get("for", "0")), rule
            for field in ("labels", "annotations"):
                assert all(isinstance(v, str) for v in rule.get(field, {}).values()), rule


def test_prometheus_rule_passes_promtool(monitoring: list[dict[str, Any]], tmp_path: Path) -> None:
    spec = tmp_path / "rules.yml"
    spec.write_text(yaml.safe_dump(k8s.only(monitoring, "PrometheusRule")["spec"]))
    done = subprocess.run(
        [require_tool("promtool"), "check", "rules", str(spec)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dashboard_config_map_holds_the_dashboard(monitoring: list[dict[str, Any]]) -> None:
    config_map = k8s.only(monitoring, "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config_map["data"]["leakmon.json"]) == json.loads(
        DASHBOARD.read_text(encoding="utf-8")
    )
    k8s.validate_schemas([config_map])


def test_network_policy_admits_prometheus_and_allows_only_needed_egress() -> None:
    base = k8s.render("base")
    policy = k8s.only(base, "NetworkPolicy")
    k8s.validate_schemas([policy])
    spec = policy["spec"]
    assert spec["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "leakmon"}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    (ingress,) = spec["ingress"]
    container = k8s.container(base)
    assert [p["port"] for p in ingress["ports"]] == [container["ports"][0]["name"]]
    ports = {p["port"] for rule in spec["egress"] for p in rule["ports"]}
    assert ports == {53, 80, 443, 5432, 6379}
    web = next(r for r in spec["egress"] if {p["port"] for p in r["ports"]} == {80, 443})
    excluded = {cidr for block in web["to"] for cidr in block["ipBlock"]["except"]}
    assert {"10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12"} <= excluded
    assert {"192.168.0.0/16", "fc00::/7", "fe80::/10"} <= excluded
