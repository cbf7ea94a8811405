"""Render the kube-prometheus-stack objects from deploy/prometheus and deploy/grafana.

deploy/kubernetes/monitoring/prometheusrule.yaml holds alerts.yml's groups as a
PrometheusRule; grafana-dashboard.yaml holds leakmon.json in a ConfigMap that Grafana's
dashboard sidecar loads (label ``grafana_dashboard: "1"``). Both are generated: edit the
sources, then run ``python scripts/render_monitoring.py``. With ``--check`` it writes
nothing and exits 1 when a generated file differs from what it would write (a test runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
OUT = DEPLOY / "kubernetes" / "monitoring"
HEADER = (
    "# GENERATED from {source} by scripts/render_monitoring.py: do not edit.\n"
    "# Edit the source, then run `python scripts/render_monitoring.py`\n"
    "# (tests/deploy/test_monitoring.py fails when this file drifts).\n"
)


class _Literal(str):
    """A string dumped as a YAML block scalar, so PromQL and JSON stay readable."""


def _literal(dumper: yaml.SafeDumper, value: _Literal) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")


yaml.add_representer(_Literal, _literal, Dumper=yaml.SafeDumper)


def _blocks(value: object) -> object:
    """Return the value with multi-line strings marked for block style."""
    if isinstance(value, dict):
        return {k: _blocks(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_blocks(v) for v in value]
    if isinstance(value, str) and "\n" in value:
        return _Literal(value)
    return value


def _dump(source: str, doc: dict[str, object]) -> str:
    body = yaml.safe_dump(_blocks(doc), sort_keys=False, width=100, allow_unicode=True)
    return HEADER.format(source=source) + body


def render() -> dict[Path, str]:
    """Return each generated file's path and text."""
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text(encoding="utf-8"))
    dashboard = (DEPLOY / "grafana" / "leakmon.json").read_text(encoding="utf-8")
    json.loads(dashboard)  # fail here, not in Grafana, on a broken dashboard
    labels = {"app.kubernetes.io/name": "leakmon", "app.kubernetes.io/part-of": "leakmon"}
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "leakmon", "labels": labels},
        "spec": {"groups": rules["groups"]},
    }
    config_map = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "leakmon-grafana-dashboard",
            "labels": {**labels, "grafana_dashboard": "1"},
        },
        "data": {"leakmon.json": dashboard if dashboard.endswith("\n") else dashboard + "\n"},
    }
    return {
        OUT / "prometheusrule.yaml": _dump("deploy/prometheus/alerts.yml", rule),
        OUT / "grafana-dashboard.yaml": _dump("deploy/grafana/leakmon.json", config_map),
    }


def main(argv: list[str]) -> int:
    """Write the generated files, or with ``--check`` report the ones that drifted."""
    drifted = []
    for path, text in render().items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == text:
            continue
        if "--check" in argv:
            drifted.append(path)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    for path in drifted:
        print(f"{path} is out of date: run python scripts/render_monitoring.py", file=sys.stderr)
    return 1 if drifted else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
