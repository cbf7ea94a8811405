"""Where one warm poll's CPU goes (issue 18, item 2): py-spy over one poll, grouped by layer.

The scale benchmark measures CPU per unchanged file per poll; this one says where it
goes, so that work on it aims at what costs. It runs `leakmon run` against the same
stand-in portal of N small files as `bench_scale.py` (SQLite or PostgreSQL), waits for
the first pass and one warm poll, then samples the daemon's own process with py-spy
through the next poll (``--nonblocking``: the daemon is not paused) and prints:

- the daemon's user and system CPU over that poll, per request;
- the samples' innermost frame grouped by layer (leakmon, Scrapy, Twisted, SQLAlchemy,
  the standard library, other libraries), so "self" time per layer;
- the functions with the most self samples, and leakmon's functions by inclusive samples.

py-spy samples wall-clock stacks of every thread; samples of idle threads (waiting on a
lock or in ``select``) are counted apart, as "idle", so the layers add up to the busy
samples only. Usage:

  .venv/bin/python bench/profile_poll.py --files 10000
  .venv/bin/python bench/profile_poll.py --files 10000 --store postgres --raw /tmp/poll.txt
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.bench_daemon import _free_port  # noqa: E402
from bench.bench_scale import Daemon, _config, _wait_for, publish_small_files  # noqa: E402
from monitor.standin import Portal, Receiver  # noqa: E402
from tests.databases import create_postgres, drop_postgres  # noqa: E402

#: Innermost functions that mean the thread is waiting (on a lock, a queue, epoll), not
#: working: py-spy may sample a thread blocked in C code as active.
_IDLE = frozenset({"wait", "select", "poll", "doPoll", "acquire", "sleep", "_worker", "get"})
_IDLE_FILES = (
    "threading.py", "queue.py", "selectors.py", "epollreactor.py", "socket.py", "thread.py"
)  # fmt: skip

_LAYERS = (
    ("leakmon", (f"{ROOT}/monitor/", f"{ROOT}/spiders/")),
    ("scrapy", ("/scrapy/",)),
    ("twisted", ("/twisted/",)),
    ("sqlalchemy", ("/sqlalchemy/",)),
    ("parsel/lxml", ("/parsel/", "/lxml/", "/w3lib/")),
    ("prometheus", ("/prometheus_client/",)),
    ("other library", ("site-packages",)),
)


def _layer(filename: str) -> str:
    for name, marks in _LAYERS:
        if any(m in filename for m in marks):
            return name
    return "stdlib"


def _frames(stack: str) -> list[tuple[str, str]]:
    """Return (function, file) pairs, outermost first, from one py-spy raw stack."""
    out = []
    for frame in stack.split(";")[1:]:  # the first is the thread ("thread (1234): name")
        # "function (file:line)"
        head, _, rest = frame.partition(" (")
        out.append((head, rest.rsplit(":", 1)[0]))
    return out


def _idle(func: str, filename: str) -> bool:
    return filename.endswith(_IDLE_FILES) and func.rsplit(".", 1)[-1] in _IDLE


def summarise(raw: Path) -> str:
    """Group py-spy's raw (collapsed) stacks by layer and by function."""
    layers: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    idle = busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in _frames(stack) if f[1]]
        if not frames:
            continue
        n = int(count)
        func, filename = frames[-1]
        if _idle(func, filename):
            idle += n
            continue
        busy += n
        layers[_layer(filename)] += n
        own[f"{func} ({Path(filename).name})"] += n
        for name in {f"{f} ({Path(p).name})" for f, p in frames if _layer(p) == "leakmon"}:
            inclusive[name] += n
    lines = [f"busy samples {busy:,}, idle {idle:,}", "", "self samples by layer:"]
    lines += [f"  {k:14} {v / busy:6.1%}" for k, v in layers.most_common()]
    lines += ["", "top functions by self samples:"]
    lines += [f"  {v / busy:6.1%}  {k}" for k, v in own.most_common(30)]
    lines += ["", "leakmon functions by inclusive samples:"]
    lines += [f"  {v / busy:6.1%}  {k}" for k, v in inclusive.most_common(30)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--store", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--every", type=float, default=60.0)
    parser.add_argument("--budget", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--raw", type=Path, help="keep py-spy's raw stacks here")
    parser.add_argument(
        "--blocking",
        dest="spy",
        action="store_const",
        const=[],
        default=["--nonblocking"],
        help="pause the daemon for each sample: whole stacks, slower poll",
    )
    args = parser.parse_args()
    args.close_connections = False
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-profile-"))
    pg = create_postgres("leakmon_profile") if args.store == "postgres" else None
    storage = pg.url if pg is not None else f"sqlite:///{tmp / 'state.db'}"
    portal, receiver = Portal(keep_alive=True).start(), Receiver().start()
    publish_small_files(portal, tmp, args.files)
    port = _free_port()
    daemon = Daemon(_config(tmp, storage, portal, receiver, args, port), tmp / "daemon.log", port)
    polls = lambda: daemon.metrics().get("leakmon_poll_duration_seconds_count", 0)  # noqa: E731
    try:
        daemon.start()
        assert daemon.proc is not None
        scanned = lambda: daemon.metrics().get("leakmon_scans_total", 0) >= args.files  # noqa: E731
        if _wait_for(scanned, 3600, 2) is None:
            raise SystemExit("first pass did not finish within an hour")
        # One warm poll after the first pass, then profile the next one from its start.
        n = polls()
        _wait_for(lambda: polls() > n, args.every * 3 + 600)
        n, seen = polls(), len(portal.requests)
        _wait_for(lambda: len(portal.requests) > seen, args.every * 2, 0.05)
        requests0 = len(portal.requests)
        user0, sys0, *_ = daemon.proc.cpu_times()  # the daemon's own, not its workers'
        raw = args.raw or tmp / "poll.txt"
        spy = subprocess.Popen(
            ["py-spy", "record", "--pid", str(daemon.proc.pid), *args.spy, "--threads",
             "--full-filenames", "--format", "raw", "--rate", str(args.rate), "--output",
             str(raw)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started = time.monotonic()
        _wait_for(lambda: polls() > n, args.every * 3 + 600, 1.0)
        wall = time.monotonic() - started
        user1, sys1, *_ = daemon.proc.cpu_times()
        spy.send_signal(2)  # SIGINT: py-spy writes what it has and exits
        spy.wait(60)
        requests = len(portal.requests) - requests0
        print(
            f"{args.files:,} files, {args.store}: a warm poll, {requests:,} requests, {wall:.1f} s"
        )
        user, system = user1 - user0, sys1 - sys0
        per = 1000 / max(requests, 1)  # ms per request for each CPU second
        print(
            f"daemon CPU: user {user:.1f} s, system {system:.1f} s"
            f" = {(user + system) * per:.3f} ms per request"
            f" (user {user * per:.3f}, system {system * per:.3f})"
        )
        print(summarise(raw))
    finally:
        daemon.stop()
        portal.stop()
        receiver.stop()
        if pg is not None:
            drop_postgres(pg)


if __name__ == "__main__":
    main()
