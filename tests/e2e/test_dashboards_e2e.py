"""End to end on loopback, per portal kind: `leakmon run` against a Tableau and an ArcGIS stand-in.

For each kind a real daemon process polls its stand-in every 5 s (``kind: tableau``
or ``kind: arcgis``, SQLite in a temp dir, a webhook receiver). The story, in
order: a clean aggregate view or layer raises no page; a view export or layer
with 300 rows of applicants' personal data is paged within 30 s, naming the kind
and the workbook or service; taking it down posts a resolution of every finding
it had opened. Both daemons start together, so the whole module stays under a minute.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest

from monitor.standin import Receiver
from tests import synthetic
from tests.evidence import raw_values_in
from tests.net import free_port, get
from tests.portals.arcgis import ArcgisPortal
from tests.portals.tableau import TableauPortal
from tests.processes import stop_process

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.portals.base import CataloguePortal

POLL = 5
KINDS = ("tableau", "arcgis")
SERVICE = "Justice/CCW_Permits"  # the ArcGIS service; the Tableau workbook is "CCW"

pytestmark = pytest.mark.timeout(120)


class World:
    """One kind's stand-in, webhook receiver and daemon process."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp = kind, tmp
        self.receiver = Receiver().start()
        self.portal: CataloguePortal
        clean = synthetic.clean_aggregate_csv(tmp / "files").read_bytes()
        if kind == "tableau":
            tableau = TableauPortal()
            tableau.publish("CCW", "Counts", clean, embed="object")
            self.portal, start = tableau.start(), tableau.url
        else:
            arcgis = ArcgisPortal()
            arcgis.publish(SERVICE, "Counts", clean)
            self.portal, start = arcgis.start(), arcgis.directory_url
        self.port = free_port()
        config = tmp / "leakmon.yaml"
        target = {
            "name": f"{kind}-standin",
            "kind": kind,
            "start_urls": [start],
            "every": f"{POLL}s",
            "allowed_domains": ["127.0.0.1"],
        }
        hook = {"name": "hook", "kind": "webhook", "url": self.receiver.url, "secret": "e2e"}
        settings = {
            "storage": f"sqlite:///{tmp / 'state.db'}",
            "http": {"listen": f"127.0.0.1:{self.port}"},
            "targets": [target],
            "notify": [hook | {"min_severity": "high"}],
            # The Tableau stand-in's views are on "localhost", a loopback host of no target.
            "crawl": {"autothrottle": False, "trusted_hosts": ["localhost"]},
        }
        config.write_text(json.dumps(settings))
        self.log_path = tmp / "daemon.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.leak_rows: list[list[str]] = []
        self.published_at = 0.0

    def publish_leak(self) -> None:
        """Publish 300 applicants' rows: a view export on the page, or a new layer."""
        path = synthetic.ccw_applicants_csv(self.tmp / "leak", rows=300)
        body = path.read_bytes()
        self.leak_rows = list(csv.reader(io.StringIO(body.decode())))[1:]
        self.published_at = time.monotonic()
        if isinstance(self.portal, TableauPortal):
            self.portal.publish("CCW", "Applicants", body, embed="v3")
        else:
            self.portal.publish(SERVICE, "Applicants", body, max_record_count=250)

    def withdraw_leak(self) -> None:
        """Take the leak down: off the page (export 404), or the layer out of its service."""
        self.portal.withdraw("CCW" if self.kind == "tableau" else SERVICE, "Applicants")

    def posts(self) -> list[dict[str, Any]]:
        """Return every webhook body received so far."""
        return [p.json() for p in self.receiver.posts]

    def log(self) -> str:
        """Return the end of the daemon's log."""
        return self.log_path.read_text()[-4000:]

    def stop(self) -> None:
        """Stop the daemon, the stand-in and the receiver."""
        stop_process(self.proc)
        self.portal.stop()
        self.receiver.stop()
        self._log.close()


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    made: dict[str, World] = {}
    try:
        for kind in KINDS:
            made[kind] = World(kind, tmp_path_factory.mktemp(f"e2e-{kind}"))
        yield made
    finally:
        for world in made.values():
            world.stop()


def _wait(what: str, world: World, timeout: float, found: Any) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        assert world.proc.poll() is None, world.log()
        time.sleep(0.25)
    pytest.fail(f"{world.kind}: {what} within {timeout} s\n{world.posts()}\n{world.log()}")


def _paged(world: World) -> bool:
    return {"PERSON", "DATE_OF_BIRTH"} <= {e for b in world.posts() for e in b["entities"]}


def test_daemons_become_ready(worlds: dict[str, World]) -> None:
    for world in worlds.values():
        url = f"http://127.0.0.1:{world.port}/readyz"
        _wait("not ready", world, 30, lambda u=url: get(u)[0] == 200)


def test_clean_aggregates_raise_no_page(worlds: dict[str, World]) -> None:
    time.sleep(POLL * 1.5)
    tableau, arcgis = worlds["tableau"], worlds["arcgis"]
    assert tableau.portal.hits("/views/CCW/Counts.csv")  # the clean export was fetched...
    assert [h for h in arcgis.portal.hits("/arcgis/") if "outFields" in h]  # ...and the layer
    for world in worlds.values():
        assert world.posts() == [], world.kind  # ...and neither raised a page


@pytest.mark.parametrize("kind", KINDS)
def test_personal_data_is_paged_within_30_seconds(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    world.publish_leak()
    _wait("no page", world, 30, world.posts)
    first = world.receiver.posts[0]
    assert first.received_at - world.published_at <= 30
    # One file's findings are separate alerts: wait (within the same 30 s) for both kinds.
    left = 30 - (time.monotonic() - world.published_at)
    _wait("no name and birth-date pages", world, max(left, 0.5), lambda: _paged(world))
    bodies = world.posts()
    assert {b["event"] for b in bodies} == {"opened"}
    assert any(b["severity"] == "critical" for b in bodies)
    assert {b["portal"] for b in bodies} == {kind}
    assert {b["dataset"] for b in bodies} == {"CCW" if kind == "tableau" else SERVICE}
    if isinstance(world.portal, TableauPortal):
        export = world.portal.export_url("CCW", "Applicants")
        assert {b["resource_url"] for b in bodies} == {export}
    else:
        assert all("/FeatureServer/1/query?" in b["resource_url"] for b in bodies)
    entities = {e for b in bodies for e in b["entities"]}
    assert {"PERSON", "DATE_OF_BIRTH"} <= entities
    raw = {cell for row in world.leak_rows[:50] for cell in row if len(cell) > 4}
    text = json.dumps(bodies)
    assert raw_values_in(raw, text) == []  # evidence is masked


@pytest.mark.parametrize("kind", KINDS)
def test_taking_it_down_resolves_every_finding(worlds: dict[str, World], kind: str) -> None:
    world = worlds[kind]
    files = 1 if kind == "tableau" else 2  # 300 rows are two pages of 250 on the layer

    def paged_files() -> bool:
        return len({b["resource_url"] for b in world.posts()}) >= files

    _wait("not every file paged", world, 2 * POLL, paged_files)
    time.sleep(1.0)  # a file's events are queued together; let the dispatcher send them all
    opened = {b["key"] for b in world.posts() if b["event"] == "opened"}
    world.withdraw_leak()

    def resolved() -> bool:
        done = {b["key"] for b in world.posts() if b["event"] == "resolved"}
        return opened <= done

    _wait("not every finding resolved", world, 30, resolved)
    assert world.proc.poll() is None, world.log()
