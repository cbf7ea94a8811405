"""No leaks from leakmon itself: a real daemon finds three leaks and repeats none of their values.

A `leakmon run` process (DEBUG logging) watches a stand-in portal serving three
synthetic leak files: the CCW-like applicant list (names, birth dates, street
addresses, phones, e-mails), incident notes with SSNs in free text, and call
notes naming people with their phone numbers. Once every file is paged, the test
searches everything leakmon wrote or sent: every cell of every table of the
store (a full SQL dump), the daemon's stdout and stderr, ``/metrics``, and every
webhook request (headers and body). No raw value may appear; masked evidence
(``J*** S****``, ``***-**-6789``) is what should.

Needles, and why these: values that identify a person and cannot turn up by
chance in a log line, a URL or a hash.

- full e-mail addresses, also lower-cased;
- full street addresses (``1234 Oak Street``);
- birth dates as written (ISO), bounded by non-digits;
- phones as written and digits only, bounded by non-digits;
- SSNs as written and digits only, bounded by non-digits;
- full names (``First Last``), and last names of 6 letters or more as whole,
  case-sensitive words (short names like ``Hill`` or ``May`` are ordinary words).

Left out on purpose: city, ZIP code, county and licence type (public geography
and categories that also appear in the portal's own text), and first names or
last names alone when shorter than 6 letters.
"""

from __future__ import annotations

import csv
import re
import sqlite3
import time
from typing import TYPE_CHECKING

import pytest

from monitor.standin import Portal
from tests import synthetic
from tests.evidence import raw_values_in
from tests.faults.harness import Daemon, HoldingReceiver, engine_for, outbox_deliveries, wait_until

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NAMED = re.compile(r"Spoke with (\S+) (\S+) at (.+?) about the report")


def _digits(value: str) -> str:
    return re.sub(r"\D", "", value)


def _needles(ccw: Path, incidents: Path, calls: Path) -> dict[str, re.Pattern[str]]:
    """Return each raw value (and its normalised forms) with the pattern that finds it."""
    out: dict[str, re.Pattern[str]] = {}

    def text(value: str, ignore_case: bool = False) -> None:
        out[value] = re.compile(re.escape(value), re.IGNORECASE if ignore_case else 0)

    def bounded(value: str) -> None:
        out[value] = re.compile(rf"(?<!\d){re.escape(value)}(?!\d)")

    def word(value: str) -> None:
        out[value] = re.compile(rf"\b{re.escape(value)}\b")

    def name(first: str, last: str) -> None:
        text(f"{first} {last}")
        if len(last) >= 6:
            word(last)

    with ccw.open(newline="") as fh:
        for row in csv.DictReader(fh):
            name(row["first_name"], row["last_name"])
            text(row["email"], ignore_case=True)
            text(row["street"])
            bounded(row["date_of_birth"])
            bounded(row["phone"])
            bounded(_digits(row["phone"]))
    for ssn in _SSN.findall(incidents.read_text()):
        bounded(ssn)
        bounded(_digits(ssn))
    for first, last, phone in _NAMED.findall(calls.read_text()):
        name(first, last)
        bounded(phone)
        bounded(_digits(phone))
    return out


def _store_dump(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Portal, HoldingReceiver]]:
    portal, receiver = Portal().start(), HoldingReceiver().start()
    yield portal, receiver
    receiver.stop()
    portal.stop()


def test_no_raw_value_reaches_the_store_logs_metrics_or_webhooks(
    tmp_path: Path, world: tuple[Portal, HoldingReceiver]
) -> None:
    portal, receiver = world
    files = tmp_path / "files"
    ccw = synthetic.ccw_applicants_csv(files, rows=300)
    incidents, _ = synthetic.ssn_needles_csv(files, rows=2000, needles=5)
    calls = synthetic.notes_with_names_and_phones_csv(files, rows=500)
    for path in (ccw, incidents, calls):
        portal.publish(path.name, path.read_bytes())
    needles = _needles(ccw, incidents, calls)
    assert len(needles) > 1500

    db = tmp_path / "state.db"
    storage = f"sqlite:///{db}"
    daemon = Daemon(
        tmp_path, storage=storage, portal_url=portal.url, receiver_url=receiver.url, verbose=True
    )
    engine = engine_for(storage)
    try:
        daemon.start().wait_ready()

        def paged() -> bool:
            urls = {p.json()["resource_url"] for p in receiver.posts}
            done = outbox_deliveries(engine)
            return len(urls) == 3 and bool(done) and all(done.values())

        assert wait_until(paged, 60), daemon.logs()[-3000:]
        time.sleep(2.5)  # a re-poll too: conditional GETs, unchanged files, DEBUG lines
        metrics = daemon.metrics()
    finally:
        daemon.stop()
        engine.dispose()

    haystacks = {
        "store": _store_dump(db),
        "logs": daemon.logs(),
        "metrics": metrics,
        "webhooks": "\n".join(
            "\n".join(f"{k}: {v}" for k, v in p.headers.items()) + "\n" + p.body.decode()
            for p in receiver.posts
        ),
    }
    # The haystacks are the real thing: DEBUG lines, findings, masked evidence.
    assert "DEBUG" in haystacks["logs"]
    assert "leakmon_findings_total" in haystacks["metrics"]
    evidence = "***-**-"
    assert evidence in haystacks["webhooks"]
    assert evidence in haystacks["store"]
    assert re.search(r"[A-Z]\*+ [A-Z]\*+", haystacks["webhooks"])

    leaked = {
        where: sorted(value for value, pattern in needles.items() if pattern.search(text))
        for where, text in haystacks.items()
    }
    assert leaked == {where: [] for where in haystacks}
    # Nothing of the downloads is left behind in the daemon's temp folder either (its own
    # spool folder, monitor.spool, stays until it stops; it must hold no file).
    assert not [p for p in daemon.spool.rglob("leakmon-*") if p.is_file()]


