"""Budget rotation at scale (issue 18, target 8): every file checked within ceil(N / budget) polls.

A stand-in HTML portal (monitor.standin, keep-alive, on 127.0.0.1) links N small files
from one index page; one target polls it with ``crawl.max_requests_per_poll`` = B,
through the real crawler (``CrawlService``, Scrapy) and a stand-in daemon that keeps
each file's validators in memory (``tests.crawl.recording``), so a file checked again
answers 304. It polls ceil(N / (B - 2)) + 1 times and prints, per poll, the files checked
(any answer: new, unchanged, error), the files the budget left out, the poll's wall
time, and how many distinct files have been checked so far; then whether every file
was checked within ceil(N / B) polls, counted in polls, never as a bare pass.

The crawl runs in a child process (``tests.crawl.driver``: Twisted's reactor runs once
per process); the numbers come back as JSON.

Usage:
  .venv/bin/python bench/bench_rotation.py --files 100000 --budget 25000
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_NAME = "bench.bench_rotation:rotation"


async def rotation(reactor: Any) -> dict[str, Any]:  # Any: the driver's reactor
    """Poll the portal ceil(N / (B - 2)) + 1 times; record which files each poll checked."""
    from monitor.config import Settings
    from monitor.crawl import CrawlService
    from monitor.metrics import Metrics
    from monitor.standin import Portal
    from tests.crawl.recording import RecordingHooks

    files, budget = int(os.environ["ROTATION_FILES"]), int(os.environ["ROTATION_BUDGET"])
    portal = Portal(keep_alive=True)
    body = b"county,year,count\n" + b"Alameda,2021,12\n" * 40
    for i in range(files):
        portal.publish(f"table_{i:06d}.csv", body.replace(b"Alameda", f"c{i}".encode(), 1))
    portal.start()
    hooks = RecordingHooks()
    target = {
        "name": "rotation",
        "kind": "html",
        "start_urls": [portal.url],
        "allowed_domains": ["127.0.0.1"],
        "every": 60,
    }
    crawl = {"max_requests_per_poll": budget, "obey_robots_txt": False, "download_timeout": 30}
    settings = Settings.model_validate({"targets": [target], "crawl": crawl})
    service = CrawlService(settings, hooks, Metrics())
    answered = {"on_file", "on_unchanged", "on_fetch_error", "on_gone"}
    polls: list[dict[str, Any]] = []
    try:
        for _ in range(math.ceil(files / (budget - 2)) + 1):
            start, began, asked = len(hooks.events), time.monotonic(), len(portal.requests)
            ok = await service.poll("rotation")
            new = hooks.events[start:]
            checked = {e["url"] for e in new if e["hook"] in answered}
            coverage = [e for e in new if e["hook"] == "on_coverage"]
            counts = coverage[0]["counts"] if coverage else {}
            polls.append(
                {
                    "ok": ok,
                    "wall_s": round(time.monotonic() - began, 1),
                    "checked": sorted(checked),
                    "budget_left_out": counts.get("budget", 0),
                    # The start page: where a file published since the last poll appears.
                    "start_page_read": any(p == "/" for _, p, _ in portal.requests[asked:]),
                }
            )
            hooks.events.clear()  # this poll's record is kept above; the rest is not needed
    finally:
        portal.stop()
    return {"files": files, "budget": budget, "polls": polls}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--budget", type=int, default=25_000, help="max_requests_per_poll")
    parser.add_argument("--limit", type=float, default=5400, help="seconds for all polls")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
        f" load {os.getloadavg()[0]:.2f}; {args.files:,} files, budget {args.budget:,}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="leakmon-rotation-") as tmp:
        out = Path(tmp) / "rotation.json"
        env = dict(
            os.environ,
            ROTATION_FILES=str(args.files),
            ROTATION_BUDGET=str(args.budget),
            TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="",
        )
        command = [sys.executable, "-m", "tests.crawl.driver", _NAME, str(out)]
        subprocess.run([*command, "--limit", str(args.limit)], cwd=ROOT, env=env, check=False)
        written = json.loads(out.read_text()) if out.is_file() else {}
    if "result" not in written:
        raise SystemExit(f"the crawl did not finish: {written.get('error', 'no result')}")
    result = written["result"]
    seen: set[str] = set()
    needed = math.ceil(args.files / args.budget)
    print(
        "\n| poll | start page read | checked | left out by the budget | wall, s | checked so far |"
    )
    print("|---|---|---|---|---|---|")
    for n, poll in enumerate(result["polls"], 1):
        seen |= set(poll["checked"])
        print(
            f"| {n} | {'yes' if poll['start_page_read'] else 'NO'} | {len(poll['checked']):,} |"
            f" {poll['budget_left_out']:,} | {poll['wall_s']} | {len(seen):,} of {args.files:,} |"
        )
    # The budget counts every request: the start page (and robots.txt when obeyed) too,
    # so a poll checks budget - 1 (or - 2) files; the README says ceil(N / (budget - 2)).
    for label, polls in (
        ("ceil(N / budget)", needed),
        ("ceil(N / (budget - 2))", math.ceil(args.files / (args.budget - 2))),
    ):
        within: set[str] = set().union(*(set(p["checked"]) for p in result["polls"][:polls]))
        print(
            f"within {label} = {polls} polls: {len(within):,} of {args.files:,}"
            f" files checked ({args.files - len(within):,} not yet)"
        )


if __name__ == "__main__":
    main()
