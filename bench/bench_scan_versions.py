"""Scan speed of two versions of leakmon side by side, in one run, on the same file.

Checks that detection work did not slow the scanner down (issue 15: within 10%). The
base version is checked out with ``git worktree`` into a temporary folder; each
version scans the 192,000-row CCW-shaped file (``tests.synthetic``) in its own Python
process pinned to one core, with ``POLARS_MAX_THREADS=1``: warm (``scan_path`` in
process, median of 5 after one warm-up call, as the daemon's long-lived workers do)
and cold (``leakmon scan --format json FILE`` as a subprocess, median of 3). The two
versions alternate, so load on the machine hits both alike.

Usage: .venv/bin/python bench/bench_scan_versions.py [--base REV] [--rows 192000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import synthetic  # noqa: E402

#: Runs in each version's tree: times a warm in-process scan, prints JSON.
_WARM = """
import json, os, statistics, sys, time
from pathlib import Path
os.sched_setaffinity(0, {0})
from monitor.scan import scan_path
path = Path(sys.argv[1])
scan_path(path)
times = []
for _ in range(5):
    t = time.perf_counter()
    report = scan_path(path)
    times.append(time.perf_counter() - t)
print(json.dumps({"warm": statistics.median(times), "findings": len(report.findings)}))
"""


def _env(tree: Path) -> dict[str, str]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", PYTHONPATH=str(tree))
    env["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
    return env


def _warm(tree: Path, path: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _WARM, str(path)],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cold(tree: Path, path: Path) -> float:
    """Return the wall time of one ``leakmon scan`` process of this tree, pinned to a core."""
    import time

    started = time.perf_counter()
    subprocess.run(
        [
            "taskset",
            "-c",
            "0",
            sys.executable,
            "-m",
            "monitor.cli",
            "scan",
            "--format",
            "json",
            str(path),
        ],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        check=False,  # exit 1: personal data found, as expected
        timeout=900,
    )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base", default="328925b^", help="the version to compare against")
    parser.add_argument("--rows", type=int, default=192_000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="leakmon-versions-"))
    base = tmp / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", str(base), args.base],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    try:
        path = synthetic.ccw_applicants_csv(tmp, rows=args.rows)
        trees = {"base": base, "head": ROOT}
        warm: dict[str, list[float]] = {k: [] for k in trees}
        cold: dict[str, list[float]] = {k: [] for k in trees}
        findings: dict[str, float] = {}
        for _ in range(3):  # alternate, so both see the same load
            for name, tree in trees.items():
                w = _warm(tree, path)
                warm[name].append(w["warm"])
                findings[name] = w["findings"]
                cold[name].append(_cold(tree, path))
        rev = subprocess.run(
            ["git", "rev-parse", "--short", args.base], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        print(f"{args.rows:,}-row CCW-shaped file ({path.stat().st_size / 1e6:.1f} MB), one core")
        print(f"{'':28} {'base ' + rev:>14} {'head':>10} {'head/base':>10}")
        for label, series in (
            ("warm scan_path, median", warm),
            ("cold leakmon scan, median", cold),
        ):
            b, h = statistics.median(series["base"]), statistics.median(series["head"])
            print(f"{label:28} {b:>13.3f}s {h:>9.3f}s {h / b:>10.2f}")
        print(f"{'findings':28} {findings['base']:>14.0f} {findings['head']:>10.0f}")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
