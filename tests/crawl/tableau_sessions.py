"""Crawl scenarios of Tableau viz sessions against the stand-in (run by ``tests.crawl.driver``).

The stand-in (``monitor.standin_tableau``) answers in the shapes of recorded real
responses (``monitor.vizql.encode`` cites them). ``test_tableau_sessions.py``
asserts on what the daemon's hooks heard, and on what the server was asked.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import TYPE_CHECKING, Any

from faker import Faker

from monitor.standin_tableau import FULL_FLAGS
from monitor.vizql.envelope import MAGIC, read_envelope
from spiders.html import HtmlSpider
from tests.crawl.catalogues import Watch
from tests.portals.tableau import TableauPortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

#: The summary export of the CCW dashboard: counts per county, nothing personal.
COUNTS = b"county,year,applications\nAlameda,2021,120\nFresno,2021,85\nKern,2021,64\n"
#: The full data's columns, as in the 2022 file (one row per applicant).
APPLICANT_COLUMNS = ["First Name", "Last Name", "Date of Birth", "Address", "CII Number", "County"]


def applicants(count: int, seed: int = 2022) -> list[list[object]]:
    """Return synthetic applicants (Faker): never a real person's data."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [
        [
            fake.first_name(),
            fake.last_name(),
            fake.date_of_birth(minimum_age=21, maximum_age=90),
            fake.street_address(),
            f"A{fake.random_number(digits=8, fix_len=True)}",
            fake.random_element(["Alameda", "Fresno", "Kern"]),
        ]
        for _ in range(count)
    ]


def _site() -> TableauPortal:
    portal = TableauPortal()
    full = (APPLICANT_COLUMNS, applicants(40))
    # The 2022 shape: a clean summary export, the records behind "Full data".
    portal.publish("CCW", "Applicants", COUNTS, embed="object", full=full, flags=FULL_FLAGS)
    # The same data, but the server has no vudcsv: the command's JSON is read instead.
    portal.publish(
        "CCW", "Detail", COUNTS, embed="v3", full=full, flags=FULL_FLAGS, vudcsv=False, newer=True
    )
    # A dashboard of two worksheets offering full data, no vudcsv: two answers, one session.
    portal.publish(
        "Jail",
        "Dash",
        COUNTS,
        embed="iframe",
        full=full,
        flags=FULL_FLAGS,
        vudcsv=False,
        worksheets=("Bookings", "Releases"),
    )
    # A dashboard of two worksheets, summary only: nothing beyond the export is offered.
    portal.publish("Stops", "Overview", COUNTS, embed="iframe", worksheets=("ByBeat", "Trend"))
    # Faults: a challenge page instead of the session, a refused bootstrap.
    portal.publish("Guarded", "Waf", COUNTS, embed="link", flags=FULL_FLAGS, fault="challenge")
    portal.publish("Guarded", "Refused", COUNTS, embed="link", flags=FULL_FLAGS, fault="refuse")
    portal.publish("Guarded", "Shape", COUNTS, embed="link", flags=FULL_FLAGS, fault="shape")
    portal.publish("Guarded", "Cut", COUNTS, embed="link", flags=FULL_FLAGS, fault="truncate")
    # A Tableau Public /shared/<key> link: it names no view until it redirects.
    portal.publish("Shared", "Counts", COUNTS, embed="shared", public=True)
    # Tableau Public: the workbook may be downloaded (allowDataAccess).
    portal.publish(
        "Public", "Roster", COUNTS, embed="link", public=True, workbook_download=True, full=full
    )
    return portal.start()


def _record(watch: Watch, began: int, base: str, tableau: str) -> dict[str, Any]:
    def short(url: str) -> str:
        return url.replace(tableau, "TAB/").replace(base, "")

    new = watch.hooks.events[began:]
    return {
        "files": {
            short(e["url"]): {"dataset": e["dataset"], "portal": e["portal"], "sha": e["sha256"]}
            for e in new
            if e["hook"] == "on_file"
        },
        "bodies": watch.bodies,
        "decoded": watch.decoded,
        "unchanged": sorted(short(e["url"]) for e in new if e["hook"] == "on_unchanged"),
        "errors": {short(e["url"]): e["error"] for e in new if e["hook"] == "on_fetch_error"},
        "exposures": {
            e["view"]: {k: e[k] for k in ("offers", "permissions", "forbidden")}
            | {"url": short(e["url"])}
            for e in new
            if e["hook"] == "on_exposure"
        },
        "done": [
            {"ok": e["ok"], "seen": sorted(short(u) for u in e["seen"])}
            for e in new
            if e["hook"] == "on_poll_done"
        ],
    }


class _BodyWatch(Watch):
    """A watch whose hooks keep the first bytes of every file (to check its form)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bodies: dict[str, str] = {}
        self.decoded: dict[str, dict[str, Any]] = {}
        hooks = self.hooks
        original = hooks.on_file

        def keep(fetched: Any) -> None:
            data = fetched.path.read_bytes()
            url = fetched.url
            key = url.split("#")[-1] if "#" in url else url.split("?")[0].rsplit("/", 1)[-1]
            self.bodies[key] = data[:64].hex()
            if data.startswith(MAGIC):  # a command's answer: decode it as the reader will
                table = read_envelope(data).decode()
                self.decoded[key] = {
                    "columns": list(table.columns),
                    "rows": table.frame.rows(),
                    "declared": table.declared_rows,
                }
            original(fetched)

        hooks.on_file = keep  # type: ignore[method-assign]


async def sessions(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a portal of views offering every kind of download, twice, then with a policy."""
    HtmlSpider.public_hosts = ("localhost",)
    site = _site()
    try:
        tableau = site.tableau_url
        watch = _BodyWatch("html", site, trusted_hosts=["localhost"])
        polls: dict[str, Any] = {}
        for name in ("first", "again"):
            began, log = len(watch.hooks.events), len(site.log)
            started = time.monotonic()
            ok = await watch.service.poll(watch.name)
            polls[name] = _record(watch, began, site.url, tableau) | {
                "ok": ok,
                "hits": [p for _, p in site.log[log:]],
                "seconds": time.monotonic() - started,
            }
        strict = _BodyWatch(
            "tableau",
            site,
            name="strict",
            trusted_hosts=["localhost"],
            target_options={"tableau": {"full_data": "forbidden", "sessions_per_host": 1}},
        )
        began, log = len(strict.hooks.events), len(site.log)
        ok = await strict.service.poll("strict")
        polls["forbidden"] = _record(strict, began, site.url, tableau) | {
            "ok": ok,
            "hits": [p for _, p in site.log[log:]],
        }
        return {"polls": polls, "today": dt.date.today().isoformat()}
    finally:
        site.stop()
