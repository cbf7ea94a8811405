"""First-pass rate of one replica and the store's cost per file, for code trees side by side.

Issue 18: ``bench_scale.py`` measures the whole life of a replica; this one only its
first pass (N new small CSV files on a stand-in portal, until each is scanned once),
with what explains it: the store's commits and written rows per file (PostgreSQL's
``pg_stat_database``), and the CPU seconds of the daemon, of its scan workers and of
the PostgreSQL server. ``--code`` runs another checkout (a ``git worktree`` of an older
commit), and the runs alternate old/new, so both see the same background load on a
shared machine.

Usage:
  git worktree add --detach /tmp/old HEAD~1
  .venv/bin/python bench/bench_first_pass.py --files 3000 --stores postgres sqlite \\
      --code /tmp/old . --rounds 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import _free_port  # noqa: E402
from bench.bench_scale import Daemon, _config, _wait_for, publish_small_files  # noqa: E402
from monitor.standin import Portal, Receiver  # noqa: E402
from tests.databases import create_postgres, drop_postgres  # noqa: E402


def _pg_counts(url: str) -> tuple[int, int]:
    """Return (commits, rows inserted + updated + deleted) of the database so far."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.text(
                    "SELECT xact_commit, tup_inserted + tup_updated + tup_deleted"
                    " FROM pg_stat_database WHERE datname = current_database()"
                )
            ).one()
    finally:
        engine.dispose()
    return int(row[0]), int(row[1])


def _postgres_cpu() -> float:
    """Return the CPU seconds of every PostgreSQL server process now alive."""
    total = 0.0
    for p in psutil.process_iter(["name"]):
        if (p.info["name"] or "").startswith("postgres"):
            try:
                t = p.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += t.user + t.system
    return total


def run_one(files: int, store: str, code: Path, args: argparse.Namespace) -> str:
    """Measure one first pass of the leakmon in ``code``; return one line of results."""
    tmp = Path(tempfile.mkdtemp(prefix=f"leakmon-first-{store}-"))
    pg = create_postgres("leakmon_first") if store == "postgres" else None
    if store == "postgres" and pg is None:
        raise SystemExit("PostgreSQL at 127.0.0.1:5432 is unreachable")
    storage = pg.url if pg is not None else f"sqlite:///{tmp / 'state.db'}"
    portal = Portal(keep_alive=True).start()
    receiver = Receiver().start()
    publish_small_files(portal, tmp, files)
    port = _free_port()
    daemon = Daemon(_config(tmp, storage, portal, receiver, args, port), tmp / "daemon.log", port)
    # `python -m monitor.cli` imports the package of the working directory first.
    here, path = Path.cwd(), os.environ.get("PYTHONPATH")
    os.chdir(code)
    os.environ["PYTHONPATH"] = str(code)
    try:
        before = _pg_counts(storage) if pg is not None else (0, 0)
        pg_cpu = _postgres_cpu()
        daemon.start()
        started = time.monotonic()
        done = _wait_for(
            lambda: daemon.metrics().get("leakmon_scans_total", 0) >= files, args.limit, 0.5
        )
        seconds = time.monotonic() - started
        assert daemon.proc is not None
        t = daemon.proc.cpu_times()
        own = t.user + t.system
        workers = sum(
            c.cpu_times().user + c.cpu_times().system for c in daemon.proc.children(recursive=True)
        )
        pg_cpu = _postgres_cpu() - pg_cpu
        # PostgreSQL reports a backend's counts when it goes idle, at most once a second.
        time.sleep(2 if pg is not None else 0)
        after = _pg_counts(storage) if pg is not None else (0, 0)
    finally:
        os.chdir(here)
        if path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = path
        if daemon.proc is not None and daemon.proc.is_running():
            daemon.stop()
        portal.stop()
        receiver.stop()
        if pg is not None:
            drop_postgres(pg)
    if done is None:
        return f"{code} {store} {files}: first pass not done in {args.limit:.0f} s"
    line = (
        f"{code!s:<24} {store:<8} {files:>6} files  {seconds:6.1f} s  "
        f"{files / seconds:5.1f} files/s  daemon CPU {own * 1000 / files:5.1f} ms/file  "
        f"workers {workers * 1000 / files:4.1f} ms/file (live ones)"
    )
    if pg is not None:
        line += (
            f"  postgres {pg_cpu * 1000 / files:4.1f} ms/file"
            f"  commits {(after[0] - before[0]) / files:5.2f}/file"
            f"  rows written {(after[1] - before[1]) / files:4.1f}/file"
        )
    return line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--stores", nargs="+", default=["postgres", "sqlite"])
    parser.add_argument("--code", type=Path, nargs="+", default=[ROOT], help="checkouts to run")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--limit", type=float, default=1800.0, help="seconds per first pass")
    args = parser.parse_args()
    # What bench_scale's _config reads: one poll, long enough apart to be the only one.
    args.budget, args.every, args.close_connections = 200_000, 3600.0, False
    for round_ in range(1, args.rounds + 1):
        for store in args.stores:
            for code in args.code:
                line = run_one(args.files, store, code.resolve(), args)
                print(f"round {round_}  {line}", flush=True)


if __name__ == "__main__":
    main()