def _cli(*args: str, env: dict[str, str] | None = None) -> str:
    import os
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_no_canary_from_file_structure_reaches_any_sink(tmp_path: Path) -> None:
    """Names of columns, tables, members, keys, drift columns and errors: every sink, every value.

    Canary people stand where readers make identifiers of them (``tests/structures.py``).
    A real daemon with a webhook, Slack and PagerDuty receiver pages them; then the
    drift file changes to a version whose header row is a record. The whole store, the
    logs, ``/metrics``, every notifier body, ``leakmon findings`` (text and JSON) and
    ``leakmon scan`` (text and JSON) must hold none of the canary values.
    """
    from tests.structures import write_structures

    structures = write_structures(tmp_path / "files")
    portal = Portal().start()
    receivers = {name: HoldingReceiver().start() for name in ("hook", "slack", "pd")}
    for name, path in structures.files.items():
        portal.publish(name, path.read_bytes(), media_type="application/octet-stream")
    db = tmp_path / "state.db"
    storage = f"sqlite:///{db}"
    notify = [
        {"name": "hook", "kind": "webhook", "url": receivers["hook"].url},
        {"name": "slack", "kind": "slack", "url": receivers["slack"].url},
        {
            "name": "pd",
            "kind": "pagerduty",
            "routing_key": "R0UT1NGKEY0000000000000000000000",
            "url": receivers["pd"].url,
        },
    ]
    for n in notify:
        n.update({"min_severity": "low", "timeout": 10})
    daemon = Daemon(tmp_path, storage=storage, portal_url=portal.url, notify=notify, verbose=True)
    engine = engine_for(storage)
    try:
        daemon.start().wait_ready()

        def paged(names: set[str]) -> bool:
            posts = receivers["hook"].posts
            urls = {p.json()["resource_url"].rsplit("/", 1)[-1] for p in posts}
            return names <= urls and all(r.posts for r in receivers.values())

        wanted = set(structures.files) - {"drift.csv"}  # a clean file pages nothing yet
        assert wait_until(lambda: paged(wanted), 90), (
            [p.json()["resource_url"] for p in receivers["hook"].posts],
            daemon.logs()[-4000:],
        )
        assert structures.drift_v2 is not None
        before = len(receivers["hook"].posts)
        portal.publish("drift.csv", structures.drift_v2.read_bytes())

        def drifted() -> bool:
            return any("SCHEMA_DRIFT" in p.body.decode() for p in receivers["hook"].posts[before:])

        assert wait_until(drifted, 60), daemon.logs()[-4000:]
        assert wait_until(lambda: all(outbox_deliveries(engine).values()), 30)
        metrics = daemon.metrics()
    finally:
        daemon.stop()
        engine.dispose()
        for r in receivers.values():
            r.stop()
        portal.stop()

    files = [str(p) for p in [*structures.files.values(), structures.drift_v2]]
    haystacks = {
        "store": _store_dump(db),
        "logs": daemon.logs(),
        "metrics": metrics,
        **{
            f"{name} bodies": "\n".join(p.body.decode() for p in r.posts)
            for name, r in receivers.items()
        },
        "findings (text)": _cli("findings", "--config", str(daemon.config)),
        "findings (json)": _cli("findings", "--config", str(daemon.config), "--format", "json"),
        "scan (text)": _cli("scan", *files),
        "scan (json)": _cli("scan", "--format", "json", *files),
    }
    # The haystacks are the real thing: structure findings, position names, masked errors.
    assert "column 1" in haystacks["store"]
    assert "member 1" in haystacks["store"]
    assert "SCHEMA_DRIFT" in haystacks["hook bodies"]
    assert "looks like personal data" in haystacks["store"]  # deep.json's error, masked
    assert "PERSON" in haystacks["findings (json)"]
    assert "deep.json" in haystacks["scan (json)"]

    leaked = {where: raw_values_in(structures.canaries, text) for where, text in haystacks.items()}
    assert leaked == {where: [] for where in haystacks}
