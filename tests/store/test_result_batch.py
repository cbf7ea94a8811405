"""Group commit of scan results: waiting results share a transaction, and none is lost."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING

import pytest

from monitor.errors import StoreBusy, StoreError
from monitor.store import ResultBatch, ScanResult
from tests.store.fakes import TARGET, FakeRouter, minutes

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from monitor.models import Alert, Finding, TableSchema
    from monitor.store.records import Router

BASE = "https://data.example.gov/files/"


def _result(name: str) -> ScanResult:
    return ScanResult(
        target=TARGET,
        url=BASE + name,
        sha256="ab" * 32,
        report_kind="csv",
        rows=1,
        tables=1,
        error=None,
        seconds=0.01,
        at=minutes(1),
    )


class _Store:
    """Records each transaction's URLs; the first one can be held open, any can fail."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.hold = threading.Event()
        self.hold.set()
        self.entered = threading.Event()
        self.fail: Callable[[list[str]], BaseException | None] = lambda urls: None

    def record_results(
        self,
        results: Sequence[tuple[ScanResult, Router]],
        drift: Callable[[str, TableSchema, TableSchema], Finding | None],
    ) -> list[list[Alert]]:
        urls = [r.url for r, _ in results]
        self.entered.set()
        self.hold.wait(10)
        error = self.fail(urls)
        if error is not None:
            raise error
        self.batches.append(urls)
        return [[] for _ in results]


def _writers(
    batch: ResultBatch, names: list[str]
) -> tuple[list[threading.Thread], dict[str, object]]:
    """Start one thread per result (as scan threads do); each stores what write() gave it."""
    outcomes: dict[str, object] = {}

    def write(name: str) -> None:
        try:
            outcomes[name] = batch.write(_result(name), FakeRouter())
        except StoreError as exc:
            outcomes[name] = exc

    threads = [threading.Thread(target=write, args=(n,)) for n in names]
    for t in threads:
        t.start()
    return threads, outcomes


def _join(threads: list[threading.Thread]) -> None:
    for t in threads:
        t.join(10)
        assert not t.is_alive()


def _drift(url: str, baseline: TableSchema, schema: TableSchema) -> Finding | None:
    return None


def test_results_that_wait_together_are_written_in_one_transaction() -> None:
    store = _Store()
    batch = ResultBatch(store, _drift)  # type: ignore[arg-type]
    store.hold.clear()
    first, _ = _writers(batch, ["a.csv"])
    assert store.entered.wait(5)  # the store thread is inside the first transaction
    rest, outcomes = _writers(batch, ["b.csv", "c.csv", "d.csv"])
    time.sleep(0.2)  # all three are queued behind it
    store.hold.set()
    _join(first + rest)

    assert [sorted(b) for b in store.batches] == [
        [BASE + "a.csv"],
        [BASE + n for n in ("b.csv", "c.csv", "d.csv")],
    ]
    assert outcomes == {"b.csv": [], "c.csv": [], "d.csv": []}
    assert (batch.batches, batch.written) == (2, 4)


def test_a_transaction_holds_at_most_limit_results() -> None:
    store = _Store()
    batch = ResultBatch(store, _drift, limit=2)  # type: ignore[arg-type]
    store.hold.clear()
    first, _ = _writers(batch, ["a.csv"])
    assert store.entered.wait(5)
    rest, _ = _writers(batch, ["b.csv", "c.csv", "d.csv"])
    time.sleep(0.2)
    store.hold.set()
    _join(first + rest)

    assert [len(b) for b in store.batches] == [1, 2, 1]


def test_a_busy_store_fails_every_waiting_result_so_each_is_tried_again() -> None:
    store = _Store()
    batch = ResultBatch(store, _drift)  # type: ignore[arg-type]
    store.fail = lambda urls: StoreBusy("database is locked")
    store.hold.clear()
    first, outcomes = _writers(batch, ["a.csv"])
    assert store.entered.wait(5)
    rest, more = _writers(batch, ["b.csv", "c.csv"])
    time.sleep(0.2)
    store.hold.set()
    _join(first + rest)

    outcomes |= more
    assert all(isinstance(o, StoreBusy) for o in outcomes.values()), outcomes
    assert store.batches == []  # nothing written: none was reported written either

    # The store takes writes again: each retried result goes in.
    store.fail = lambda urls: None
    again, retried = _writers(batch, ["a.csv", "b.csv", "c.csv"])
    _join(again)
    assert retried == {"a.csv": [], "b.csv": [], "c.csv": []}
    assert sorted(u for b in store.batches for u in b) == [
        BASE + n for n in ("a.csv", "b.csv", "c.csv")
    ]


def test_a_result_that_cannot_be_written_fails_alone() -> None:
    store = _Store()
    batch = ResultBatch(store, _drift)  # type: ignore[arg-type]
    bad = BASE + "bad.csv"
    store.fail = lambda urls: StoreError("unknown resource") if bad in urls else None
    store.hold.clear()
    first, outcomes = _writers(batch, ["a.csv"])
    assert store.entered.wait(5)
    rest, more = _writers(batch, ["b.csv", "bad.csv", "c.csv"])
    time.sleep(0.2)
    store.hold.set()
    _join(first + rest)

    outcomes |= more
    assert isinstance(outcomes.pop("bad.csv"), StoreError)
    assert outcomes == {"a.csv": [], "b.csv": [], "c.csv": []}
    assert sorted(u for b in store.batches for u in b) == [
        BASE + n for n in ("a.csv", "b.csv", "c.csv")
    ]


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ValueError("bad value")])
def test_an_unexpected_error_reaches_the_caller_and_the_store_thread_goes_on(
    error: Exception,
) -> None:
    store = _Store()
    batch = ResultBatch(store, _drift)  # type: ignore[arg-type]
    store.fail = lambda urls: error if BASE + "a.csv" in urls else None

    with pytest.raises(type(error)):
        batch.write(_result("a.csv"), FakeRouter())
    assert batch.write(_result("b.csv"), FakeRouter()) == []
