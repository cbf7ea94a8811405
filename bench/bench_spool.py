"""Daemon memory while four large files download at once: bodies stream to disk, not to RAM.

Starts a file server on 127.0.0.1 (its own process: its memory is not counted)
whose index page links four files of ``--mib`` MiB each, then a real
``leakmon run`` on it, and samples the daemon process's resident memory
(VmRSS, the main process only: scan workers are separate processes) every
50 ms until the server has sent every byte of the four files. Prints the peak.

    .venv/bin/python bench/bench_spool.py            # 4 x 500 MiB
    .venv/bin/python bench/bench_spool.py --mib 100  # quicker

Before bodies were streamed (issue 16), four 500 MiB files took the daemon to
2.1 GB RSS: Scrapy held each body in memory, twice while it joined it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

_SERVER = textwrap.dedent(
    """
    import sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    size = int(sys.argv[1]) * 1024 * 1024
    sent = [0]
    lock = threading.Lock()
    chunk = bytes(range(256)) * 4096  # 1 MiB of binary bytes: quickly refused by the scan
    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass
        def do_GET(self):
            if self.path == "/":
                body = "".join(f'<a href="/data/f{i}.csv">f{i}</a>' for i in range(4)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if not self.path.startswith("/data/"):
                self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(size))
            self.end_headers()
            left = size
            while left:
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n])
                left -= n
                with lock:
                    sent[0] += n
            with lock:
                print(sent[0], flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", 0), H)
    print(server.server_address[1], flush=True)
    server.serve_forever()
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    """Run the benchmark and print the daemon's peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=500, help="size of each of the four files")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-bench-spool-"))
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(args.mib)], stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None
    port = int(server.stdout.readline())
    config = {
        "storage": f"sqlite:///{tmp / 'state.db'}",
        "http": {"listen": f"127.0.0.1:{_free_port()}"},
        "targets": [
            {
                "name": "bench",
                "start_urls": [f"http://127.0.0.1:{port}/"],
                "every": "1h",
                "allowed_domains": ["127.0.0.1"],
            }
        ],
        "crawl": {"autothrottle": False, "download_max_mb": args.mib + 10},
    }
    path = tmp / "leakmon.yaml"
    path.write_text(json.dumps(config))
    spool = tmp / "spool"
    spool.mkdir()
    daemon = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "run", "--config", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TMPDIR": str(spool)},
        start_new_session=True,
    )
    total = 4 * args.mib * 1024 * 1024
    finished = 0
    peak, started = 0.0, time.monotonic()
    os.set_blocking(server.stdout.fileno(), False)
    try:
        while finished < 4 and time.monotonic() - started < 600:
            peak = max(peak, _rss_mib(daemon.pid))
            for line in server.stdout:
                if line.strip():
                    finished += 1
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # the last bodies are closed and handed to the scan
        peak = max(peak, _rss_mib(daemon.pid))
    finally:
        os.killpg(daemon.pid, signal.SIGTERM)
        daemon.wait(30)
        server.terminate()
        server.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)
    sent_mib = total / 1024**2 if finished == 4 else float("nan")
    print(
        f"4 files x {args.mib} MiB downloaded at once ({sent_mib:.0f} MiB in {elapsed:.1f} s):"
        f" daemon peak RSS {peak:.0f} MiB"
        + ("" if finished == 4 else f" (only {finished} of 4 files finished)")
    )
    return 0 if finished == 4 else 1


if __name__ == "__main__":
    raise SystemExit(main())
