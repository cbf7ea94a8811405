from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from monitor.models import Severity
from tests.store.fakes import TARGET, URL, FakeRouter, finding, minutes

if TYPE_CHECKING:
    from monitor.store import Store

THREADS = 8
ROUNDS = 10


def test_parallel_workers_on_different_files_lose_nothing(store: Store) -> None:
    router = FakeRouter()

    def work(worker: int) -> int:
        alerts = 0
        for n in range(ROUNDS):
            url = f"{URL}?worker={worker}&n={n}"
            at = minutes(n)
            store.touch_resource(TARGET, url, seen_at=at)
            store.record_scan(
                url,
                sha256="a" * 64,
                report_kind="csv",
                rows=1,
                tables=1,
                error=None,
                seconds=0.1,
                at=at,
            )
            alerts += len(store.apply_findings(TARGET, url, [finding()], at, router))
            store.record_fetch(url, etag=None, last_modified=None, sha256="a" * 64, size=1, at=at)
        return alerts

    with ThreadPoolExecutor(THREADS) as pool:
        opened = sum(pool.map(work, range(THREADS)))

    assert opened == THREADS * ROUNDS
    assert len(store.resources()) == THREADS * ROUNDS
    assert store.open_counts() == {(TARGET, Severity.HIGH): THREADS * ROUNDS}
    assert store.outbox_depth() == THREADS * ROUNDS


def test_parallel_scans_of_one_file_open_its_finding_once(store: Store) -> None:
    router = FakeRouter()

    def work(n: int) -> list[tuple[str, int]]:
        alerts = store.apply_findings(TARGET, URL, [finding(matched=n + 1)], minutes(n), router)
        return [(a.event, a.sequence) for a in alerts]

    with ThreadPoolExecutor(THREADS) as pool:
        results = [a for batch in pool.map(work, range(THREADS * 2)) for a in batch]

    assert results == [("opened", 1)]
    [record] = store.findings()
    assert len(store.finding_events(record.key)) == 1
    assert store.outbox_depth() == 1


def test_parallel_failures_of_one_row_count_every_attempt(store: Store) -> None:
    store.apply_findings(TARGET, URL, [finding()], minutes(0), FakeRouter())
    [item] = store.due(minutes(0))

    def fail(n: int) -> None:
        store.failed(item.id, minutes(1), f"attempt {n}", next_attempt_at=minutes(2))

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(fail, range(THREADS * 5)))

    [retry] = store.due(minutes(2))
    assert retry.attempts == THREADS * 5


def test_readers_run_beside_writers(store: Store) -> None:
    router = FakeRouter()

    def write(n: int) -> None:
        store.apply_findings(TARGET, f"{URL}?n={n}", [finding()], minutes(n), router)

    def read(_: int) -> int:
        return len(store.findings()) + store.outbox_depth() + len(store.due(minutes(60)))

    with ThreadPoolExecutor(THREADS) as pool:
        writes = [pool.submit(write, n) for n in range(40)]
        reads = [pool.submit(read, n) for n in range(40)]
        for future in writes + reads:
            future.result()

    assert len(store.findings(open_only=True)) == 40
