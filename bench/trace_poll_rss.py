"""Where in a poll the daemon's memory peaks: its RSS traced every 50 ms against requests.

A diagnostic beside ``bench_scale.py`` (which reports the peak and the median while
polling): one `leakmon run` on SQLite against a stand-in HTML portal of N small files
on 127.0.0.1 (keep-alive, 304s for unchanged files), the first pass, then --polls
polls. It prints the daemon's RSS each tenth of a poll's requests and, per poll, the
peak with the request count and time at which it came. The RSS of the first pass is
printed once a minute.

Usage:
  .venv/bin/python bench/trace_poll_rss.py --files 100000 --every 300
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import _free_port  # noqa: E402
from bench.bench_scale import Daemon, _config, _wait_for, publish_small_files  # noqa: E402
from monitor.standin import Portal, Receiver  # noqa: E402


def _mb(daemon: Daemon) -> int:
    assert daemon.proc is not None
    return int(daemon.proc.memory_info().rss // 2**20)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=20_000)
    parser.add_argument("--every", type=float, default=120.0, help="poll interval, seconds")
    parser.add_argument("--polls", type=int, default=2)
    args = parser.parse_args()
    files = args.files
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-rss-"))
    portal = Portal(keep_alive=True).start()
    receiver = Receiver().start()
    publish_small_files(portal, tmp, files)
    port = _free_port()
    storage = f"sqlite:///{tmp / 'state.db'}"
    config = _config(
        tmp, storage, portal, receiver, argparse.Namespace(budget=200_000, every=args.every), port
    )
    daemon = Daemon(config, tmp / "daemon.log", port)
    daemon.start()
    started, shown = time.monotonic(), -1

    def scanned() -> bool:
        nonlocal shown
        done = daemon.metrics().get("leakmon_scans_total", 0)
        minute = int((time.monotonic() - started) // 60)
        if minute != shown:
            shown = minute
            print(
                f"first pass {minute:3d} min: {done:7.0f} scanned, RSS {_mb(daemon)} MB", flush=True
            )
        return done >= files

    try:
        if _wait_for(scanned, 3600, 2) is None:
            raise SystemExit("the first pass did not finish within an hour")
        print(f"first pass done in {time.monotonic() - started:.0f} s, RSS {_mb(daemon)} MB")
        t0 = time.monotonic()
        for poll in range(args.polls):
            n0, tenth = len(portal.requests), -1
            peak = (0, 0, 0.0)
            while len(portal.requests) - n0 < files + 1:
                rss, done = _mb(daemon), len(portal.requests) - n0
                if rss > peak[0]:
                    peak = (rss, done, time.monotonic() - t0)
                if done * 10 // files != tenth:
                    tenth = done * 10 // files
                    print(
                        f"  t={time.monotonic() - t0:6.1f} s request {done:7d}: RSS {rss} MB",
                        flush=True,
                    )
                time.sleep(0.05)
            time.sleep(3)
            print(
                f"poll {poll + 1}: peak RSS {peak[0]} MB at request {peak[1]} (t={peak[2]:.1f} s),"
                f" {_mb(daemon)} MB after it",
                flush=True,
            )
    finally:
        daemon.stop()
        portal.stop()
        receiver.stop()


if __name__ == "__main__":
    main()
