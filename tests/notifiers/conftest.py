"""Fixtures for notifier tests: a recording HTTP receiver on 127.0.0.1, alerts, a fake clock."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest

from monitor.models import Alert, AlertFinding, Severity

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from email.message import Message

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Answer:
    """What the receiver answers one request with."""

    status: int = 200
    body: bytes = b"ok"
    headers: dict[str, str] = field(default_factory=dict)


#: Receiver behaviours besides an ``Answer``: never answer, or drop the connection.
HANG = "hang"
CLOSE = "close"


@dataclass
class Received:
    """One request the receiver got, and what it answered (``None``: no answer)."""

    method: str
    path: str
    headers: Message
    body: bytes
    status: int | None

    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    """An HTTP server on 127.0.0.1 that records every request.

    It answers ``respond(...)`` (200 "ok" unless told otherwise). ``fail(n, status)``,
    ``hang(n)`` and ``drop(n)`` change how the next ``n`` requests are answered: with
    an error status, not at all until the test ends, or by closing the connection.
    """

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answer = Answer()
        self.release = threading.Event()
        self._plan: deque[Answer | str] = deque()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    how = receiver._plan.popleft() if receiver._plan else receiver.answer
                    status = how.status if isinstance(how, Answer) else None
                    receiver.requests.append(
                        Received(self.command, self.path, self.headers, body, status)
                    )
                if how == HANG:
                    receiver.release.wait(10)
                    self.close_connection = True
                    return
                if how == CLOSE:
                    self.close_connection = True
                    return
                assert isinstance(how, Answer)
                self.send_response(how.status)
                for name, value in how.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(how.body)))
                self.end_headers()
                self.wfile.write(how.body)

            do_GET = do_POST  # record a redirected GET too, should one ever come

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def respond(self, status: int, body: bytes = b"ok") -> None:
        """Set the answer given when no failure is planned."""
        self.answer = Answer(status, body)

    def fail(
        self,
        n: int,
        status: int = 500,
        body: bytes = b"server error",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``n`` requests with ``status``."""
        self._plan_next(n, Answer(status, body, headers or {}))

    def hang(self, n: int) -> None:
        """Never answer the next ``n`` requests (until the test ends)."""
        self._plan_next(n, HANG)

    def drop(self, n: int) -> None:
        """Close the connection without answering the next ``n`` requests."""
        self._plan_next(n, CLOSE)

    def _plan_next(self, n: int, how: Answer | str) -> None:
        with self._lock:
            self._plan.extend([how] * n)

    @property
    def accepted(self) -> list[Received]:
        """Return the requests answered with a 2xx status."""
        return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep urllib from sending 127.0.0.1 requests through a proxy from the environment."""
    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Return a recording HTTP receiver bound to 127.0.0.1."""
    server = Receiver()
    yield server
    server.close()


def _alert(**overrides: Any) -> Alert:
    """Build a synthetic incident event of a CCW-like file.

    By default the incident has two findings (names over two columns, SSNs over
    one). The per-finding fields of the old one-finding alerts (``table``,
    ``columns``, ``entities``, ``evidence``, ``matched``) are still accepted: they
    build one finding per entity, the first carrying the columns and evidence.
    """
    legacy = {k: overrides.pop(k) for k in _LEGACY if k in overrides}
    event = overrides.get("event", "opened")
    status = "resolved" if event == "resolved" else "open"
    change = "resolved" if event == "resolved" else "opened"
    if "findings" not in overrides:
        if legacy:
            entities = legacy.get("entities", ("PERSON",))
            overrides["findings"] = tuple(
                AlertFinding(
                    key=f"fk-{n}",
                    entity=entity,
                    severity=overrides.get("severity", Severity.HIGH),
                    status=status,
                    table=legacy.get("table"),
                    columns=tuple(legacy.get("columns", ("name",))) if n == 0 else (),
                    evidence=tuple(legacy.get("evidence", ())) if n == 0 else (),
                    matched=int(legacy.get("matched", 120)) if n == 0 else 0,
                    reason="synthetic finding",
                    change=change,
                )
                for n, entity in enumerate(entities)
            )
        else:
            overrides["findings"] = (
                AlertFinding(
                    key="fk-person",
                    entity="PERSON",
                    severity=Severity.HIGH,
                    status=status,
                    table=None,
                    columns=("first_name", "last_name"),
                    evidence=("J*** S****",),
                    matched=100,
                    reason="Columns first_name and last_name hold names.",
                    change=change,
                ),
                AlertFinding(
                    key="fk-ssn",
                    entity="US_SSN",
                    severity=Severity.HIGH,
                    status=status,
                    table=None,
                    columns=("ssn",),
                    evidence=("***-**-6789",),
                    matched=20,
                    reason="Column ssn holds US social security numbers.",
                    change=change,
                ),
            )
    values: dict[str, Any] = {
        "event": "opened",
        "key": "f-0001",
        "severity": Severity.HIGH,
        "target": "openjustice",
        "resource_url": "https://data.example.gov/files/ccw_permits.csv",
        "reason": "Column ssn holds US social security numbers.",
        "occurred_at": T0,
        "sequence": 1,
        "link": "https://leakmon.example.gov/findings/f-0001",
        "opened_at": T0,
    }
    values.update(overrides)
    return Alert(**values)


_LEGACY = ("table", "columns", "entities", "evidence", "matched")


@pytest.fixture
def make_alert() -> Callable[..., Alert]:
    """Return a factory of synthetic alerts that takes field overrides."""
    return _alert


class FakeClock:
    """A UTC clock that moves only when told to."""

    def __init__(self, start: dt.datetime = T0) -> None:
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    """Return a fake clock starting at 2026-11-01 12:00 UTC."""
    return FakeClock()
