"""Three real replicas share a stand-in portal of 500 files; one is killed mid-run.

One shared PostgreSQL database (fresh) and one Redis key prefix (fresh). The
replica killed is one that holds downloads at that moment and is not the leader,
so the page count can be exact; ``test_leader_failover`` kills the leader.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING

import pytest

from tests import synthetic
from tests.cluster.harness import Cluster

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tests.cluster.harness import Replica

pytestmark = pytest.mark.postgres

CLEAN, LEAKS = 495, 5
FILES = CLEAN + LEAKS
EVERY = 10.0
LEASE = 4.0


def _gauge(text: str, name: str) -> float:
    found = re.search(rf"^{name}(?:\{{[^}}]*\}})? (\S+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def _counter(text: str, name: str, outcome: str) -> float:
    found = re.search(rf'^{name}\{{outcome="{outcome}"\}} (\S+)$', text, re.M)
    return float(found.group(1)) if found else 0.0


def _wait(what: str, timeout: float, check: object, world: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.5)
    logs = "\n".join(f"== {r.name}\n{r.log()}" for r in world.replicas.values())
    pytest.fail(f"{what} not within {timeout} s\n{logs}")


@pytest.fixture(scope="module")
def world(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp: Path = tmp_path_factory.mktemp("cluster")
    cluster = Cluster(tmp, every=EVERY, lease=LEASE)
    try:
        cluster.publish_files(clean=CLEAN, leaks=LEAKS)
        for name in ("r1", "r2", "r3"):
            cluster.start(name)
        cluster.wait_ready()
        yield cluster
    finally:
        cluster.close()


def _scanned(world: Cluster) -> int:
    # A file's validators are its last write (after scan and findings): count those.
    return int(world.sql("SELECT count(*) FROM resources WHERE sha256 IS NOT NULL")[0][0])


def _victim(world: Cluster) -> Replica:
    """Return a replica that is not the leader and holds downloads right now."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for replica in world.replicas.values():
            metrics = replica.metrics()
            if (
                _gauge(metrics, "leakmon_cluster_leader") == 0
                and _gauge(metrics, "leakmon_frontier_inflight") >= 1
            ):
                return replica
        time.sleep(0.05)
    pytest.fail("no follower replica was holding downloads")


def test_replicas_share_the_work_and_survive_one_killed(world: Cluster) -> None:
    _wait("a first share of the files scanned", 120, lambda: _scanned(world) >= 100, world)
    victim = _victim(world)
    victim.kill()
    killed_at, killed_wall = time.monotonic(), dt.datetime.now(dt.UTC)
    survivors = [r for r in world.replicas.values() if r is not victim]
    _wait("all 500 files scanned", 300, lambda: _scanned(world) >= FILES, world)

    # Every file was fetched in full; only what the killed replica held went twice.
    gets = world.full_gets()
    assert len(gets) == FILES
    again = sum(n - 1 for n in gets.values())
    # What one replica may hold: 16 downloads (4 ahead of each of the 4 on the wire) and,
    # once its scans fill up, those files, with one more taken while a scan slot was free.
    held = 4 * 4 + 2 - 1
    assert again <= held, f"{again} files fetched twice"

    # Its work was picked up: the survivors took over what it had not acknowledged.
    reclaimed = sum(
        _counter(r.metrics(), "leakmon_frontier_jobs_total", "reclaimed") for r in survivors
    )
    assert reclaimed >= 1
    assert all(r.alive() for r in survivors)
    # Every survivor did a share of the scans.
    for replica in survivors:
        assert re.search(r"^leakmon_scans_total\{[^}]*\} ([1-9]\d*)", replica.metrics(), re.M)

    # No duplicate rows: one resource per file, each scanned body recorded once.
    (resources,) = world.sql("SELECT count(*) FROM resources")[0]
    assert resources == FILES
    assert world.sql("SELECT count(*) FROM resources WHERE sha256 IS NULL")[0][0] == 0
    twice = world.sql(
        "SELECT resource_id FROM scans GROUP BY resource_id, sha256 HAVING count(*) > 1"
    )
    assert len(twice) <= held
    assert (
        world.sql(
            "SELECT finding_id FROM finding_events WHERE event = 'opened' GROUP BY finding_id"
            " HAVING count(*) > 1"
        )
        == []
    )

    # Every leak paged once: one "opened" post per leaking file (its incident).
    paged = world.sql("SELECT count(*) FROM outbox WHERE notifier = 'hook'")[0][0]
    _wait("every page delivered", 60, lambda: len(world.receiver.posts) >= paged, world)
    time.sleep(2)
    keys = [p.json()["key"] for p in world.receiver.posts]
    assert len(keys) == len(set(keys)) == paged
    leaking = {p.json()["resource_url"].rsplit("/", 1)[1] for p in world.receiver.posts}
    assert leaking == {f"permits_{n:03d}.csv" for n in range(LEAKS)}

    # Polling goes on without the dead replica, within two intervals of the kill.
    def polled_since_kill() -> bool:
        (last,) = world.sql("SELECT max(started_at) FROM polls")[0]
        return bool(last and last > killed_wall)

    _wait(
        "a poll after the kill",
        max(0.0, 2 * EVERY - (time.monotonic() - killed_at)) + 1,
        polled_since_kill,
        world,
    )


def test_leader_failover_keeps_paging(world: Cluster) -> None:
    leader = next(
        r
        for r in world.replicas.values()
        if r.alive() and _gauge(r.metrics(), "leakmon_cluster_leader") == 1
    )
    before = len(world.receiver.posts)
    leader.kill()
    others = [r for r in world.replicas.values() if r.alive()]
    _wait(
        "a new leader",
        15,
        lambda: sum(_gauge(r.metrics(), "leakmon_cluster_leader") for r in others) == 1,
        world,
    )
    body = synthetic.ccw_applicants_csv(world.tmp / "late", rows=40, seed=99).read_bytes()
    published = time.monotonic()
    world.portal.publish("permits_late.csv", body)
    _wait(
        "the late leak paged",
        2 * EVERY + 15,
        lambda: any(
            p.json()["resource_url"].endswith("permits_late.csv")
            for p in world.receiver.posts[before:]
        ),
        world,
    )
    first = next(
        p
        for p in world.receiver.posts[before:]
        if p.json()["resource_url"].endswith("permits_late.csv")
    )
    assert first.received_at - published <= 2 * EVERY + 15
