"""A real store holding findings from real scans of synthetic leak files, for the findings page."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from monitor.alerts import AlertRouter
from monitor.config import Settings
from monitor.exposure import exposure_findings
from monitor.models import ViewExposure, utcnow
from monitor.scan import scan_path
from monitor.store import Store
from tests import synthetic

if TYPE_CHECKING:
    from collections.abc import Iterator

TARGET = "county-portal"
LEAK_URL = "https://data.example.gov/files/ccw_applicants.csv"
HOSTILE_URL = "https://data.example.gov/files/<b>bold</b>\x1b[31m\u202eevil.csv"
#: A column name that is markup, with an escape sequence and a right-to-left override.
HOSTILE_COLUMN = "<script>alert(1)</script>\x1b[2J\u202emoc.elpmaxe"
SECRET = "s3cret-page-token-for-tests"
VIEW_URL = "https://tableau.example.gov/views/CCW/Applicants"
FULL_DATA_URL = VIEW_URL + "#full_data"
FULL_DATA_TITLE = (
    "Full data of view CCW/Applicants; allowed by Download Full Data / View Underlying Data"
    " (allow_view_underlying)"
)


def hostile_csv(dir: Path) -> tuple[Path, list[str]]:
    """Write a CSV whose column names are hostile and whose rows hold SSN-like canaries."""
    rows = synthetic.ccw_rows(40, seed=7)
    canaries = [f"{900 - i:03d}-{10 + i:02d}-{4000 + i:04d}" for i in range(40)]
    path = dir / "hostile.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["applicant", HOSTILE_COLUMN, "ssn"])
        for row, ssn in zip(rows, canaries, strict=True):
            writer.writerow([f"{row[0]} {row[1]}", row[7], ssn])
    return path, canaries


def scan_into(
    store: Store,
    settings: Settings,
    url: str,
    path: Path,
    at: dt.datetime,
    portal: str = "ckan",
    dataset: str = "CCW applicants 2022",
) -> None:
    """Scan a file for real and record its findings as the daemon does."""
    store.touch_resource(TARGET, url, seen_at=at, portal=portal, dataset=dataset)
    report = scan_path(path, settings.scan, source=url)
    assert report.findings, f"the scan of {path.name} found nothing"
    store.apply_findings(TARGET, url, list(report.findings), at, AlertRouter(settings))


@pytest.fixture(scope="module")
def leak_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    tmp = tmp_path_factory.mktemp("leaks")
    ccw = synthetic.ccw_applicants_csv(tmp, rows=200)
    hostile, canaries = hostile_csv(tmp)
    raw = {
        cell
        for line in list(csv.reader(ccw.open(encoding="utf-8")))[1:60]
        for cell in line
        if len(cell) > 5
    }
    return {"ccw": ccw, "hostile": hostile, "canaries": canaries, "raw": sorted(raw)}


@pytest.fixture(scope="module")
def filled_store(
    tmp_path_factory: pytest.TempPathFactory, leak_files: dict[str, object]
) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("store")
    settings = Settings.model_validate({"targets": [{"name": TARGET, "start_urls": [LEAK_URL]}]})
    store = Store(f"sqlite:///{tmp / 'state.db'}")
    store.migrate()
    at = utcnow() - dt.timedelta(hours=2)
    ccw, hostile = leak_files["ccw"], leak_files["hostile"]
    assert isinstance(ccw, Path)
    assert isinstance(hostile, Path)
    scan_into(store, settings, LEAK_URL, ccw, at)
    scan_into(store, settings, HOSTILE_URL, hostile, at + dt.timedelta(minutes=5))
    # The full data a Tableau view hands out, named as the Tableau crawl names it.
    scan_into(
        store,
        settings,
        FULL_DATA_URL,
        ccw,
        at + dt.timedelta(minutes=7),
        portal="tableau",
        dataset=FULL_DATA_TITLE,
    )
    # A Tableau view offering its full data, recorded as the daemon records it.
    view = ViewExposure(
        TARGET, VIEW_URL, "CCW/Applicants", offers=("full_data",), forbidden=("full_data",)
    )
    store.touch_resource(
        TARGET, VIEW_URL, seen_at=at, portal="tableau", dataset="Tableau view CCW/Applicants"
    )
    store.apply_findings(
        TARGET, VIEW_URL, exposure_findings(view, {}, first_sight=True), at, AlertRouter(settings)
    )
    yield store
    store.close()
