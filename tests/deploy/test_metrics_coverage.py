"""Every metric the dashboard and the alert rules read is exported by the real daemon.

One ``leakmon run`` process (the ``daemon`` fixture of conftest.py) watches a stand-in
portal on 127.0.0.1 that publishes a clean file, a leaking file and a broken one, and pages
a stand-in webhook receiver, so that every labelled metric family the deploy files use has
series. Its
/metrics is scraped and parsed, then checked against the names in the PromQL. The
cluster-mode counters have no series in a single-process daemon: for them it is checked
that the daemon declares them, with the labels the queries use; and the daemon's real
series are fed to the cluster alerts, which must not fire on a single process.

The same running daemon is backed up the two ways docs/deploy/backup.md says (``sqlite3 .backup``
and Python's ``sqlite3`` backup API) while it runs, and each copy is read back with
``leakmon findings``.
"""

from __future__ import annotations

import json
import math
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor.metrics import Metrics
from tests.deploy.queries import ALERTS, dashboard_exprs, label_uses, metric_names, rule_exprs
from tests.deploy.tools import DEPLOY, require_tool
from tests.net import get

if TYPE_CHECKING:
    from pathlib import Path

#: What the issue says the dashboard and the rules must cover; guards the name extraction.
EXPECTED = {
    "leakmon_open_findings",
    "leakmon_time_to_alert_seconds_bucket",
    "leakmon_scans_total",
    "leakmon_scan_errors_total",
    "leakmon_fetches_total",
    "leakmon_outbox_depth",
    "leakmon_notifications_total",
    "leakmon_last_successful_poll_timestamp_seconds",
    "leakmon_watched_files",
}
#: Labelled counters only cluster mode increments (polls claimed through PostgreSQL, jobs
#: through the Redis frontier): a single-process daemon declares them (HELP and TYPE) but
#: has no series for them.
CLUSTER_ONLY = {"leakmon_poll_claims_total", "leakmon_frontier_jobs_total"}
#: The alert rules that read cluster mode's metrics (deploy/prometheus/alerts.yml).
CLUSTER_GROUP = "leakmon-cluster"


@dataclass
class Scrape:
    """What one /metrics answer exports, by sample name and by family name."""

    samples: dict[str, int] = field(default_factory=dict)
    labels: dict[str, set[str]] = field(default_factory=dict)
    #: Every sample: name, labels, value.
    series: list[tuple[str, dict[str, str], float]] = field(default_factory=list)

    @classmethod
    def parse(cls, text: str) -> Scrape:
        """Parse Prometheus text format."""
        scrape = cls()
        for family in text_string_to_metric_families(text):
            scrape.samples[family.name] = scrape.samples.get(family.name, 0) + len(family.samples)
            scrape.labels.setdefault(family.name, set())
            for sample in family.samples:
                scrape.samples[sample.name] = scrape.samples.get(sample.name, 0) + 1
                scrape.labels.setdefault(sample.name, set()).update(sample.labels)
                scrape.labels[family.name].update(sample.labels)
                scrape.series.append((sample.name, dict(sample.labels), sample.value))
        return scrape

    def declares(self, name: str) -> bool:
        """Say whether the scrape has the metric: a sample, or HELP/TYPE of a counter."""
        return name in self.samples or name.removesuffix("_total") in self.samples


def _referenced() -> set[str]:
    return metric_names(dashboard_exprs()) | metric_names(rule_exprs())


@pytest.fixture(scope="module")
def scrape(daemon: dict[str, Any]) -> Scrape:
    """Scrape /metrics until every referenced metric has a sample (60 s at most)."""
    wanted = _referenced() - CLUSTER_ONLY
    scraped = Scrape()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert daemon["proc"].poll() is None, daemon["log"].read_text()[-4000:]
        status, text = get(daemon["url"] + "/metrics")
        if status == 200:
            scraped = Scrape.parse(text)
            if all(scraped.samples.get(name, 0) > 0 for name in wanted):
                break
        time.sleep(0.5)
    return scraped


def test_extraction_finds_the_metrics_the_issue_names() -> None:
    assert _referenced() >= EXPECTED


def test_every_referenced_metric_is_exported(scrape: Scrape) -> None:
    missing = sorted(name for name in _referenced() if not scrape.declares(name))
    assert missing == [], f"the deploy files read metrics leakmon does not export: {missing}"


def test_every_referenced_metric_has_series(scrape: Scrape, daemon: dict[str, Any]) -> None:
    wanted = _referenced() - CLUSTER_ONLY
    empty = sorted(name for name in wanted if scrape.samples.get(name, 0) == 0)
    assert empty == [], f"no series within 60 s for {empty}\n{daemon['log'].read_text()[-4000:]}"


def _declared_labels() -> dict[str, set[str]]:
    """Return the label names monitor/metrics.py declares for each metric, by sample name."""
    declared = {}
    for metric in vars(Metrics()).values():
        # prometheus_client has no public accessor for a metric's label names.
        names = getattr(metric, "_labelnames", None)
        if names is not None:
            kind = getattr(metric, "_type", "")
            declared[metric._name + ("_total" if kind == "counter" else "")] = set(names)
    return declared


