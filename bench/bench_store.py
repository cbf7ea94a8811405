"""Store micro-benchmarks at N watched files (issue 18): a poll's bookkeeping and a restart's load.

Measured side by side in one run, on SQLite (a file in a temporary folder) and on
the real PostgreSQL (``LEAKMON_TEST_POSTGRES`` or postgres@127.0.0.1:5432/test; a
throw-away database, dropped at the end):

- touch of N unchanged files after a poll: the old path (one transaction, an
  ``INSERT ... ON CONFLICT`` plus a ``SELECT`` and an ORM object per file, kept here
  only to compare) against ``Store.touch_resources`` (one ``UPDATE ... WHERE url IN``
  per 1,000 files, each its own transaction); for the new path the longest single
  transaction too, which is how long a scan result can wait for SQLite's write lock;
- gone detection after a complete poll: ``Store.resources`` (a record per file, the
  old way) against ``Store.unlinked`` (URL-only, streamed);
- restart: the old per-URL ``Store.resource`` lookups (timed on a sample of
  ``--sample`` URLs and extrapolated to N, printed as such) against the daemon's bulk
  load (``Daemon._load_validators``: one streamed SELECT per target); and the memory
  the loaded validators take per file, measured with tracemalloc.

Usage::

    .venv/bin/python bench/bench_store.py              # N = 100,000, both databases
    .venv/bin/python bench/bench_store.py -n 10000 --no-postgres
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from monitor.config import Settings
from monitor.daemon import Daemon
from monitor.metrics import Metrics
from monitor.models import utcnow
from monitor.store import Store
from monitor.store import resources as _resources

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterator

TARGET = "bench-portal"
BASE = "https://data.example.gov/datasets/"
LAST_MODIFIED = "Sun, 01 Nov 2026 12:00:00 GMT"
ADMIN_URL = os.environ.get(
    "LEAKMON_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _urls(n: int) -> list[str]:
    # About the length of a real portal's download URL (80-90 characters).
    return [f"{BASE}dataset-{i:06d}/resource/{i:08x}/download/file-{i:06d}.csv" for i in range(n)]


def _old_touch(store: Store, target: str, urls: list[str], seen_at: dt.datetime) -> None:
    """The touch as it was before issue 18: one transaction, one upsert + SELECT per file."""
    with store._session(write=True) as s:
        for url in urls:
            _resources.touch_resource(s, target, url, seen_at=seen_at, portal=None, dataset=None)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _longest_batch(store: Store, urls: list[str]) -> tuple[float, float]:
    """Return (total, longest transaction) seconds of the batched touch."""
    longest = 0.0
    started = time.perf_counter()
    for i in range(0, len(urls), 1000):
        t = time.perf_counter()
        store.touch_resources(TARGET, urls[i : i + 1000], seen_at=utcnow())
        longest = max(longest, time.perf_counter() - t)
    return time.perf_counter() - started, longest


_SET_VALIDATORS = {
    "sqlite": "UPDATE resources SET sha256 = printf('%064x', id), "
    "etag = printf('\"%08x\"', id), last_modified = :lm",
    "postgresql": "UPDATE resources SET sha256 = lpad(to_hex(id), 64, '0'), "
    "etag = '\"' || to_hex(id) || '\"', last_modified = :lm",
}


def _set_validators(store: Store, backend: str) -> None:
    """Give every stored file validators in one statement (as if each had been fetched)."""
    with store._session(write=True) as s:
        s.execute(text(_SET_VALIDATORS[backend]), {"lm": LAST_MODIFIED})


def _daemon(url: str) -> Daemon:
    settings = Settings.model_validate(
        {
            "storage": url,
            "http": {"listen": "127.0.0.1:0"},
            "targets": [{"name": TARGET, "start_urls": ["http://127.0.0.1:9/"]}],
        }
    )
    return Daemon(settings, Metrics(registry=CollectorRegistry()))


def bench(url: str, backend: str, n: int, sample: int) -> dict[str, float]:
    """Run every measurement on one empty database; return the figures."""
    out: dict[str, float] = {}
    store = Store(url)
    store.migrate()
    urls = _urls(n)
    out["insert_new"] = _timed(lambda: store.touch_resources(TARGET, urls, seen_at=utcnow()))
    out["touch_old"] = _timed(lambda: _old_touch(store, TARGET, urls, utcnow()))
    out["touch_new"], out["touch_new_longest_txn"] = _longest_batch(store, urls)
    seen = set(urls[: n - 10])
    out["gone_old_list_resources"] = _timed(
        lambda: [s.url for s in store.resources(TARGET) if s.url not in seen]
    )
    out["gone_new_unlinked"] = _timed(lambda: store.unlinked(TARGET, seen))
    _set_validators(store, backend)
    step = max(1, n // sample)
    picked = urls[::step][:sample]
    per_url = _timed(lambda: [store.resource(u) for u in picked]) / len(picked)
    out["restart_old_per_url_extrapolated"] = per_url * n
    store.close()

    daemon = _daemon(url)
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        started = time.perf_counter()
        daemon._loading = True
        daemon._load_validators()
        out["restart_new_bulk_load_traced"] = time.perf_counter() - started
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        loaded = len(daemon._validators)
        assert loaded == n, f"loaded {loaded} of {n}"
        out["validator_bytes_per_file"] = (after - before) / n
        daemon._validators.clear()
        daemon._loaded.clear()
        started = time.perf_counter()
        daemon._load_validators()  # without tracemalloc's overhead
        out["restart_new_bulk_load"] = time.perf_counter() - started
    finally:
        daemon.health.stop()
        daemon.pool.shutdown(wait=False)
        daemon.store.close()
    return out


def _sqlite() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as folder:
        yield f"sqlite:///{Path(folder) / 'state.db'}"


def _postgres() -> Iterator[str]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"leakmon_bench_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


_ROWS = [
    ("insert_new", "first sight of N files (batched insert)"),
    ("touch_old", "touch N unchanged files: OLD (1 txn, upsert+SELECT per file)"),
    ("touch_new", "touch N unchanged files: NEW (UPDATE ... IN, 1,000 per txn)"),
    ("touch_new_longest_txn", "  NEW: longest single transaction"),
    ("gone_old_list_resources", "gone detection: OLD (list_resources, a record per file)"),
    ("gone_new_unlinked", "gone detection: NEW (unlinked, URL-only stream)"),
    ("restart_old_per_url_extrapolated", "restart: OLD per-URL lookups (EXTRAPOLATED)"),
    ("restart_new_bulk_load", "restart: NEW bulk validator load"),
    ("restart_new_bulk_load_traced", "  NEW bulk load under tracemalloc"),
    ("validator_bytes_per_file", "validators in memory, bytes per file (tracemalloc)"),
]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=100_000, help="watched files (default 100000)")
    parser.add_argument("--sample", type=int, default=5000, help="per-URL lookups timed")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} cpu(s)")
    print(f"load average at start: {os.getloadavg()}")
    results: dict[str, dict[str, float]] = {}
    backends: list[tuple[str, Callable[[], Iterator[str]]]] = [("sqlite", _sqlite)]
    if not args.no_postgres:
        backends.append(("postgresql", _postgres))
    for backend, make in backends:
        for url in make():
            print(f"{backend}: N = {args.n:,} ...", file=sys.stderr)
            results[backend] = bench(url, backend, args.n, args.sample)
    print(f"load average at end: {os.getloadavg()}")
    header = f"{'N = ' + format(args.n, ','):<62}" + "".join(f"{b:>14}" for b in results)
    print(header)
    for key, label in _ROWS:
        unit = "B" if key.endswith("per_file") else "s"
        cells = "".join(f"{results[b][key]:>13.{0 if unit == 'B' else 2}f}{unit}" for b in results)
        print(f"{label:<62}{cells}")


if __name__ == "__main__":
    main()
