"""What the fault tests share: a real `leakmon run` process, receivers, a TCP proxy, store checks.

Everything binds and talks to 127.0.0.1 only. The daemon is a subprocess of the
test, so ``kill -9`` is a real SIGKILL of a real process; its scan workers (forked
by a forkserver) are in its session and are cleaned up with it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, text

from tests.net import free_port, get
from tests.processes import stop_process

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from sqlalchemy.engine import Engine


def wait_until(check: Callable[[], Any], timeout: float, step: float = 0.1) -> Any:
    """Return the first truthy ``check()`` within ``timeout`` seconds, else the last falsy one."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() >= deadline:
            return got
        time.sleep(step)


# -- the daemon ---------------------------------------------------------------------------


class Daemon:
    """One `leakmon run` process on a config file; restartable on the same store."""

    def __init__(
        self,
        tmp: Path,
        *,
        storage: str,
        portal_url: str,
        receiver_url: str | None = None,
        poll: float = 2,
        notify: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        verbose: bool = False,
    ) -> None:
        self.tmp = tmp
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        if notify is None:
            notify = []
            if receiver_url is not None:
                notify.append(
                    {
                        "name": "hook",
                        "kind": "webhook",
                        "url": receiver_url,
                        "min_severity": "low",
                        "timeout": 30,
                    }
                )
        config: dict[str, Any] = {
            "storage": storage,
            "http": {"listen": f"127.0.0.1:{self.port}"},
            "targets": [
                {
                    "name": "standin",
                    "start_urls": [portal_url],
                    "every": f"{poll}s",
                    "allowed_domains": ["127.0.0.1"],
                }
            ],
            "notify": notify,
            "crawl": {"autothrottle": False},
            **(extra or {}),
        }
        self.config = tmp / "leakmon.yaml"
        self.config.write_text(json.dumps(config))
        self.spool = tmp / "spool"  # the daemon's TMPDIR: downloads are spooled here
        self.spool.mkdir(exist_ok=True)
        self.env = {**os.environ, "TMPDIR": str(self.spool), **(env or {})}
        self.verbose = verbose
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    @property
    def log_path(self) -> Path:
        """Return the log file of the current (or last) run."""
        return self.tmp / f"daemon-{self.runs}.log"

    def start(self) -> Daemon:
        """Start a new run (the store is kept)."""
        self.runs += 1
        argv = [sys.executable, "-m", "monitor.cli", "run", "--config", str(self.config)]
        if self.verbose:
            argv.insert(3, "-v")
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                start_new_session=True,  # its scan workers share its process group
            )
        return self

    def wait_ready(self, timeout: float = 40) -> float:
        """Wait for /readyz 200; return the seconds it took."""
        started = time.monotonic()
        if not wait_until(lambda: self.readyz()[0] == 200 or not self.alive(), timeout, 0.2):
            raise AssertionError(f"daemon not ready within {timeout} s:\n{self.logs()[-3000:]}")
        if not self.alive():
            raise AssertionError(f"daemon exited:\n{self.logs()[-3000:]}")
        return time.monotonic() - started

    def alive(self) -> bool:
        """Say whether the process still runs."""
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        """SIGKILL the daemon process itself (not its workers: as the OOM killer would)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self._reap_group()

    def stop(self) -> None:
        """SIGTERM and wait; SIGKILL whatever is left of its process group."""
        if self.proc is None:
            return
        stop_process(self.proc)
        self._reap_group()

    def _reap_group(self) -> None:
        # Orphaned scan workers (their parent was SIGKILLed) only ever write to a
        # dead pipe, never to the store; end them so the next run starts clean.
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def logs(self) -> str:
        """Return the text of every run's log."""
        return "\n".join(
            (self.tmp / f"daemon-{i}.log").read_text(errors="replace")
            for i in range(1, self.runs + 1)
            if (self.tmp / f"daemon-{i}.log").exists()
        )

    def readyz(self) -> tuple[int, str]:
        """GET /readyz."""
        return get(self.base + "/readyz")

    def metrics(self) -> str:
        """GET /metrics (empty when the daemon does not answer)."""
        return get(self.base + "/metrics")[1]

    def metric(self, name: str, **labels: str) -> float:
        """Return the sum of a metric's samples matching ``labels`` (0 when absent)."""
        total = 0.0
        for line in self.metrics().splitlines():
            m = re.match(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$", line)
            if not m or m.group(1) != name:
                continue
            got = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            if all(got.get(k) == v for k, v in labels.items()):
                total += float(m.group(3))
        return total


# -- receivers ----------------------------------------------------------------------------


@dataclass
class Post:
    """One POST as it arrived (recorded before any answer is sent)."""

    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    @property
    def delivery(self) -> str:
        """Return the ``X-Leakmon-Delivery`` id."""
        return self.headers["X-Leakmon-Delivery"]

    def json(self) -> Any:
        """Return the parsed body (Any: it is whatever was sent)."""
        return json.loads(self.body)


class HoldingReceiver:
    """A webhook endpoint that records each POST on arrival and can hold it open.

    While ``hold`` is set, a POST is recorded and then left unanswered until
    ``release()``: the sender sits in the middle of a delivery. Every POST is
    recorded, also those answered with a failing ``status``.

    Args:
        port: where to listen; 0 picks a free port.
    """

    def __init__(self, port: int = 0) -> None:
        self.posts: list[Post] = []
        self.hold = False
        self.status = 200
        self.held = threading.Event()  # set when a POST is being held
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.posts.append(Post(dict(self.headers), body))
                    hold = receiver.hold
                if hold:
                    receiver.held.set()
                    receiver._release.wait(60)
                try:
                    self.send_response(receiver.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender is gone (it was killed mid-delivery)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

        self._server = Server(("127.0.0.1", port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the endpoint URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> HoldingReceiver:
        """Serve in the background."""
        self._thread.start()
        return self

    def release(self) -> None:
        """Stop holding: answer the held POST and every later one at once."""
        self.hold = False
        self._release.set()

    def stop(self) -> None:
        """Stop serving."""
        self._release.set()
        self._server.shutdown()
        self._server.server_close()

    def deliveries(self) -> Counter[str]:
        """Return how many times each delivery id arrived."""
        with self._lock:
            return Counter(p.delivery for p in self.posts)


# -- a TCP proxy that can be cut ----------------------------------------------------------


class TcpProxy:
    """127.0.0.1:port → upstream, in one thread; ``cut()`` refuses and drops, ``restore()`` heals.

    Cut closes the listening socket (new connections are refused) and every
    proxied connection (established ones break), as a database host going away
    would; restore listens on the same port again.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._sel = selectors.DefaultSelector()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self) -> TcpProxy:
        """Listen and start forwarding."""
        self._listen()
        self._thread.start()
        return self

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        with self._lock:
            self._listener = listener
            self._sel.register(listener, selectors.EVENT_READ, "accept")

    def cut(self) -> None:
        """Refuse new connections and drop the established ones."""
        with self._lock:
            if self._listener is not None:
                self._sel.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for sock in list(self._peers):
                self._close(sock)

    def restore(self) -> None:
        """Listen on the same port again."""
        self._listen()

    def stop(self) -> None:
        """Cut and end the thread."""
        self.cut()
        self._stop.set()
        self._thread.join(timeout=5)

    def _close(self, sock: socket.socket) -> None:
        other = self._peers.pop(sock, None)
        for s in (sock, other):
            if s is None:
                continue
            self._peers.pop(s, None)
            with contextlib.suppress(KeyError, ValueError):
                self._sel.unregister(s)
            s.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                events = self._sel.select(timeout=0) if self._sel.get_map() else []
            if not events:
                time.sleep(0.005)
                continue
            with self._lock:
                for key, _ in events:
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if key.data == "accept":
                        if sock is not self._listener:
                            continue
                        self._accept(sock)
                    elif sock in self._peers:
                        self._pump(sock)

    def _accept(self, listener: socket.socket) -> None:
        try:
            client, _ = listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(self.upstream, timeout=3)
        except OSError:
            client.close()
            return
        for s in (client, server):
            s.setblocking(False)
            self._sel.register(s, selectors.EVENT_READ, "pump")
        self._peers[client], self._peers[server] = server, client

    def _pump(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._close(sock)
            return
        other = self._peers[sock]
        try:
            other.setblocking(True)
            other.sendall(data)
            other.setblocking(False)
        except OSError:
            self._close(sock)


# -- databases ----------------------------------------------------------------------------


def engine_for(storage: str) -> Engine:
    """Return an engine to inspect a store from the test (never through the daemon)."""
    if storage.startswith("sqlite"):
        return create_engine(storage, connect_args={"timeout": 30})
    return create_engine(storage, connect_args={"connect_timeout": 5})


def rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    """Return a query's rows as dicts (``:name`` placeholders take ``params``)."""
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def check_consistent(engine: Engine) -> dict[str, int]:
    """Assert the store has no half-written state; return row counts per table.

    Every finding has its events (one per sequence, 1..sequence, no gaps), unique
    keys; every incident has its events likewise, and one incident per resource;
    every outbox row points at an existing incident event; every finding's
    resource exists; every scan's resource exists.
    """
    findings = rows(engine, "SELECT id, key, sequence, resource_id FROM findings")
    keys = [f["key"] for f in findings]
    assert len(keys) == len(set(keys)), "duplicate finding keys"
    events = rows(engine, "SELECT finding_id, sequence FROM finding_events")
    by_finding: dict[int, list[int]] = {}
    for e in events:
        by_finding.setdefault(e["finding_id"], []).append(e["sequence"])
    ids = {f["id"] for f in findings}
    assert set(by_finding) <= ids, "events of a finding that does not exist"
    for f in findings:
        seqs = sorted(by_finding.get(f["id"], []))
        assert seqs == list(range(1, f["sequence"] + 1)), (f["key"], seqs, f["sequence"])
    incidents = rows(engine, "SELECT id, resource_id, sequence FROM incidents")
    assert len({i["resource_id"] for i in incidents}) == len(incidents), "two incidents, one file"
    by_incident: dict[int, list[int]] = {}
    for e in rows(engine, "SELECT incident_id, sequence FROM incident_events"):
        by_incident.setdefault(e["incident_id"], []).append(e["sequence"])
    for i in incidents:
        seqs = sorted(by_incident.get(i["id"], []))
        assert seqs == list(range(1, i["sequence"] + 1)), (i["id"], seqs, i["sequence"])
    outbox = rows(engine, "SELECT incident_id, sequence FROM outbox")
    for o in outbox:
        assert o["sequence"] in by_incident.get(o["incident_id"], []), "outbox row, no event"
    resources = {r["id"] for r in rows(engine, "SELECT id FROM resources")}
    assert {i["resource_id"] for i in incidents} <= resources
    assert {f["resource_id"] for f in findings} <= resources
    scans = rows(engine, "SELECT resource_id FROM scans")
    assert {s["resource_id"] for s in scans} <= resources
    return {
        "findings": len(findings),
        "events": len(events),
        "outbox": len(outbox),
        "scans": len(scans),
        "resources": len(resources),
    }


def scan_in_progress(engine: Engine, url: str) -> bool:
    """Say whether a file was taken for scanning (resource touched) but has no scan row yet."""
    got = rows(
        engine,
        "SELECT r.id, (SELECT count(*) FROM scans s WHERE s.resource_id = r.id) AS n "
        "FROM resources r WHERE r.url = :url",
        url=url,
    )
    return bool(got) and got[0]["n"] == 0


def outbox_deliveries(engine: Engine) -> dict[str, bool]:
    """Return each outbox row's delivery id (``key:sequence``) and whether it is delivered."""
    got = rows(
        engine,
        "SELECT i.key, o.sequence, o.delivered_at FROM outbox o JOIN incidents i "
        "ON i.id = o.incident_id",
    )
    return {f"{r['key']}:{r['sequence']}": r["delivered_at"] is not None for r in got}


def iter_text(engine: Engine) -> Iterator[tuple[str, str, str]]:
    """Yield (table, column, value as text) for every cell of every table of a store."""
    from sqlalchemy import MetaData

    meta = MetaData()
    meta.reflect(engine)
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(table.select()):
                for column, value in row._mapping.items():
                    if value is not None:
                        yield table.name, str(column), str(value)
