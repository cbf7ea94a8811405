"""Cluster benchmark: throughput and time to page with 1, 2 and 3 replicas, side by side.

Each configuration gets a fresh PostgreSQL database (127.0.0.1:5432) and Redis key
prefix (127.0.0.1:6379), a stand-in portal of N clean files (default 300) on
127.0.0.1 and a webhook receiver, then N replicas of `leakmon run` (real
processes, the same configuration but for their names and ports). It measures:

1. first pass: wall time from the replicas' start until every file is downloaded
   and scanned (new files: download + isolated scan + store), as files per second;
2. re-poll: the conditional GETs of the unchanged files (304s, no scan) by the
   first poll begun after the first pass, from the first to the last, as files per
   second, and the replicas' own CPU (user + system) over that span per file;
3. correctness at scale: a leaking CSV is published and left up, then --polls
   steady polls are watched. The portal's request log (timed here) is split into
   polls at each fetch of the index page (one per poll, by whichever replica holds
   its lease); per file under /data/ and per poll it counts the replicas' requests
   together: *duplicates* (files requested more than once in one poll, and the
   extra requests), *skipped* (files not requested in a poll that was followed by
   another), each poll's *span* (its first to its last file request, against its
   window up to the next index fetch: a span as long as the window would mean the
   poll's downloads spilled into the next one and the split blurred), *lost* (files
   requested in neither of two windows in a row: not explained by such a spill),
   each poll's own outcomes from the replicas' logs (queued, already_queued: a file
   still queued by the previous poll is not queued again), and the ``opened`` pages
   the receiver got for the leak (must be 1 however many polls and replicas saw it);
4. time to page: publish a leaking CSV, time until the webhook receives its page
   (median of --trials), at the poll interval given.

All replicas share this machine's cores: on 2 cores, scanning is CPU-bound, so
more replicas than cores cannot scan faster; the numbers say how much the shared
frontier costs or gains here, not what N machines would do.

Usage: .venv/bin/python bench/bench_cluster.py [--files 300] [--every 10] [--trials 3]
       [--polls 2] [--replicas 1 2 3] [--profile DIR]

With --profile, each replica is sampled by py-spy through the re-poll (without
pausing it) and the samples are summarised per replica as ``profile_poll.py`` does.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.profile_poll import summarise  # noqa: E402
from monitor.standin import Portal  # noqa: E402
from tests import synthetic  # noqa: E402
from tests.cluster.harness import Cluster  # noqa: E402

if TYPE_CHECKING:
    from monitor.standin import Receiver

#: Above this many files a run is "large": see ``run``.
_LARGE = 2000
#: The leak left published through the steady polls: paged once, however often it is seen.
_KEPT_LEAK = "permits_kept.csv"


class _TimedLog(list[tuple[str, str, bool]]):
    """The portal's request log, with the monotonic time of each entry beside it.

    The stand-in portal records (method, path, conditional) but not when; the bench
    swaps this in before any request so polls can be told apart by time.
    """

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def append(self, entry: tuple[str, str, bool]) -> None:
        # Called under the portal's lock: the two lists stay in step.
        self.times.append(time.monotonic())
        super().append(entry)

    def timed(self) -> list[tuple[float, str, bool]]:
        """Return (time, path, conditional) of every request so far."""
        n = min(len(self), len(self.times))
        return [(self.times[i], self[i][1], self[i][2]) for i in range(n)]


def _opened(receiver: Receiver, name: str) -> int:
    """Return how many pages (``opened`` events) name the file ``name`` (as bench_scale)."""
    return sum(
        1 for p in receiver.posts if p.json().get("event") == "opened" and name.encode() in p.body
    )


def _index_times(log: _TimedLog, after: float) -> list[float]:
    """Return when the index page was fetched (a poll's start) after ``after``."""
    return [t for t, path, _ in log.timed() if path in ("/", "/index.html") and t > after]


def _steady(log: _TimedLog, expected: set[str], starts: list[float]) -> dict[str, Any]:
    """Count duplicates and skips per poll between consecutive index fetches.

    Each window [starts[k], starts[k+1]) is one poll; only windows closed by the
    next poll's index fetch count (the last one is cut off by the bench ending). The
    last closed window is only read to tell a file lost from one checked late.
    """
    timed = log.timed()
    polls = []
    windows: list[dict[str, int]] = []
    for begin, end in itertools.pairwise(starts):
        counts: dict[str, int] = {}
        last = begin
        for t, path, _ in timed:
            if begin <= t < end and path.startswith("/data/"):
                counts[path[6:]] = counts.get(path[6:], 0) + 1
                last = max(last, t)
        dup_files = sum(1 for n in expected if counts.get(n, 0) > 1)
        extra = sum(c - 1 for n, c in counts.items() if n in expected and c > 1)
        skipped = sum(1 for n in expected if counts.get(n, 0) == 0)
        stray = sum(c for n, c in counts.items() if n not in expected)
        windows.append(counts)
        polls.append(
            {
                "requests": sum(counts.values()),
                "dup_files": dup_files,
                "dup_extra": extra,
                "skipped": skipped,
                "stray": stray,
                "span_s": round(last - begin, 1),
                "window_s": round(end - begin, 1),
            }
        )
    # A file missing from two windows in a row was not checked for a whole interval
    # even allowing for one poll's downloads spilling into the next window.
    polls = polls[:-1]
    lost = {
        n
        for before, after in itertools.pairwise(windows)
        for n in expected
        if not before.get(n) and not after.get(n)
    }
    return {
        "polls": len(polls),
        "per_poll": polls,
        "duplicates": sum(p["dup_files"] for p in polls),
        "duplicate_requests": sum(p["dup_extra"] for p in polls),
        "skipped": sum(p["skipped"] for p in polls),
        "lost": len(lost),
        "stray": sum(p["stray"] for p in polls),
        "max_span_of_window": max((p["span_s"] / p["window_s"] for p in polls), default=0.0),
    }


def _wait(check: object, timeout: float, what: str, every: float = 0.1) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():  # type: ignore[operator]
            return time.monotonic()
        time.sleep(every)
    raise SystemExit(f"timed out after {timeout} s: {what}")


def _replica_cpu(cluster: Cluster) -> float:
    """Return the replicas' processes' user + system CPU seconds so far."""
    total = 0.0
    for replica in cluster.replicas.values():
        times = psutil.Process(replica.proc.pid).cpu_times()
        total += times.user + times.system
    return total


#: py-spy beside this Python (the project's venv) when it is there, else on the PATH.
_BESIDE = Path(sys.executable).with_name("py-spy")
_PY_SPY = str(_BESIDE) if _BESIDE.exists() else "py-spy"


def _spy(cluster: Cluster, into: Path) -> list[subprocess.Popen[bytes]]:
    """Start py-spy on each replica (not pausing it); its raw stacks go to ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, replica in cluster.replicas.items():
        command = [_PY_SPY, "record", "--pid", str(replica.proc.pid), "--nonblocking",
                   "--threads", "--full-filenames", "--format", "raw", "--rate", "100",
                   "--output", str(into / f"{name}.txt")]  # fmt: skip
        spies.append(
            subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        )
    return spies


def _conditional(log: _TimedLog, since: float) -> int:
    """Return how many conditional GETs of data files the portal answered after ``since``."""
    return len(_conditional_times(log, since))


def _conditional_times(log: _TimedLog, since: float) -> list[float]:
    """Return when the portal answered each conditional GET of a data file after ``since``."""
    return [t for t, path, cond in log.timed() if t > since and cond and path.startswith("/data/")]


def run(replicas: int, tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Measure ``replicas`` replicas over ``args.files`` files (the module docstring's 1-4)."""
    files, every, trials, polls = args.files, args.every, args.trials, args.polls
    # Past _LARGE files: a budget that covers the portal, keep-alive answers (as real
    # portals' servers give), files that are variants of one, and slower checks here:
    # the bench process serves the portal, and re-reading its request log ten times a
    # second would take the portal's time.
    large = files > _LARGE
    cluster = Cluster(
        tmp / f"n{replicas}",
        every=every,
        lease=max(5.0, every / 2),
        portal=Portal(keep_alive=large).start(),
        crawl={"max_requests_per_poll": args.budget},
    )
    tick = 2.0 if large else 0.1
    log = _TimedLog()
    cluster.portal.requests = log  # before the first request
    try:
        if large:
            cluster.publish_variants(files)
        else:
            cluster.publish_files(clean=files, leaks=0)
        started = time.monotonic()
        for n in range(replicas):
            cluster.start(f"r{n + 1}")

        cluster.wait_ready()  # the first replica up has migrated the schema

        def scanned() -> bool:
            # A file's validators are its last write (after scan and findings).
            query = "SELECT count(*) FROM resources WHERE sha256 IS NOT NULL"
            return bool(cluster.sql(query)[0][0] >= files)

        done = _wait(scanned, args.first_pass_limit, "first pass", tick)
        first_pass = done - started
        # Re-poll: the conditional GETs of the first poll begun after the first pass. One
        # begun before it finds files still queued by the first pass and leaves them to
        # the poll after, so its GETs span two polls (120 s at 10,000 files every 120 s).
        _wait(lambda: bool(_index_times(log, done)), every * 2 + 60, "re-poll's start", tick / 4)
        begun = _index_times(log, done)[0]
        _wait(lambda: _conditional(log, begun) > 0, every * 3, "re-poll's GETs", tick / 4)
        cpu_first = _replica_cpu(cluster)
        spies = _spy(cluster, args.profile) if args.profile else []
        _wait(lambda: _conditional(log, begun) >= files, 600 + files / 50, "re-poll end", tick / 4)
        for spy in spies:
            spy.send_signal(signal.SIGINT)  # py-spy writes what it has and exits
            spy.wait(60)
        gets = _conditional_times(log, begun)
        repoll = max(gets[files - 1] - gets[0], 1e-3)  # the portal's times, not the checks'
        # The replicas' own processes (no scan runs in a re-poll), over the same span.
        repoll_cpu_ms = (_replica_cpu(cluster) - cpu_first) * 1000 / files
        print(
            f"  {replicas} replica(s): first pass {first_pass:.0f} s, re-poll {repoll:.1f} s,"
            f" replicas' CPU {repoll_cpu_ms:.2f} ms per file",
            flush=True,
        )
        check = _check(cluster, log, files, every, polls, tick) if polls > 0 else {}
        pages = []
        for trial in range(trials):
            body = synthetic.ccw_applicants_csv(
                cluster.tmp / f"leak{trial}", rows=40, seed=trial
            ).read_bytes()
            published = time.monotonic()
            cluster.portal.publish(f"permits_{trial}.csv", body)
            name = f"permits_{trial}.csv"
            paged = _wait(
                lambda n=name: _opened(cluster.receiver, n) > 0, every * 3 + 30, f"page of {name}"
            )
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
            "repoll_cpu_ms_per_file": round(repoll_cpu_ms, 3),
            "page_median_s": round(statistics.median(pages), 1),
            "page_max_s": round(max(pages), 1),
            "trial_pages_opened": [
                _opened(cluster.receiver, f"permits_{t}.csv") for t in range(trials)
            ],
            **check,
            # Counted again at the end: the trials' polls saw the kept leak too.
            **({"kept_leak_pages_opened": _opened(cluster.receiver, _KEPT_LEAK)} if check else {}),
        }
    finally:
        cluster.close()


