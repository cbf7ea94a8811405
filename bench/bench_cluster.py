"""Cluster benchmark: throughput and time to page with 1, 2 and 3 replicas, side by side.

Each configuration gets a fresh PostgreSQL database (127.0.0.1:5432) and Redis key
prefix (127.0.0.1:6379), a stand-in portal of N clean files (default 300) on
127.0.0.1 and a webhook receiver, then N replicas of `leakmon run` (real
processes, the same configuration but for their names and ports). It measures:

1. first pass: wall time from the replicas' start until every file is downloaded
   and scanned (new files: download + isolated scan + store), as files per second;
2. re-poll: after the first pass, one poll's conditional GETs of the unchanged
   files (304s, no scan), from the first to the last, as files per second;
3. time to page: publish a leaking CSV, time until the webhook receives its page
   (median of --trials), at the poll interval given.

All replicas share this machine's cores: on 2 cores, scanning is CPU-bound, so
more replicas than cores cannot scan faster; the numbers say how much the shared
frontier costs or gains here, not what N machines would do.

Usage: .venv/bin/python bench/bench_cluster.py [--files 300] [--every 10] [--trials 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import synthetic  # noqa: E402
from tests.cluster.harness import Cluster  # noqa: E402


def _wait(check: object, timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout} s: {what}")


def _conditional(cluster: Cluster) -> int:
    return sum(
        1 for _, path, cond in list(cluster.portal.requests) if cond and path.startswith("/data/")
    )


def run(replicas: int, files: int, every: float, trials: int, tmp: Path) -> dict[str, float]:
    cluster = Cluster(tmp / f"n{replicas}", every=every, lease=max(5.0, every / 2))
    try:
        cluster.publish_files(clean=files, leaks=0)
        started = time.monotonic()
        for n in range(replicas):
            cluster.start(f"r{n + 1}")

        cluster.wait_ready()  # the first replica up has migrated the schema

        def scanned() -> bool:
            # A file's validators are its last write (after scan and findings).
            query = "SELECT count(*) FROM resources WHERE sha256 IS NOT NULL"
            return cluster.sql(query)[0][0] >= files

        done = _wait(scanned, 1200, "first pass")
        first_pass = done - started
        # Re-poll: the next poll's conditional GETs of unchanged files.
        base = _conditional(cluster)
        first = _wait(lambda: _conditional(cluster) > base, every * 3, "re-poll start")
        last = _wait(lambda: _conditional(cluster) >= base + files, 600, "re-poll end")
        repoll = max(last - first, 1e-3)
        pages = []
        for trial in range(trials):
            before = len(cluster.receiver.posts)
            body = synthetic.ccw_applicants_csv(
                cluster.tmp / f"leak{trial}", rows=40, seed=trial
            ).read_bytes()
            published = time.monotonic()
            cluster.portal.publish(f"permits_{trial}.csv", body)
            paged = _wait(lambda b=before: len(cluster.receiver.posts) > b, every * 3 + 30, "page")
            pages.append(paged - published)
            cluster.portal.withdraw(f"permits_{trial}.csv")
            time.sleep(every * 0.37)  # land each trial at another point of the poll cycle
        return {
            "replicas": replicas,
            "files": files,
            "first_pass_s": round(first_pass, 1),
            "first_pass_files_per_s": round(files / first_pass, 1),
            "repoll_s": round(repoll, 2),
            "repoll_files_per_s": round(files / repoll, 1),
            "page_median_s": round(statistics.median(pages), 1),
            "page_max_s": round(max(pages), 1),
        }
    finally:
        cluster.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--every", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--trials", type=int, default=3, help="pages timed per configuration")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-cluster-") as tmp:
        for n in args.replicas:
            result = run(n, args.files, args.every, args.trials, Path(tmp))
            print(json.dumps(result), flush=True)
            results.append(result)
    one = results[0]
    head = ("replicas", "first pass files/s", "x1", "re-poll files/s", "x1", "page median s")
    print("\n" + " ".join(f"{h:>{w}}" for h, w in zip(head, (8, 19, 6, 16, 6, 14), strict=True)))
    for r in results:
        print(
            f"{r['replicas']:>8} {r['first_pass_files_per_s']:>19} "
            f"{r['first_pass_files_per_s'] / one['first_pass_files_per_s']:>6.2f} "
            f"{r['repoll_files_per_s']:>16} "
            f"{r['repoll_files_per_s'] / one['repoll_files_per_s']:>6.2f} "
            f"{r['page_median_s']:>14} (max {r['page_max_s']})"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
