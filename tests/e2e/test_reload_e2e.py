"""SIGHUP on a real `leakmon run`: an added allow rule resolves the incident without a rescan.

The runbook's step for an accepted publication is "add an allow rule". Until now it
took effect only when the file changed (an unchanged file answers 304 and is not
rescanned), so the page kept firing. Here the target polls once an hour: after the
first poll nothing is fetched again, so the resolution can only come from the reload.
A bad configuration sent the same way is refused, logged, and changes nothing.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from monitor.standin import Portal, Receiver
from tests import synthetic
from tests.net import free_port, get

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _config(tmp: Path, portal: Portal, receiver: Receiver, port: int, **extra: Any) -> str:
    return json.dumps(
        {
            "storage": f"sqlite:///{tmp / 'state.db'}",
            "http": {"listen": f"127.0.0.1:{port}"},
            "targets": [
                {
                    "name": "standin",
                    "start_urls": [portal.url],
                    "every": "1h",  # one poll in this test: no rescan can resolve anything
                    "allowed_domains": ["127.0.0.1"],
                }
            ],
            "notify": [{"name": "hook", "kind": "webhook", "url": receiver.url}],
            "crawl": {"autothrottle": False},
            **extra,
        }
    )


@pytest.fixture
def world(tmp_path: Path) -> Iterator[dict[str, Any]]:
    portal, receiver = Portal().start(), Receiver().start()
    leak = synthetic.ccw_applicants_csv(tmp_path / "files", rows=300)
    portal.publish("permits.csv", leak.read_bytes())
    port = free_port()
    config = tmp_path / "leakmon.yaml"
    config.write_text(_config(tmp_path, portal, receiver, port))
    log_path = tmp_path / "daemon.log"
    log = log_path.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    yield {
        "portal": portal,
        "receiver": receiver,
        "proc": proc,
        "config": config,
        "port": port,
        "tmp": tmp_path,
        "log": log_path,
    }
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    portal.stop()
    receiver.stop()
    log.close()


def _metric(port: int, name: str, **labels: str) -> float:
    _, text = get(f"http://127.0.0.1:{port}/metrics")
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        match = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if match and match.group(1) == name and (match.group(2) or "{}") == "{" + want + "}":
            return float(match.group(3))
    return 0.0


def _gets(portal: Portal, name: str) -> int:
    return sum(1 for _, path, _ in portal.requests if path == f"/data/{name}")


def _wait(predicate: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sighup_allow_rule_resolves_the_incident_at_the_receiver(world: dict[str, Any]) -> None:
    receiver, proc, port = world["receiver"], world["proc"], world["port"]
    logs = world["log"].read_text
    assert receiver.wait_for(1, timeout=60), logs()[-4000:]
    time.sleep(1.0)  # the poll's other work settles; still one incident, one page
    bodies = [p.json() for p in receiver.posts]
    assert [b["event"] for b in bodies] == ["opened"], bodies
    assert bodies[0]["open_findings"] > 1  # every finding of the file, in one page
    downloads = _gets(world["portal"], "permits.csv")

    # A broken file first: refused, logged, the daemon keeps running on the old one.
    world["config"].write_text("targets: [oops\n")
    proc.send_signal(signal.SIGHUP)
    assert _wait(lambda: _metric(port, "leakmon_config_reloads_total", outcome="refused"), 15)
    assert proc.poll() is None
    assert "configuration reload refused" in logs()

    rule = {"resource": "*/permits.csv", "reason": "published under the permit law, see runbook"}
    world["config"].write_text(_config(world["tmp"], world["portal"], receiver, port, allow=[rule]))
    sent = time.monotonic()
    proc.send_signal(signal.SIGHUP)
    assert _wait(lambda: len(receiver.posts) >= 2, 15), logs()[-4000:]
    took = time.monotonic() - sent
    time.sleep(1.0)
    bodies = [p.json() for p in receiver.posts]

    assert [b["event"] for b in bodies] == ["opened", "resolved"], bodies
    assert bodies[1]["key"] == bodies[0]["key"]
    assert "published under the permit law" in bodies[1]["reason"]
    assert {f["change"] for f in bodies[1]["findings"]} == {"allowed"}
    assert proc.poll() is None  # SIGHUP no longer ends the daemon
    assert _gets(world["portal"], "permits.csv") == downloads  # no rescan did this
    assert _metric(port, "leakmon_config_reloads_total", outcome="applied") == 1
    assert _metric(port, "leakmon_open_findings", target="standin", severity="critical") == 0
    print(f"SIGHUP to resolved at the receiver: {took:.2f} s")