def _check(
    cluster: Cluster, log: _TimedLog, files: int, every: float, polls: int, tick: float
) -> dict[str, Any]:
    """Leave a leak up through ``polls`` steady polls; count per-poll requests and its pages."""
    body = synthetic.ccw_applicants_csv(cluster.tmp / "kept", rows=40, seed=99).read_bytes()
    published, wall = time.monotonic(), time.time()
    cluster.portal.publish(_KEPT_LEAK, body)
    expected = {f"counts_{n:04d}.csv" for n in range(files)} | {_KEPT_LEAK}
    # polls + 2 index fetches after the publish close ``polls`` windows and one more,
    # into which the last counted poll's downloads may spill.
    _wait(
        lambda: len(_index_times(log, published)) >= polls + 2,
        (polls + 2) * (every + 600),
        f"{polls} steady polls",
        tick,
    )
    starts = _index_times(log, published)[: polls + 2]
    result = _steady(log, expected, starts)
    # The polls' own counts, from the replicas' logs: a poll that found a file still
    # queued by the previous one (already_queued) did not queue it again, so a file
    # skipped in window k and already_queued in poll k+1 was checked late, not lost.
    result["poll_outcomes"] = _poll_outcomes(cluster, wall)[: polls + 2]
    metrics = [r.metrics() for r in cluster.replicas.values()]
    result["kept_leak_pages_after_polls"] = _opened(cluster.receiver, _KEPT_LEAK)
    result["poll_claims_per_replica"] = [
        _metric_sum(m, "leakmon_poll_claims_total") for m in metrics
    ]
    return result  # the leak stays up: later polls must not page it again either


