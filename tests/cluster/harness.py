"""Several real ``leakmon run`` replicas on loopback, sharing a fresh PostgreSQL database and Redis.

Used by the cluster end-to-end tests and by ``bench/bench_cluster.py``: a stand-in
portal of many files, a webhook receiver, and N replica processes started with the
same configuration (each with its own name and metrics port).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis
from sqlalchemy import create_engine, text

from monitor.standin import Portal, Receiver
from tests import synthetic
from tests.databases import ADMIN_URL, Postgres, create_postgres, drop_postgres
from tests.net import free_port, get
from tests.processes import stop_process

REDIS_URL = os.environ.get("LEAKMON_TEST_REDIS", "redis://127.0.0.1:6379/0")
REPO = Path(__file__).resolve().parents[2]


def drop_redis_keys(prefix: str) -> None:
    """Delete every Redis key of a cluster prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@dataclass
class Replica:
    """One ``leakmon run`` process."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log_path: Path

    def ready(self) -> bool:
        """Say whether /readyz answers 200."""
        return get(f"http://127.0.0.1:{self.port}/readyz")[0] == 200

    def metrics(self) -> str:
        """Return the /metrics text ("" when it does not answer)."""
        return get(f"http://127.0.0.1:{self.port}/metrics")[1]

    def log(self) -> str:
        """Return the end of the replica's log."""
        return self.log_path.read_text(errors="replace")[-3000:]

    def alive(self) -> bool:
        """Say whether the process still runs."""
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the replica vanishes mid-work, as when its node dies."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 20 s)."""
        stop_process(self.proc)


@dataclass
class Cluster:
    """A stand-in portal, a receiver, a fresh database and Redis prefix, and the replicas."""

    tmp: Path
    every: float = 10.0
    lease: float = 5.0
    scan_workers: int = 2
    portal: Portal = field(default_factory=lambda: Portal().start())
    receiver: Receiver = field(default_factory=lambda: Receiver().start())
    prefix: str = field(default_factory=lambda: f"leakmon-test-{secrets.token_hex(6)}")
    replicas: dict[str, Replica] = field(default_factory=dict)
    database: Postgres | None = None
    redis_url: str = REDIS_URL
    #: Settings merged into each replica's ``crawl`` section (a benchmark's budget).
    crawl: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.database = create_postgres("leakmon_cluster")
        if self.database is None:
            raise RuntimeError(f"PostgreSQL is not reachable at {ADMIN_URL}")

    @property
    def storage(self) -> str:
        """Return the shared database's URL."""
        assert self.database is not None
        return self.database.url

    def publish_files(self, clean: int, leaks: int) -> list[str]:
        """Publish ``clean`` distinct clean CSVs and ``leaks`` leaking ones; return the leaks."""
        files = self.tmp / "files"
        for n in range(clean):
            body = synthetic.clean_aggregate_csv(files / f"c{n}", seed=n).read_bytes()
            self.portal.publish(f"counts_{n:04d}.csv", body)
        names = []
        for n in range(leaks):
            body = synthetic.ccw_applicants_csv(files / f"l{n}", rows=40, seed=n).read_bytes()
            name = f"permits_{n:03d}.csv"
            self.portal.publish(name, body)
            names.append(name)
        return names

    def publish_variants(self, clean: int) -> None:
        """Publish ``clean`` clean CSVs, ``counts_0000.csv``..., each a variant of one.

        For thousands of files: one synthetic file, each copy changed in one cell so
        every file has its own digest (``publish_files`` generates each file afresh).
        """
        _, variants = synthetic.clean_variants(self.tmp / "files" / "base", clean)
        for n, body in enumerate(variants):
            self.portal.publish(f"counts_{n:04d}.csv", body)

    def config(self, name: str, port: int) -> Path:
        """Write one replica's configuration (the same for all but name and port)."""
        path = self.tmp / f"{name}.yaml"
        settings: dict[str, Any] = {
            "storage": self.storage,
            "http": {"listen": f"127.0.0.1:{port}"},
            "scan_workers": self.scan_workers,
            "cluster": {
                "redis": self.redis_url,
                "replica": name,
                "lease": f"{self.lease}s",
                "prefix": self.prefix,
            },
            "targets": [
                {
                    "name": "standin",
                    "kind": "html",
                    "start_urls": [self.portal.url],
                    "every": f"{self.every}s",
                    "allowed_domains": ["127.0.0.1"],
                }
            ],
            "notify": [
                {
                    "name": "hook",
                    "kind": "webhook",
                    "url": self.receiver.url,
                    "secret": "cluster-secret",
                    "min_severity": "high",
                }
            ],
            "crawl": {"autothrottle": False, "concurrent_requests": 8, **self.crawl},
        }
        path.write_text(json.dumps(settings))
        return path

    def start(self, name: str) -> Replica:
        """Start a replica process."""
        port = free_port()
        log_path = self.tmp / f"{name}.log"
        with log_path.open("w") as log:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "monitor.cli",
                    "run",
                    "--config",
                    str(self.config(name, port)),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=REPO,
            )
        replica = Replica(name, port, proc, log_path)
        self.replicas[name] = replica
        return replica

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until every live replica answers /readyz."""
        deadline = time.monotonic() + timeout
        for replica in self.replicas.values():
            while not replica.ready():
                if not replica.alive() or time.monotonic() > deadline:
                    raise AssertionError(f"{replica.name} not ready:\n{replica.log()}")
                time.sleep(0.3)

    def full_gets(self) -> dict[str, int]:
        """Return how many unconditional GETs each published file received."""
        out: dict[str, int] = {}
        for _, path, conditional in list(self.portal.requests):
            if path.startswith("/data/") and not conditional:
                out[path[6:]] = out.get(path[6:], 0) + 1
        return out

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run a read query on the shared database."""
        engine = create_engine(self.storage)
        try:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(query))]
        finally:
            engine.dispose()

    def close(self) -> None:
        """Stop everything and drop the database and the Redis keys."""
        for replica in self.replicas.values():
            replica.stop()
        self.portal.stop()
        self.receiver.stop()
        if self.database is not None:
            drop_postgres(self.database)
        drop_redis_keys(self.prefix)
