"""A real daemon against a hostile portal for a long while: no crash, no lost leak, no raw value.

Run on purpose (``-m fuzz``); ``LEAKMON_FUZZ_MINUTES`` sets how long (30 by
default). Every round (about 20 s) the stand-in portal on 127.0.0.1 changes:
its index page carries randomly chosen hostile links (unclosed IPv6 brackets,
ports out of range or not numbers, user-info, control characters, lone
surrogates, other ports of the portal's host, a broken ``<base href>``, very
long URLs) around a new synthetic leak file, plus files whose structure carries
people (``tests/structures.py``), JSON with lone surrogates and invalid UTF-8,
a truncated ZIP and binary garbage. At the end: the daemon never died, every
leak file of every round was paged, every index page was answered (none
lost to a middleware that raised on it), and no canary value (people of the leak
files and of the structure files) appears in the store, the logs, ``/metrics``
or any webhook body. The figures are printed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
import sqlite3
import time
from pathlib import Path

import pytest

from tests.crawl.portal import Portal, Resource, page
from tests.faults.harness import Daemon, HoldingReceiver, wait_until
from tests.fuzz.canaries import CanarySet
from tests.structures import write_structures
from tests.synthetic import _People

ROUND_S = 20.0
MINUTES = float(os.environ.get("LEAKMON_FUZZ_MINUTES", "30"))


def _rss_mib(pid: int) -> tuple[float, float]:
    """Return (VmRSS, VmHWM) of one process in MiB; zeros once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0, 0.0
    kib = dict(re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", status, re.M))
    return int(kib.get("VmRSS", 0)) / 1024, int(kib.get("VmHWM", 0)) / 1024


def _workers_rss_mib(group: int) -> float:
    """Return the summed VmRSS of the daemon's process group but the daemon itself, in MiB."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        if int(fields[2]) == group and pid != group:  # fields[2]: the process group
            total += _rss_mib(pid)[0]
    return total


def _leak(seed: int, canaries: set[str]) -> bytes:
    people = _People(seed)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["name", "date_of_birth", "email", "phone"])
    for _ in range(40):
        p = people.person()
        canaries.update({f"{p.first} {p.last}", p.email, p.phone, p.dob.isoformat()})
        writer.writerow([f"{p.first} {p.last}", p.dob.isoformat(), p.email, p.phone])
    return buf.getvalue().encode()


def _hostile_links(rng: random.Random, port: int) -> list[str]:
    choices = [
        "http://[2001:db8::1/x.csv",
        "http://127.0.0.1:99999/port.csv",
        "http://127.0.0.1:8o/letter.csv",
        f"http://anonymous@127.0.0.1:{port}/data/missing.csv",
        f"http://127.0.0.1:{port + 1}/other-port.csv",
        "http://127.0.0.1:5432/",
        "http://169.254.169.254/latest/meta-data/",
        "javascript:alert(1)",
        "data.csv\x1b[2J\u202e.csv",
        "/data/%ED%A0%BD.csv",  # a lone surrogate, percent-encoded
        "http://exa mple.gov/space.csv",
        "/" + "a" * 5000 + ".csv",
        "ftp://127.0.0.1/x.csv",
        "mailto:x@example.org",
    ]
    return rng.sample(choices, rng.randint(3, len(choices)))


def _round_files(rng: random.Random, i: int) -> dict[str, Resource]:
    files: dict[str, Resource] = {}
    json_bad = json.dumps([{"name": "x", "note": "LONE"}] * 20).replace("LONE", "\\ud83d")
    files[f"/data/surrogate-{i}.json"] = Resource(json_bad.encode(), "application/json")
    files[f"/data/latin-{i}.json"] = Resource(b'[{"name": "Jos\xe9"}]', "application/json")
    files[f"/data/garbage-{i}.csv"] = Resource(rng.randbytes(4096), "text/csv")
    files[f"/data/truncated-{i}.zip"] = Resource(
        b"PK\x03\x04" + rng.randbytes(200), "application/zip"
    )
    return files


@pytest.mark.fuzz
@pytest.mark.timeout(MINUTES * 60 + 600)  # the run, then the pages and the checks
def test_the_daemon_against_hostile_portals(tmp_path: Path) -> None:
    minutes = MINUTES
    rng = random.Random(16)
    canaries: set[str] = set()
    portal = Portal().start()
    receiver = HoldingReceiver().start()
    db = tmp_path / "state.db"
    daemon = Daemon(
        tmp_path, storage=f"sqlite:///{db}", portal_url=portal.url, receiver_url=receiver.url
    )
    port = int(portal.url.rsplit(":", 1)[1].strip("/"))
    leaks: list[str] = []
    published = rounds = hostile = 0
    daemon_peak = workers_peak = 0.0
    started = time.monotonic()
    try:
        daemon.start().wait_ready()
        assert daemon.proc is not None
        pid = daemon.proc.pid
        rss_at_start = _rss_mib(pid)[0]
        while time.monotonic() - started < minutes * 60:
            rounds += 1
            structures = write_structures(tmp_path / f"s{rounds}", seed=100 + rounds)
            canaries |= structures.canaries
            # Every leak so far stays linked: a leak still published must be paged.
            links = [f"/data/{name}" for name in leaks] + [f"/data/leak-{rounds}.csv"]
            portal.set(f"/data/leak-{rounds}.csv", Resource(_leak(rounds, canaries), "text/csv"))
            leaks.append(f"leak-{rounds}.csv")
            for name, path in structures.files.items():
                target = f"/data/r{rounds}-{name}"
                portal.set(target, Resource(path.read_bytes(), "application/octet-stream"))
                links.append(target)
            for target, resource in _round_files(rng, rounds).items():
                portal.set(target, resource)
                links.append(target)
            published += len(links) - len(leaks) + 1
            bad = _hostile_links(rng, port)
            hostile += len(bad)
            links += bad
            rng.shuffle(links)
            extra = '<base href="http://[broken/">' if rng.random() < 0.3 else ""
            portal.set("/", page(f"Round {rounds}", *links, extra=extra))
            deadline = time.monotonic() + ROUND_S
            while time.monotonic() < deadline:
                # A return code of -9 with nothing in the log: see the kernel log (OOM killer).
                assert daemon.alive(), f"exit {daemon.proc.returncode}: {daemon.logs()[-4000:]}"
                workers_peak = max(workers_peak, _workers_rss_mib(pid))
                time.sleep(1)

        def paged() -> set[str]:
            return {p.json()["resource_url"].rsplit("/", 1)[-1] for p in receiver.posts}

        wait_until(lambda: set(leaks) <= paged(), 120)
        assert daemon.alive()
        metrics = daemon.metrics()
        rss_at_end, daemon_peak = _rss_mib(pid)
    finally:
        daemon.stop()
        receiver.stop()
        portal.stop()
    missing = sorted(set(leaks) - paged())
    if missing:
        print(daemon.logs()[-20000:])
    conn = sqlite3.connect(db)
    try:
        store = "\n".join(conn.iterdump())
    finally:
        conn.close()
    # A page request that never got an answer or a failure (a middleware raised on
    # it): every link of that round's index was lost. The index is the only page.
    unread = sum(
        "poll INCOMPLETE" in line and "no answer came" in line
        for line in daemon.logs().splitlines()
    )
    haystacks = {
        "store": store,
        "logs": daemon.logs(),
        "metrics": metrics,
        "webhooks": "\n".join(p.body.decode() for p in receiver.posts),
    }
    searched = time.monotonic()
    search = CanarySet(canaries)
    leaked = {where: search.found_in(text) for where, text in haystacks.items()}
    searched = time.monotonic() - searched
    print(
        f"\nhostile portals: {minutes:g} min, {rounds} rounds (index pages), {published} files"
        f" published, {hostile} hostile links, {len(leaks)} leak files,"
        f" {len(leaks) - len(missing)} paged, {len(receiver.posts)} webhook posts,"
        f" {len(portal.hits)} requests to the portal; daemon RSS {rss_at_start:.0f} MiB after"
        f" start, {rss_at_end:.0f} MiB at the end, peak {daemon_peak:.0f} MiB; scan workers'"
        f" summed RSS peak {workers_peak:.0f} MiB; {len(canaries)} canary values searched in"
        f" {sum(map(len, haystacks.values())):,} characters in {searched:.1f} s;"
        f" leaked: {sum(map(len, leaked.values()))} ({ {w: len(v) for w, v in leaked.items()} });"
        f" polls whose index page got no answer: {unread}"
    )
    assert missing == []
    assert unread == 0
    assert leaked == {where: [] for where in haystacks}