def test_cluster_only_metrics_are_declared_and_used_as_declared() -> None:
    """They have no series here, so their labels are checked against their declaration."""
    declared = _declared_labels()
    assert _referenced() >= CLUSTER_ONLY  # the dashboard shows them; else drop them here
    assert set(declared) >= CLUSTER_ONLY
    wrong = [
        f"{sorted(labels - declared[name])} on {name} in {expr.strip()}"
        for expr in dashboard_exprs() + rule_exprs()
        for names, labels in label_uses(expr)
        for name in names & CLUSTER_ONLY
        if labels - declared[name]
    ]
    assert wrong == []


def test_every_label_the_queries_use_is_exported(scrape: Scrape) -> None:
    """A misspelt label (`severty=`, `by (targte)`) would silently match nothing."""
    wrong = []
    for expr in dashboard_exprs() + rule_exprs():
        for names, labels in label_uses(expr):
            if names & CLUSTER_ONLY and not any(scrape.samples.get(n) for n in names):
                continue  # no series in one process: checked against monitor/metrics.py above
            have = set().union(*(scrape.labels.get(n, set()) for n in names))
            if labels - have:
                wrong.append(f"{sorted(labels - have)} on {sorted(names)} in {expr.strip()}")
    assert wrong == []


def _series_notation(name: str, labels: dict[str, str]) -> str:
    escaped = {k: v.replace("\\", "\\\\").replace('"', '\\"') for k, v in labels.items()}
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(escaped.items())) + "}"


def test_single_process_daemon_fires_no_cluster_alert(scrape: Scrape, tmp_path: Path) -> None:
    """The daemon's own series, held for 70 minutes, fire neither LeakmonNoLeader nor
    LeakmonFrontierBacklog: a single process has no leader to lose and no frontier."""
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    (cluster,) = [g for g in groups if g["name"] == CLUSTER_GROUP]
    read = metric_names([rule["expr"] for rule in cluster["rules"]])
    alerts = [rule["alert"] for rule in cluster["rules"] if "alert" in rule]
    scrape_labels = {"job": "leakmon", "instance": "127.0.0.1:9464"}
    series = [
        {"series": _series_notation(name, {**labels, **scrape_labels}), "values": f"{value}x70"}
        for name, labels, value in scrape.series
        if name in read and math.isfinite(value)
    ]
    assert "leakmon_cluster_leader" in {s["series"].split("{")[0] for s in series}
    tests = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": t, "alertname": a, "exp_alerts": []}
                    for a in alerts
                    for t in ("5m", "65m")
                ],
            }
        ],
    }
    path = tmp_path / "single_process_test.yml"
    path.write_text(yaml.safe_dump(tests), encoding="utf-8")
    done = subprocess.run(
        [require_tool("promtool"), "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


#: docs/deploy/backup.md's two online-backup commands, with the paths they name.
README_STATE, README_BACKUP = "/var/lib/leakmon/state.db", "/tmp/backup.db"
PYTHON_BACKUP = (
    f"import sqlite3; sqlite3.connect('{README_STATE}').backup(sqlite3.connect('{README_BACKUP}'))"
)
CLI_BACKUP = ".backup '{backup}'"


def _backup_command(how: str, state: Path, backup: Path) -> list[str]:
    readme = (DEPLOY.parent / "docs" / "deploy" / "backup.md").read_text(encoding="utf-8")
    if how == "sqlite3":
        assert f'sqlite3 {README_STATE} ".backup ' in readme
        return [require_tool("sqlite3"), str(state), CLI_BACKUP.format(backup=backup)]
    assert PYTHON_BACKUP in readme
    code = PYTHON_BACKUP.replace(README_STATE, str(state)).replace(README_BACKUP, str(backup))
    return [sys.executable, "-c", code]


@pytest.mark.parametrize("how", ["sqlite3", "python"])
def test_online_backup_of_the_running_daemon_is_a_usable_store(
    how: str, scrape: Scrape, daemon: dict[str, Any]
) -> None:
    """docs/deploy/backup.md's commands, run while the daemon writes, give a readable copy."""
    assert scrape.samples.get("leakmon_findings_total", 0) > 0  # there is something to back up
    assert daemon["proc"].poll() is None  # and the daemon is still writing
    backup = daemon["tmp"] / f"backup-{how}.db"
    done = subprocess.run(
        _backup_command(how, daemon["tmp"] / "state.db", backup),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(backup) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)

    restored = daemon["tmp"] / f"restored-{how}.yaml"
    config = json.loads(daemon["config"].read_text())
    config["storage"] = f"sqlite:///{backup}"
    restored.write_text(json.dumps(config))
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "findings",
            "--config",
            str(restored),
            "--open",
            "--format",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    findings = json.loads(listed.stdout)
    assert any(f["severity"] == "critical" and f["target"] == "standin" for f in findings)