_POLL_DONE = re.compile(r"poll complete in ([\d.]+) s: .*?files linked \(([^)]*)\)")


def _poll_outcomes(cluster: Cluster, after: float) -> list[dict[str, int]]:
    """Return the file outcomes (queued, already_queued) of each poll begun after ``after``."""
    polls = []
    for replica in cluster.replicas.values():
        for line in replica.log_path.read_text(errors="replace").splitlines():
            if "poll complete" not in line:
                continue
            record = json.loads(line)
            at = dt.datetime.fromisoformat(record["time"].replace("Z", "+00:00")).timestamp()
            found = _POLL_DONE.search(record["message"])
            if found and at - float(found.group(1)) > after:
                counts = dict(part.split("=") for part in found.group(2).split(", "))
                polls.append((at, {k: int(v) for k, v in counts.items()}))
    return [counts for _, counts in sorted(polls, key=lambda p: p[0])]


def _metric_sum(text: str, name: str) -> float:
    """Return the sum of a metric's samples in a /metrics text."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--every", type=float, default=10.0, help="poll interval, seconds")
    parser.add_argument("--trials", type=int, default=3, help="pages timed per configuration")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument(
        "--polls",
        type=int,
        default=2,
        help="steady polls checked for duplicates and skips (0: none)",
    )
    parser.add_argument("--budget", type=int, default=5000, help="crawl.max_requests_per_poll")
    parser.add_argument("--first-pass-limit", type=float, default=1200.0, help="seconds")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--profile",
        type=Path,
        help="sample each replica with py-spy over the re-poll; raw stacks and a summary here",
    )
    args = parser.parse_args()
    cpu = platform.processor() or platform.machine()
    print(f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}")
    results = []
    with tempfile.TemporaryDirectory(prefix="leakmon-bench-cluster-") as tmp:
        for n in args.replicas:
            result = run(n, Path(tmp), args)
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
    if any("polls" in r for r in results):
        check_head = (
            "replicas",
            "steady polls",
            "files/poll",
            "duplicates",
            "extra GETs",
            "skipped",
            "lost",
        )
        widths = (8, 12, 10, 10, 10, 7, 4)
        print("\n" + " ".join(f"{h:>{w}}" for h, w in zip(check_head, widths, strict=True)), end="")
        print(" pages per leak (kept; trials)")
        for r in results:
            print(
                f"{r['replicas']:>8} {r['polls']:>12} {r['files'] + 1:>10} "
                f"{r['duplicates']:>10} {r['duplicate_requests']:>10} {r['skipped']:>7} "
                f"{r['lost']:>4} "
                f"{r['kept_leak_pages_opened']}; {r['trial_pages_opened']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.profile:
        for raw in sorted(args.profile.glob("*.txt")):
            print(f"\nre-poll profile of replica {raw.stem} ({raw}):\n{summarise(raw)}")


if __name__ == "__main__":
    main()
