"""The PromQL that deploy/ ships: the Grafana dashboard's queries and the Prometheus rules."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from tests.deploy.tools import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "leakmon.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

#: A leakmon metric name as written in PromQL (recording rules use ``leakmon:...``, not this).
METRIC_NAME = re.compile(r"\bleakmon_[a-z0-9_]+\b")
#: Grafana's own variables, defined by Grafana rather than the dashboard.
GRAFANA_BUILTINS = frozenset({"__rate_interval", "__interval", "__range", "__range_s"})


def dashboard() -> dict[str, Any]:
    """Return the dashboard JSON."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Return every panel, including those nested in collapsed rows."""
    out = []
    for panel in board["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def dashboard_exprs() -> list[str]:
    """Return every PromQL expression of the dashboard: panel targets and template queries."""
    board = dashboard()
    exprs = [t["expr"] for p in panels(board) for t in p.get("targets", [])]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            query = var["query"]
            exprs.append(query["query"] if isinstance(query, dict) else query)
    return exprs


def rule_exprs() -> list[str]:
    """Return the expression of every recording and alerting rule in alerts.yml."""
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return [rule["expr"] for group in rules["groups"] for rule in group["rules"]]


def metric_names(exprs: list[str]) -> set[str]:
    """Return the ``leakmon_*`` metric names the expressions read."""
    return {name for expr in exprs for name in METRIC_NAME.findall(expr)}


#: Labels Prometheus or the Kubernetes service discovery add to a scrape, not leakmon.
SCRAPE_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "service", "endpoint", "container"}
)
_SELECTOR = re.compile(r"\b(leakmon_[a-z0-9_]+)\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_BY = re.compile(r"\bby\s*\(([^)]*)\)\s*\(")


def _closing(text: str, open_at: int) -> int:
    """Return the index of the parenthesis closing the one at ``open_at``."""
    depth = 0
    for i in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    raise ValueError(f"unbalanced parentheses in {text!r}")


def label_uses(expr: str) -> list[tuple[set[str], set[str]]]:
    """Return (metric names, label names) pairs the expression relies on.

    Each selector's matchers (``leakmon_x{target=~"..."}``), and each ``by (...)`` with the
    leakmon metrics it aggregates. Labels a scrape adds (job, instance, pod...) are left out.
    """
    uses = []
    for m in _SELECTOR.finditer(expr):
        labels = set(_MATCHER.findall(m.group(2))) - SCRAPE_LABELS
        uses.append(({m.group(1)}, labels))
    for m in _BY.finditer(expr):
        body = expr[m.end() - 1 : _closing(expr, m.end() - 1) + 1]
        labels = {label.strip() for label in m.group(1).split(",") if label.strip()}
        names = set(METRIC_NAME.findall(body))
        if names:
            uses.append((names, labels - SCRAPE_LABELS))
    return uses


#: Gauges only the elected replica exports in cluster mode (monitor/metrics.py): summing them
#: over replicas would count twice during a leader handover, so queries take ``max``.
CLUSTER_WIDE = frozenset(
    {"leakmon_open_findings", "leakmon_outbox_depth", "leakmon_frontier_pending"}
)
_CLAUSE = re.compile(r"\b(?:by|without)\s*\([^()]*\)\s*$")
_FUNCTION = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*$")
_KEYWORDS = frozenset({"and", "or", "unless", "on", "ignoring", "group_left", "group_right"})


def enclosing_calls(expr: str, at: int) -> list[str]:
    """Return the functions and aggregations around position ``at``, innermost first.

    ``sum(max by (target) (leakmon_x))`` gives ``["max", "sum"]`` for a position inside
    ``leakmon_x``; plain grouping parentheses and operators' label lists are skipped.
    """
    calls = []
    for i in range(at - 1, -1, -1):
        if expr[i] != "(" or _closing(expr, i) < at:
            continue
        before = expr[:i]
        clause = _CLAUSE.search(before)
        if clause:
            before = before[: clause.start()]
        name = _FUNCTION.search(before)
        if name and name.group(1) not in _KEYWORDS:
            calls.append(name.group(1))
    return calls


def summed_cluster_wide(expr: str) -> list[str]:
    """Return the cluster-wide gauges the expression aggregates other than with max or min."""
    wrong = []
    for m in METRIC_NAME.finditer(expr):
        if m.group(0) not in CLUSTER_WIDE or expr.startswith("label_values("):
            continue
        calls = enclosing_calls(expr, m.start())
        if not calls or calls[0] not in {"max", "min"}:
            wrong.append(f"{m.group(0)} under {calls or 'no aggregation'}")
    return wrong
