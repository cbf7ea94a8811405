"""End to end on loopback: `leakmon run` as a real process against a stand-in portal.

One daemon process walks through the whole story, in order: a clean portal raises
no page; a leaking CSV is paged within 30 s at a 5 s poll; re-polls are conditional;
a clean file that gains a column of names is paged as drift; taking the leak down
posts a resolution; SIGTERM stops the daemon within 15 s.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING

import pytest

from monitor.standin import Portal, Receiver
from tests import synthetic
from tests.evidence import raw_values_in
from tests.net import free_port, get

if TYPE_CHECKING:
    from collections.abc import Iterator

POLL = 5


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("e2e")
    portal, receiver = Portal().start(), Receiver().start()
    clean = synthetic.clean_aggregate_csv(tmp / "files")
    portal.publish("counts.csv", clean.read_bytes())
    port = free_port()
    config = tmp / "leakmon.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp / 'state.db'}",
                "http": {"listen": f"127.0.0.1:{port}"},
                "targets": [
                    {
                        "name": "standin",
                        "start_urls": [portal.url],
                        "every": f"{POLL}s",
                        "allowed_domains": ["127.0.0.1"],
                    }
                ],
                "notify": [
                    {
                        "name": "hook",
                        "kind": "webhook",
                        "url": receiver.url,
                        "secret": "e2e-secret",
                        "min_severity": "high",
                    }
                ],
                "crawl": {"autothrottle": False},
            }
        )
    )
    log = (tmp / "daemon.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    world = {
        "portal": portal,
        "receiver": receiver,
        "proc": proc,
        "tmp": tmp,
        "clean": clean,
        "metrics": f"http://127.0.0.1:{port}",
        "log": tmp / "daemon.log",
    }
    yield world
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    portal.stop()
    receiver.stop()
    log.close()


def _log(world: dict) -> str:
    return world["log"].read_text()[-4000:]


def test_daemon_becomes_ready(world: dict) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status, body = get(world["metrics"] + "/readyz")
        if status == 200:
            assert json.loads(body)["ready"] is True
            return
        assert world["proc"].poll() is None, _log(world)
        time.sleep(0.5)
    pytest.fail(f"daemon not ready within 30 s:\n{_log(world)}")


def test_clean_portal_raises_no_page(world: dict) -> None:
    time.sleep(POLL * 1.5)
    assert world["receiver"].posts == []


def test_leaking_csv_is_paged_within_30_seconds(world: dict) -> None:
    leak = synthetic.ccw_applicants_csv(world["tmp"] / "files", rows=300)
    published = time.monotonic()
    world["portal"].publish("permits_export.csv", leak.read_bytes())
    posts = world["receiver"].wait_for(1, timeout=30)
    assert posts, f"no page within 30 s:\n{_log(world)}"
    assert posts[0].received_at - published <= 30
    bodies = [p.json() for p in posts]
    assert {b["event"] for b in bodies} == {"opened"}
    assert max(b["severity"] for b in bodies) == "critical" or any(
        b["severity"] == "critical" for b in bodies
    )
    assert all(b["resource_url"].endswith("/data/permits_export.csv") for b in bodies)
    assert all(b["portal"] == "html" and b["dataset"] for b in bodies)  # provenance
    raw = {c.strip('"') for line in leak.read_text().splitlines()[1:50] for c in line.split(",")}
    text = json.dumps(bodies)
    assert raw_values_in((v for v in raw if len(v) > 4), text) == []
    assert all("X-Leakmon-Signature" in p.headers for p in posts)


def test_repolls_are_conditional(world: dict) -> None:
    deadline = time.monotonic() + 3 * POLL
    while time.monotonic() < deadline and world["portal"].conditional_requests("counts.csv") < 1:
        time.sleep(0.5)
    assert world["portal"].conditional_requests("counts.csv") >= 1


def test_clean_file_gaining_a_name_column_is_paged_as_drift(world: dict) -> None:
    before = len(world["receiver"].posts)
    lines = world["clean"].read_text().splitlines()
    names = synthetic.headerless_people_csv(world["tmp"] / "names", rows=len(lines)).read_text()
    first_names = [row.split(",")[0] for row in names.splitlines()]
    grown = [lines[0] + ",officer_name"] + [
        f"{line},{first_names[i]} {first_names[-i - 1]}" for i, line in enumerate(lines[1:])
    ]
    world["portal"].publish("counts.csv", ("\n".join(grown) + "\n").encode())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p.json() for p in world["receiver"].posts[before:]]
        # The drift and any names found in the new column are one incident: one page.
        if any("SCHEMA_DRIFT" in b["entities"] for b in new):
            page = next(b for b in new if "SCHEMA_DRIFT" in b["entities"])
            [drift] = [f for f in page["findings"] if f["entity"] == "SCHEMA_DRIFT"]
            assert drift["severity"] in ("high", "critical")
            assert "officer_name" in page["columns"]
            assert len({b["key"] for b in new}) == 1
            return
        time.sleep(0.5)
    pytest.fail(f"no drift page within 30 s: {world['receiver'].posts[before:]}\n{_log(world)}")


def test_taking_the_leak_down_posts_a_resolution(world: dict) -> None:
    before = len(world["receiver"].posts)
    world["portal"].withdraw("permits_export.csv")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        new = [p.json() for p in world["receiver"].posts[before:]]
        resolved = [
            b
            for b in new
            if b["event"] == "resolved" and b["resource_url"].endswith("permits_export.csv")
        ]
        if resolved:
            return
        time.sleep(0.5)
    pytest.fail(f"no resolution within 30 s:\n{_log(world)}")


def test_metrics_are_exported(world: dict) -> None:
    status, text = get(world["metrics"] + "/metrics")
    assert status == 200
    for name in (
        "leakmon_open_findings{",
        "leakmon_scans_total{",
        "leakmon_fetches_total{",
        "leakmon_time_to_alert_seconds_bucket{",
        "leakmon_notifications_total{",
        "leakmon_outbox_depth",
        "leakmon_last_successful_poll_timestamp_seconds{",
    ):
        assert name in text, name
    assert "permits_export" not in text  # no URL in labels


def test_sigterm_stops_within_15_seconds(world: dict) -> None:
    proc = world["proc"]
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=20)
    assert time.monotonic() - started <= 15
    assert code == 0, _log(world)
