"""Daemon benchmark: time from publication to page, and the cost of watching unchanged files.

Runs `leakmon run` as a real subprocess against the stand-in portal and webhook
receiver on 127.0.0.1 (monitor.standin), with SQLite in a temporary folder.

1. Latency: for each poll interval (default 5 s and 60 s), publish a leaking CSV,
   wait for the page, withdraw it, wait for the resolution; repeat. Prints the
   median and p95 of publish-to-page, against the target p95 <= interval + 10 s.
2. Idle cost: a portal with N unchanged small files (default 1,000) polled every
   60 s; after the first full scan, measure over a window (default 3 polls) the
   daemon's CPU share (process tree CPU seconds / wall seconds), peak RSS and the
   requests per poll. Targets: < 10% of one core and < 300 MB RSS.

Usage: .venv/bin/python bench/bench_daemon.py [--trials-5 8] [--trials-60 4] [--files 1000]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.standin import Portal, Receiver  # noqa: E402
from tests import synthetic  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_daemon(tmp: Path, portal: Portal, receiver: Receiver, every: float) -> psutil.Popen:
    config = tmp / f"leakmon-{every:g}.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp / f'state-{every:g}.db'}",
                "http": {"listen": f"127.0.0.1:{_free_port()}"},
                "targets": [
                    {
                        "name": "bench",
                        "start_urls": [portal.url],
                        "every": every,
                        "allowed_domains": ["127.0.0.1"],
                    }
                ],
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
                ],
                "crawl": {"autothrottle": False},
            }
        )
    )
    log = (tmp / f"daemon-{every:g}.log").open("w")
    return psutil.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )


def _stop(proc: psutil.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except psutil.TimeoutExpired:
        proc.kill()


def _wait(receiver: Receiver, count: int, timeout: float) -> float | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(receiver.posts) >= count:
            return receiver.posts[count - 1].received_at
        time.sleep(0.05)
    return None


def latency(tmp: Path, every: float, trials: int, leak: bytes) -> list[float]:
    """Return publish-to-page seconds for each trial."""
    portal, receiver = Portal().start(), Receiver().start()
    portal.publish("counts.csv", synthetic.clean_aggregate_csv(tmp / "clean").read_bytes())
    proc = _start_daemon(tmp, portal, receiver, every)
    results = []
    try:
        time.sleep(every + 5)  # first poll of the clean portal
        for i in range(trials):
            before = len(receiver.posts)
            name = f"export_{i}.csv"
            published = time.monotonic()
            portal.publish(name, leak)
            paged = _wait(receiver, before + 1, every * 2 + 60)
            if paged is None:
                print(f"  trial {i}: no page", flush=True)
                continue
            results.append(paged - published)
            print(f"  interval {every:g}s trial {i}: paged after {results[-1]:.1f} s", flush=True)
            opened = len([p for p in receiver.posts if p.json()["event"] == "opened"])
            portal.withdraw(name)
            # Wait for the resolutions so the next trial starts from a quiet portal.
            deadline = time.monotonic() + every * 2 + 30
            while time.monotonic() < deadline:
                resolved = len([p for p in receiver.posts if p.json()["event"] == "resolved"])
                if resolved >= opened:
                    break
                time.sleep(0.2)
            time.sleep(0.5)
    finally:
        _stop(proc)
        portal.stop()
        receiver.stop()
    return results


def _tree_cpu_rss(proc: psutil.Process) -> tuple[float, int, int, int]:
    """Return CPU seconds, RSS sum, PSS sum and the daemon's own RSS for the process tree.

    The RSS sum counts the pages the forkserver shares with the daemon and with
    scan workers once per process; the PSS sum splits them, so it is what the
    tree really costs.
    """
    cpu, rss, pss, own = 0.0, 0, 0, 0
    for p in (proc, *proc.children(recursive=True)):
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            info = p.memory_full_info()
            rss += info.rss
            pss += info.pss
            if p.pid == proc.pid:
                own = info.rss
        except psutil.NoSuchProcess:
            continue
    return cpu, rss, pss, own


def idle_cost(tmp: Path, files: int, window_polls: int, every: float = 60.0) -> dict[str, float]:
    """Watch ``files`` unchanged small files; return CPU share, peak RSS, requests per poll."""
    portal, receiver = Portal().start(), Receiver().start()
    body = synthetic.clean_aggregate_csv(tmp / "idle").read_bytes()[:4000]
    for i in range(files):
        portal.publish(f"table_{i:05d}.csv", body.replace(b"county", f"county{i}".encode(), 1))
    proc = _start_daemon(tmp, portal, receiver, every)
    try:
        # Wait for the first full poll and its scans to finish: every file fetched once.
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline:
            fetched = {p for m, p, _ in portal.requests if p.startswith("/data/")}
            if len(fetched) >= files:
                break
            time.sleep(1)
        time.sleep(every)  # let the scans of the first poll drain
        start_requests = len(portal.requests)
        cpu0 = _tree_cpu_rss(proc)[0]
        started = time.monotonic()
        peak = [0, 0, 0]
        while time.monotonic() - started < window_polls * every:
            _, rss, pss, own = _tree_cpu_rss(proc)
            peak = [max(peak[0], rss), max(peak[1], pss), max(peak[2], own)]
            time.sleep(0.5)
        cpu1 = _tree_cpu_rss(proc)[0]
        wall = time.monotonic() - started
        requests = len(portal.requests) - start_requests
    finally:
        _stop(proc)
        portal.stop()
        receiver.stop()
    return {
        "cpu_share": (cpu1 - cpu0) / wall,
        "peak_rss_mb": peak[0] / 1e6,
        "peak_pss_mb": peak[1] / 1e6,
        "daemon_rss_mb": peak[2] / 1e6,
        "requests_per_poll": requests / (wall / every),
        "wall": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials-5", type=int, default=8)
    parser.add_argument("--trials-60", type=int, default=4)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--window-polls", type=int, default=3)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-idle", action="store_true")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-daemon-"))
    leak = synthetic.ccw_applicants_csv(tmp / "leak", rows=300).read_bytes()
    print(f"machine: {psutil.cpu_count()} CPUs; workdir {tmp}", flush=True)
    if not args.skip_latency:
        for every, trials in ((5.0, args.trials_5), (60.0, args.trials_60)):
            if trials <= 0:
                continue
            got = latency(tmp, every, trials, leak)
            if not got:
                print(f"interval {every:g}s: no page in {trials} trials  [FAIL]")
                continue
            p95 = statistics.quantiles(got, n=20)[-1] if len(got) >= 2 else got[0]
            ok = p95 <= every + 10 and len(got) == trials
            print(
                f"interval {every:g}s: {len(got)}/{trials} paged; median "
                f"{statistics.median(got):.1f} s, p95 {p95:.1f} s, max {max(got):.1f} s "
                f"(target p95 <= {every + 10:g} s)  [{'PASS' if ok else 'FAIL'}]",
                flush=True,
            )
    if not args.skip_idle:
        cost = idle_cost(tmp, args.files, args.window_polls)
        print(
            f"idle: {args.files} unchanged files every 60 s, over {cost['wall']:.0f} s: "
            f"CPU {cost['cpu_share']:.1%} of one core "
            f"[{'PASS' if cost['cpu_share'] < 0.10 else 'FAIL'} < 10%], "
            f"memory: daemon process RSS {cost['daemon_rss_mb']:.0f} MB "
            f"[{'PASS' if cost['daemon_rss_mb'] < 300 else 'FAIL'} < 300 MB], "
            f"process tree PSS sum {cost['peak_pss_mb']:.0f} MB "
            f"[{'PASS' if cost['peak_pss_mb'] < 300 else 'FAIL'} < 300 MB], "
            f"tree RSS sum {cost['peak_rss_mb']:.0f} MB "
            f"[{'PASS' if cost['peak_rss_mb'] < 300 else 'FAIL'} < 300 MB]; "
            f"{cost['requests_per_poll']:.0f} requests per poll",
            flush=True,
        )


if __name__ == "__main__":
    main()
