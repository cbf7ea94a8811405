"""End to end, the 2022 case: a clean dashboard whose full data and workbook hold every applicant.

A real `leakmon run` (``kind: auto``, SQLite, a webhook receiver) watches a stand-in
portal whose home page links a dashboard page, which embeds Tableau views. The
summary exports are county counts; behind them, a visitor can download the full
data (as the ``vudcsv`` CSV, or as the ``get-underlying-data`` command's JSON)
and the packaged workbook (its original CSV, or a Hyper extract), each holding 300
synthetic applicants. The target
forbids its dashboards to offer the workbook. Every one of these must page,
named by how it is exposed, with masked evidence only; the clean summary export
must not.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from monitor.standin import Receiver
from monitor.standin_tableau import FULL_FLAGS
from tests import synthetic
from tests.evidence import raw_values_in
from tests.net import free_port, get
from tests.portals.tableau import TableauPortal
from tests.processes import stop_process
from tests.readers.tableau_files import hyperapi, twb_xml, write_hyper, zip_bytes

if TYPE_CHECKING:
    from collections.abc import Iterator

POLL = 5
PAGE_WITHIN = 60.0  # the brief: paged within a minute

pytestmark = pytest.mark.timeout(180)


class World:
    """The stand-in portal and Tableau host, a webhook receiver and a daemon process."""

    def __init__(self, tmp: Path) -> None:
        self.receiver = Receiver().start()
        counts = synthetic.clean_aggregate_csv(tmp / "files").read_bytes()
        body = synthetic.ccw_applicants_csv(tmp / "leak", rows=300).read_bytes()
        table = list(csv.reader(io.StringIO(body.decode())))
        self.rows = table[1:]
        full = (table[0], table[1:])
        self.portal = TableauPortal()
        # The 2022 view: summary export clean, full data and workbook every applicant.
        self.portal.publish(
            "CCW",
            "Applicants",
            counts,
            embed="object",
            full=full,
            flags=FULL_FLAGS,
            workbook_download=True,
        )
        # A newer server's view without vudcsv: the command's JSON is decoded instead.
        self.portal.publish(
            "Permits",
            "Detail",
            counts,
            embed="v3",
            full=full,
            flags=FULL_FLAGS,
            vudcsv=False,
            newer=True,
        )
        # A workbook whose data is a Hyper extract (read with the tableau extra).
        hyperapi()
        columns = [c.replace(" ", "_").lower() for c in table[0]]
        extract = write_hyper(tmp / "people.hyper", columns, table[1:])
        twbx = zip_bytes(
            {
                "Roster.twb": twb_xml("Roster", list(zip(columns, table[0], strict=True))),
                "Data/Extracts/people.hyper": extract.read_bytes(),
            }
        )
        self.portal.publish(
            "Extract",
            "Roster",
            counts,
            embed="iframe",
            workbook_download=True,
            workbook_file=twbx,
        )
        self.portal.start()
        self.started = time.monotonic()
        self.port = free_port()
        target = {
            "name": "justice",
            "start_urls": [self.portal.url],  # the home page: dashboards are a link down
            "every": f"{POLL}s",
            "allowed_domains": ["127.0.0.1"],
            "tableau": {"workbook": "forbidden"},
        }
        hook = {"name": "hook", "kind": "webhook", "url": self.receiver.url, "secret": "e2e"}
        config = tmp / "leakmon.yaml"
        config.write_text(
            json.dumps(
                {
                    "storage": f"sqlite:///{tmp / 'state.db'}",
                    "http": {"listen": f"127.0.0.1:{self.port}"},
                    "targets": [target],
                    "notify": [hook | {"min_severity": "high"}],
                    "crawl": {"autothrottle": False, "trusted_hosts": ["localhost"]},
                }
            )
        )
        self.log_path = tmp / "daemon.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def posts(self) -> list[dict[str, Any]]:
        """Return every webhook body received so far."""
        return [p.json() for p in self.receiver.posts]

    def urls(self) -> set[str]:
        """Return the resources paged so far, relative to the Tableau host."""
        return {b["resource_url"].replace(self.portal.tableau_url, "TAB/") for b in self.posts()}

    def stop(self) -> None:
        """Stop the daemon, the stand-in and the receiver."""
        stop_process(self.proc)
        self.portal.stop()
        self.receiver.stop()
        self._log.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    made = World(tmp_path_factory.mktemp("e2e-tableau"))
    try:
        yield made
    finally:
        made.stop()


def _wait(what: str, world: World, timeout: float, found: Any) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = found()
        if result:
            return result
        assert world.proc.poll() is None, world.log_path.read_text()[-4000:]
        time.sleep(0.25)
    pytest.fail(f"{what} within {timeout} s\n{world.urls()}\n{world.log_path.read_text()[-6000:]}")


EXPECTED = {
    "TAB/views/CCW/Applicants#full-data:Applicants",  # vudcsv full data
    "TAB/views/Permits/Detail#full-data:Detail",  # get-underlying-data JSON
    "TAB/workbooks/CCW.twbx",  # the packaged workbook for a guest
    "TAB/views/CCW/Applicants",  # the view offers the workbook, which the target forbids
    "TAB/workbooks/Extract.twbx",  # a .twbx whose data is a .hyper extract
}


def test_every_download_a_visitor_has_is_paged_named_by_how_it_is_exposed(world: World) -> None:
    _wait("not every exposure paged", world, PAGE_WITHIN, lambda: world.urls() >= EXPECTED)
    assert time.monotonic() - world.started <= PAGE_WITHIN + 5
    by_url: dict[str, list[dict[str, Any]]] = {}
    for body in world.posts():
        by_url.setdefault(
            body["resource_url"].replace(world.portal.tableau_url, "TAB/"), []
        ).append(body)
    full = by_url["TAB/views/CCW/Applicants#full-data:Applicants"]
    assert {b["dataset"] for b in full} == {
        "Full data of view CCW/Applicants; allowed by Download Full Data / View Underlying Data"
        " (allow_view_underlying)"
    }
    assert {"PERSON", "DATE_OF_BIRTH"} <= {e for b in full for e in b["entities"]}
    assert {b["portal"] for b in full} == {"tableau"}
    exposure = by_url["TAB/views/CCW/Applicants"]
    assert {e for b in exposure for e in b["entities"]} == {"DATA_EXPOSURE"}
    assert {b["severity"] for b in exposure} == {"high"}


def test_clean_summary_exports_raise_no_page(world: World) -> None:
    _wait("no pages yet", world, PAGE_WITHIN, world.posts)
    assert not [u for u in world.urls() if u.endswith(".csv?:showVizHome=no")]


def test_pages_carry_masked_evidence_only(world: World) -> None:
    _wait("no pages yet", world, PAGE_WITHIN, world.posts)
    raw = {cell for row in world.rows[:80] for cell in row if len(cell) > 4}
    assert raw_values_in(raw, json.dumps(world.posts())) == []


def test_daemon_stays_ready_through_it(world: World) -> None:
    status, _ = get(f"http://127.0.0.1:{world.port}/readyz")
    assert status == 200


def test_the_daemon_process_does_not_load_the_scan_workers_parsers(world: World) -> None:
    """The daemon crawls and decodes nothing itself: polars lives in its scan workers only.

    Read from the live process's memory map after it polled the Tableau views (the
    crawl parses their answers, and once loaded polars for a helper it did not need).
    """
    _wait("not every exposure paged", world, PAGE_WITHIN, lambda: world.urls() >= EXPECTED)
    mapped = Path(f"/proc/{world.proc.pid}/maps").read_text()
    assert "polars" not in mapped
    assert "numpy" in mapped  # the crawl's answer parser did load: the map is the daemon's
