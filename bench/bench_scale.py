"""Scale benchmark (issue 18): one replica watching N files, from first pass to restart.

Runs `leakmon run` as a real subprocess against a stand-in HTML portal of N small
files on 127.0.0.1 (monitor.standin; unchanged files answer 304) and a webhook
receiver, on SQLite in a temporary folder and on the real PostgreSQL at
127.0.0.1:5432 (a fresh database per run). For each N and store it measures, in
this order, in one run, and prints them side by side:

1. first pass: files scanned per second until all N have been scanned once;
2. steady polls: CPU of the daemon's process tree per unchanged file per poll, poll
   wall time, the daemon's RSS and the tree's PSS (peaks while polling), requests per
   poll, and the store's bytes per watched file;
3. change -> page: a leak swapped into the first, the middle and the last file (in the
   portal's link order), seconds from the swap to the webhook's page, against the
   bound of poll interval + 10 s;
4. SIGTERM: seconds from SIGTERM during a poll to the daemon's exit;
5. restart: seconds from start to the first file request, and the first poll's wall
   time against the warm one's.

A step that does not finish within its time limit is printed as what it reached
("first pass: 41,200 of 100,000 in 1,800 s"), never as a pass.

Usage:
  .venv/bin/python bench/bench_scale.py --files 1000 10000 --stores sqlite postgres
  .venv/bin/python bench/bench_scale.py --files 100000 --every 300 --first-pass-limit 3600
  .venv/bin/python bench/bench_scale.py --files 2000 --latency 0.2   # throughput at 200 ms
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import _free_port, _tree_cpu_rss  # noqa: E402


def _tree_cpu(proc: psutil.Process) -> float:
    """Return the CPU seconds of a process tree, including children that have exited.

    Scan workers retire after 60 s without a file; their CPU then moves to the
    ``children_*`` times of the process that reaped them (the forkserver), so a sum
    over live processes alone would go down.
    """
    total = 0.0
    for p in (proc, *proc.children(recursive=True)):
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system + t.children_user + t.children_system
    return total


from monitor.standin import Portal, Receiver  # noqa: E402
from tests import synthetic  # noqa: E402
from tests.databases import create_postgres, drop_postgres  # noqa: E402

_TARGET = "scale"


@dataclasses.dataclass
class Result:
    """What one (N, store) run measured; None where a step did not finish."""

    files: int
    store: str
    first_pass_s: float | None = None
    first_pass_done: int = 0
    cpu_ms_per_file_poll: float | None = None
    poll_wall_s: float | None = None
    requests_per_poll: float | None = None
    daemon_rss_mb: float | None = None
    #: The daemon's RSS half the time or more while polling (median of the 1 s samples
    #: taken while the portal was being requested): the peak is a moment (a large index
    #: page parsed whole), this is what a poll holds.
    daemon_rss_median_mb: float | None = None
    tree_pss_mb: float | None = None
    store_bytes_per_file: float | None = None
    page_s: dict[str, float | None] = dataclasses.field(default_factory=dict)
    sigterm_s: float | None = None
    restart_first_request_s: float | None = None
    restart_first_poll_s: float | None = None


class Daemon:
    """A `leakmon run` subprocess and its /metrics endpoint."""

    def __init__(self, config: Path, log: Path, port: int) -> None:
        self.config, self.log, self.port = config, log, port
        self.proc: psutil.Popen | None = None

    def start(self) -> None:
        with self.log.open("a") as out:
            self.proc = psutil.Popen(
                [sys.executable, "-m", "monitor.cli", "run", "--config", str(self.config)],
                stdout=out,
                stderr=out,
                stdin=-3,  # subprocess.DEVNULL
            )

    def metrics(self) -> dict[str, float]:
        """Return the sums of the samples we read, by sample name; {} while unreachable."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as r:
                text = r.read().decode()
        except OSError:
            return {}
        out: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for s in family.samples:
                if s.name in _READ:
                    out[s.name] = out.get(s.name, 0.0) + s.value
        return out

    def stop(self, timeout: float = 60) -> float:
        """SIGTERM the daemon; return the seconds it took to exit (killed after ``timeout``)."""
        assert self.proc is not None
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except psutil.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return time.monotonic() - started


