"""End to end per portal kind: `leakmon run` against a stand-in CKAN, DCAT-US and Socrata portal.

Three daemons run side by side, one per kind, each polling its stand-in every
5 s with ``kind:`` set. For each: a clean resource raises no page; a leaking CSV
published as a new resource is paged within 30 s with the resource's URL and
its dataset as provenance; withdrawing it posts a resolution.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from monitor.standin import Receiver
from tests import synthetic
from tests.evidence import raw_values_in
from tests.net import free_port, get
from tests.portals import CataloguePortal, CkanPortal, DcatPortal, SocrataPortal

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from monitor.standin import ReceivedPost

pytestmark = pytest.mark.timeout(120)

POLL = 5
KINDS = ("ckan", "dcat", "socrata")


@dataclass
class World:
    """One kind's stand-in, webhook receiver and daemon."""

    kind: str
    portal: CataloguePortal
    receiver: Receiver
    proc: subprocess.Popen[bytes]
    metrics: str
    log: Path
    files: Path
    clean: str  # the clean resource's URL
    leak: tuple[str, str] = ("", "")  # where the leak goes: dataset, resource name
    dataset: str = ""  # the leak's provenance as the spider reports it
    leak_url: str = ""
    published: float = 0.0

    def tail(self) -> str:
        return self.log.read_text()[-4000:]


def _portal(kind: str) -> CataloguePortal:
    return {"ckan": CkanPortal, "dcat": DcatPortal, "socrata": SocrataPortal}[kind]()


def _start(kind: str, tmp: Path) -> World:
    portal, receiver = _portal(kind).start(), Receiver().start()
    files = tmp / "files"
    body = synthetic.clean_aggregate_csv(files).read_bytes()
    if kind == "socrata":
        clean = portal.publish("cnty-0001", "CCW applications by county", body)
    else:
        clean = portal.publish("ccw-counts", "ccw_counts.csv", body)
    port = free_port()
    config = tmp / "leakmon.yaml"
    target = {"name": kind, "kind": kind, "start_urls": [portal.url], "every": f"{POLL}s"}
    config.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp / 'state.db'}",
                "http": {"listen": f"127.0.0.1:{port}"},
                "scan_workers": 1,
                "targets": [target | {"allowed_domains": ["127.0.0.1"]}],
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
                ],
                "crawl": {"autothrottle": False},
            }
        )
    )
    log = tmp / "daemon.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    return World(kind, portal, receiver, proc, f"http://127.0.0.1:{port}", log, files, clean)


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    started = {k: _start(k, tmp_path_factory.mktemp(f"e2e-{k}")) for k in KINDS}
    yield started
    for world in started.values():
        if world.proc.poll() is None:
            world.proc.kill()
            world.proc.wait()
        world.portal.stop()
        world.receiver.stop()


def _metric(world: World, name: str, **labels: str) -> float:
    _, text = get(world.metrics + "/metrics")
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def _wait(world: World, what: str, check: Any, timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        assert world.proc.poll() is None, f"the {world.kind} daemon died:\n{world.tail()}"
        time.sleep(0.25)
    pytest.fail(f"{world.kind}: {what} within {timeout:.0f} s\n{world.tail()}")


@pytest.mark.parametrize("kind", KINDS)
def test_daemon_becomes_ready(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    _wait(world, "not ready", lambda: get(world.metrics + "/readyz")[0] == 200)


@pytest.mark.parametrize("kind", KINDS)
def test_clean_resource_is_scanned_and_raises_no_page(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    _wait(
        world, "clean file not scanned", lambda: _metric(world, "leakmon_scans_total", target=kind)
    )
    _wait(
        world, "no complete poll", lambda: _metric(world, "leakmon_catalogue_datasets", kind=kind)
    )
    assert world.receiver.posts == []


@pytest.mark.parametrize("kind", KINDS)
def test_leaking_resource_is_paged_within_30_seconds(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    body = synthetic.ccw_applicants_csv(world.files, rows=300).read_bytes()
    world.published = time.monotonic()
    if kind == "socrata":
        world.leak, world.dataset = ("ccwp-2022", ""), "ccwp-2022"
        world.leak_url = world.portal.publish("ccwp-2022", "CCW permit applicants", body)
    else:
        world.leak = ("ccw-applicants-2022", "ccw_applicants.csv")
        world.leak_url = world.portal.publish(*world.leak, body)
        portal = world.portal
        world.dataset = (
            portal.identifier(world.leak[0]) if isinstance(portal, DcatPortal) else world.leak[0]
        )
    posts: list[ReceivedPost] = _wait(world, "no page", lambda: world.receiver.wait_for(1, 0.5))
    assert posts[0].received_at - world.published <= 30
    bodies = [p.json() for p in posts]
    assert {b["event"] for b in bodies} == {"opened"}
    assert any(b["severity"] == "critical" for b in bodies)
    assert {b["resource_url"] for b in bodies} == {world.leak_url}
    assert {(b["portal"], b["dataset"]) for b in bodies} == {(kind, world.dataset)}
    raw = {c.strip('"') for line in body.decode().splitlines()[1:50] for c in line.split(",")}
    text = json.dumps(bodies)
    assert raw_values_in((v for v in raw if len(v) > 4), text) == []  # evidence is masked


@pytest.mark.parametrize("kind", KINDS)
def test_withdrawn_leak_posts_a_resolution(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    assert world.leak_url, "the leak was not published"
    before = len(world.receiver.posts)
    dataset, resource = world.leak
    world.portal.withdraw(dataset, resource or None)

    def resolved() -> list[dict[str, Any]]:
        new = [p.json() for p in world.receiver.posts[before:]]
        return [b for b in new if b["event"] == "resolved" and b["resource_url"] == world.leak_url]

    _wait(world, "no resolution", resolved)


@pytest.mark.parametrize("kind", KINDS)
def test_catalogue_gauges_are_exported(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    labels = {"target": kind, "kind": kind}
    assert _metric(world, "leakmon_catalogue_datasets", **labels) >= 1
    assert _metric(world, "leakmon_catalogue_datasets_walked", **labels) >= 1


@pytest.mark.parametrize("kind", KINDS)
def test_sigterm_stops_within_15_seconds(worlds: dict[str, World], kind: str) -> None:
    proc = worlds[kind].proc
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0, worlds[kind].tail()
    assert time.monotonic() - started <= 15