_READ = {
    "leakmon_scans_total",
    "leakmon_poll_duration_seconds_count",
    "leakmon_poll_duration_seconds_sum",
}


def _wait_for(check, limit: float, every: float = 0.5) -> float | None:  # type: ignore[no-untyped-def]
    """Poll ``check()`` until true; return the seconds taken, None after ``limit``."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        if check():
            return time.monotonic() - started
        time.sleep(every)
    return None


def _config(
    tmp: Path, storage: str, portal: Portal, receiver: Receiver, args: argparse.Namespace, port: int
) -> Path:
    config = tmp / "leakmon.yaml"
    config.write_text(
        json.dumps(
            {
                "storage": storage,
                "http": {"listen": f"127.0.0.1:{port}"},
                "crawl": {"max_requests_per_poll": args.budget},
                "targets": [
                    {
                        "name": _TARGET,
                        "kind": "html",
                        "start_urls": [portal.url],
                        "every": args.every,
                        "allowed_domains": ["127.0.0.1"],
                    }
                ],
                "notify": [
                    {"name": "hook", "kind": "webhook", "url": receiver.url, "min_severity": "high"}
                ],
            }
        )
    )
    return config


def _store_bytes(storage: str, tmp: Path) -> int:
    if storage.startswith("sqlite"):
        return sum(p.stat().st_size for p in tmp.glob("state.db*"))
    import sqlalchemy as sa

    engine = sa.create_engine(storage)
    try:
        with engine.connect() as c:
            return int(
                c.execute(
                    sa.text(
                        "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c"
                        " JOIN pg_namespace n ON n.oid = c.relnamespace"
                        " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                    )
                ).scalar_one()
            )
    finally:
        engine.dispose()


def _opened(receiver: Receiver, name: str) -> int:
    """Return how many pages (``opened`` events) name the file ``name``."""
    return sum(
        1 for p in receiver.posts if p.json().get("event") == "opened" and name.encode() in p.body
    )


def publish_small_files(portal: Portal, tmp: Path, files: int) -> tuple[bytes, list[str]]:
    """Publish ``files`` clean 1.5 KB CSVs, each one cell apart; return the base and names."""
    base, variants = synthetic.clean_variants(tmp / "clean", files)
    names = [f"table_{i:06d}.csv" for i in range(files)]
    for name, body in zip(names, variants, strict=True):
        portal.publish(name, body)
    return base, names


def run_one(files: int, store: str, args: argparse.Namespace) -> Result:
    """Measure one (N, store) pair; every step bounded by its limit."""
    result = Result(files, store)
    tmp = Path(tempfile.mkdtemp(prefix=f"leakmon-scale-{store}-{files}-"))
    pg = create_postgres("leakmon_scale") if store == "postgres" else None
    if store == "postgres" and pg is None:
        raise SystemExit("PostgreSQL at 127.0.0.1:5432 is unreachable: start it (see README)")
    storage = pg.url if pg is not None else f"sqlite:///{tmp / 'state.db'}"
    # HTTP/1.1 keep-alive, as real portals' servers answer (--close-connections: one TCP
    # connection per request, the stand-in's default for tests).
    portal = Portal(keep_alive=not args.close_connections).start()
    receiver = Receiver().start()
    base, names = publish_small_files(portal, tmp, files)
    leak = synthetic.ccw_applicants_csv(tmp / "leak", rows=50).read_bytes()
    port = _free_port()
    daemon = Daemon(_config(tmp, storage, portal, receiver, args, port), tmp / "daemon.log", port)
    print(f"-- {files:,} files on {store} (log: {daemon.log})", flush=True)
    try:
        portal.latency = args.latency
        daemon.start()
        # 1. First pass.
        started = time.monotonic()
        done = _wait_for(
            lambda: daemon.metrics().get("leakmon_scans_total", 0) >= files,
            args.first_pass_limit,
            2,
        )
        result.first_pass_done = int(daemon.metrics().get("leakmon_scans_total", 0))
        result.first_pass_s = done
        print(
            f"   first pass: {result.first_pass_done:,} of {files:,} scanned in"
            f" {time.monotonic() - started:.0f} s",
            flush=True,
        )
        if done is None:
            return result
        # 2. Steady polls: from the end of the poll after the first pass, over --polls polls.
        polls0 = daemon.metrics().get("leakmon_poll_duration_seconds_count", 0)
        _wait_for(
            lambda: daemon.metrics().get("leakmon_poll_duration_seconds_count", 0) > polls0,
            args.every * 3 + 600,
        )
        assert daemon.proc is not None
        m0 = daemon.metrics()
        cpu0, requests0, t0 = _tree_cpu(daemon.proc), len(portal.requests), time.monotonic()
        peak_rss = peak_pss = 0
        rss_samples: list[int] = []
        seen_requests = requests0
        target_polls = m0["leakmon_poll_duration_seconds_count"] + args.polls
        deadline = t0 + args.polls * (args.every + 600)
        while time.monotonic() < deadline:
            _, _, pss, own = _tree_cpu_rss(daemon.proc)
            peak_rss, peak_pss = max(peak_rss, own), max(peak_pss, pss)
            if len(portal.requests) != seen_requests:  # the portal is being polled
                rss_samples.append(own)
                seen_requests = len(portal.requests)
            if daemon.metrics().get("leakmon_poll_duration_seconds_count", 0) >= target_polls:
                break
            time.sleep(1)
        m1 = daemon.metrics()
        polls = (
            m1["leakmon_poll_duration_seconds_count"] - m0["leakmon_poll_duration_seconds_count"]
        )
        cpu = _tree_cpu(daemon.proc) - cpu0
        if polls > 0:
            # The whole tree's CPU over whole poll cycles (idle time between polls included).
            result.cpu_ms_per_file_poll = cpu * 1000 / (files * polls)
            result.poll_wall_s = (
                m1["leakmon_poll_duration_seconds_sum"] - m0["leakmon_poll_duration_seconds_sum"]
            ) / polls
            result.requests_per_poll = (len(portal.requests) - requests0) / polls
        result.daemon_rss_mb, result.tree_pss_mb = peak_rss / 1e6, peak_pss / 1e6
        if rss_samples:
            result.daemon_rss_median_mb = statistics.median(rss_samples) / 1e6
        result.store_bytes_per_file = _store_bytes(storage, tmp) / files
        print(
            f"   steady: {result.cpu_ms_per_file_poll} ms CPU/file/poll,"
            f" poll {result.poll_wall_s} s,"
            f" RSS {result.daemon_rss_mb:.0f} MB (median {result.daemon_rss_median_mb:.0f}),"
            f" PSS {result.tree_pss_mb:.0f} MB",
            flush=True,
        )
        # 3. Change -> page, the leak in the first, middle and last file.
        for where, name in (
            ("first", names[0]),
            ("middle", names[files // 2]),
            ("last", names[-1]),
        ):
            # Swapped just after a poll ended: the worst case, a full interval to wait.
            polls = daemon.metrics().get("leakmon_poll_duration_seconds_count", 0)
            _wait_for(
                lambda p=polls: daemon.metrics().get("leakmon_poll_duration_seconds_count", 0) > p,
                args.every + 900,
                0.2,
            )
            before = _opened(receiver, name)
            portal.publish(name, leak)
            waited = _wait_for(
                lambda b=before, n=name: _opened(receiver, n) > b, args.every * 2 + 600, 0.2
            )
            result.page_s[where] = waited
            print(f"   leak in the {where} file paged after {waited} s", flush=True)
            portal.publish(name, base)
        # 4. SIGTERM during a poll: wait for a poll to start (requests flowing), then stop.
        requests_now = len(portal.requests)
        _wait_for(
            lambda: len(portal.requests) > requests_now + min(files // 4, 5000),
            args.every + 600,
            0.1,
        )
        result.sigterm_s = daemon.stop()
        print(f"   SIGTERM during a poll: exited after {result.sigterm_s:.1f} s", flush=True)
        # 5. Restart: time to the first file request, then the first poll's wall time.
        requests_now = len(portal.requests)
        polls_before = m1["leakmon_poll_duration_seconds_count"]
        restarted = time.monotonic()
        daemon.start()
        # Any request (robots.txt comes first): the daemon is polling again.
        result.restart_first_request_s = _wait_for(
            lambda: len(portal.requests) > requests_now, 600, 0.05
        )
        first_poll = _wait_for(
            lambda: daemon.metrics().get("leakmon_poll_duration_seconds_count", 0) >= 1,
            args.every + 1200,
        )
        if first_poll is not None:
            m = daemon.metrics()
            result.restart_first_poll_s = m["leakmon_poll_duration_seconds_sum"]
        print(
            f"   restart: first request after {result.restart_first_request_s} s, first poll"
            f" {result.restart_first_poll_s} s (warm {result.poll_wall_s}); started"
            f" {time.monotonic() - restarted:.0f} s ago; earlier polls {polls_before:.0f}",
            flush=True,
        )
        daemon.stop()
    finally:
        if daemon.proc is not None and daemon.proc.is_running():
            daemon.stop()
        portal.stop()
        receiver.stop()
        if pg is not None:
            drop_postgres(pg)
    return result


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def table(results: list[Result], every: float) -> str:
    """Return the side-by-side table (one column per run)."""
    heads = [f"{r.files:,} {r.store}" for r in results]
    rows: list[tuple[str, list[str]]] = [
        (
            "first pass, files/s",
            [
                _fmt(r.files / r.first_pass_s if r.first_pass_s else None, ".1f")
                if r.first_pass_s
                else f"{r.first_pass_done:,} of {r.files:,} (limit)"
                for r in results
            ],
        ),
        ("CPU ms / unchanged file / poll", [_fmt(r.cpu_ms_per_file_poll, ".2f") for r in results]),
        ("poll wall, s", [_fmt(r.poll_wall_s, ".1f") for r in results]),
        ("requests / poll", [_fmt(r.requests_per_poll, ",.0f") for r in results]),
        ("daemon RSS peak, MB", [_fmt(r.daemon_rss_mb, ".0f") for r in results]),
        ("daemon RSS median, MB", [_fmt(r.daemon_rss_median_mb, ".0f") for r in results]),
        ("tree PSS peak, MB", [_fmt(r.tree_pss_mb, ".0f") for r in results]),
        ("store bytes / file", [_fmt(r.store_bytes_per_file, ",.0f") for r in results]),
    ]
    for where in ("first", "middle", "last"):
        rows.append(
            (
                f"change -> page, {where} file, s (bound {every + 10:g})",
                [_fmt(r.page_s.get(where), ".1f") for r in results],
            )
        )
    rows += [
        ("SIGTERM during a poll, s", [_fmt(r.sigterm_s, ".1f") for r in results]),
        ("restart -> first request, s", [_fmt(r.restart_first_request_s, ".1f") for r in results]),
        ("restart: first poll wall, s", [_fmt(r.restart_first_poll_s, ".1f") for r in results]),
    ]
    width = max(len(label) for label, _ in rows)
    lines = ["| " + " | ".join(["".ljust(width), *heads]) + " |"]
    lines.append("|" + "|".join(["-" * (width + 2)] + ["-" * (len(h) + 2) for h in heads]) + "|")
    for label, cells in rows:
        lines.append(
            "| "
            + " | ".join(
                [label.ljust(width), *(c.rjust(len(h)) for c, h in zip(cells, heads, strict=True))]
            )
            + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument(
        "--stores", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"]
    )
    parser.add_argument("--every", type=float, default=60.0, help="poll interval, seconds")
    parser.add_argument("--polls", type=int, default=2, help="steady polls measured")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per portal answer")
    parser.add_argument("--budget", type=int, default=200_000, help="max_requests_per_poll")
    parser.add_argument("--first-pass-limit", type=float, default=2400.0, help="seconds")
    parser.add_argument(
        "--close-connections",
        action="store_true",
        help="the portal closes every connection (no keep-alive)",
    )
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")
    print(
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores,"
        f" Python {platform.python_version()}, load {os.getloadavg()[0]:.2f};"
        f" poll every {args.every:g} s, latency {args.latency * 1000:g} ms,"
        f" keep-alive {'off' if args.close_connections else 'on'}",
        flush=True,
    )
    results = [run_one(n, s, args) for n in args.files for s in args.stores]
    print(table(results, args.every))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in results], indent=2))


if __name__ == "__main__":
    main()
