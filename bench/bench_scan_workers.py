"""Benchmark the first pass's scan rate: a fresh worker per file against long-lived workers.

Run from the repository root: ``.venv/bin/python bench/bench_scan_workers.py``. It writes
``--files`` small CSV files (a few KB each; half CCW-shaped rows of synthetic people, half
clean county counts, both from ``tests/synthetic.py``) and scans them all through
``monitor.isolation.IsolatedScanner`` from ``--threads`` threads, as the daemon's scan
pool does, twice in one run:

- **per-file**: ``worker_max_files: 1``, so every file gets a fresh worker that builds the
  detector and exits after its one file (what ``IsolatedScanner`` did before workers were
  kept); by default on the first ``--old-files`` files only (the same alternation of leak
  and clean files), as it is slow;
- **persistent**: the default settings, one long-lived worker per thread.

Both use the daemon's default ``ScanConfig`` (free-text analysis on, the default limits).
It prints files/s, how many workers were started, CPU per file (in the workers, as they
report it, and in this process), errors, and how many of the leak files and clean files
were flagged, so a fast but wrong scan cannot pass unnoticed. CPU per file moves far less
with the load of a shared machine than files/s does.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import random
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from monitor.config import LimitsConfig, ScanConfig  # noqa: E402 (needs ROOT on sys.path)
from monitor.isolation import IsolatedScanner  # noqa: E402
from tests.synthetic import CCW_COLUMNS, ccw_rows, clean_aggregate_csv  # noqa: E402

TARGET_FILES_PER_S = 50.0


@dataclass
class Run:
    """One mode's measurement."""

    mode: str
    files: int
    seconds: float
    files_per_s: float
    workers_started: int
    worker_cpu_ms_per_file: float
    parent_cpu_ms_per_file: float
    errors: int
    leaks_flagged: int
    leaks: int
    clean_flagged: int
    clean: int
    load_before: float
    load_after: float


def write_files(folder: Path, count: int, rows: int, seed: int) -> list[tuple[Path, bool]]:
    """Write ``count`` small CSVs, alternating leak and clean; return (path, is_leak)."""
    people = ccw_rows(None, seed)
    aggregate = clean_aggregate_csv(folder / "source", seed).read_text().splitlines()
    header, body = aggregate[0], aggregate[1:]
    rng = random.Random(seed)
    files = []
    for n in range(count):
        leak = n % 2 == 0
        path = folder / f"{'leak' if leak else 'clean'}_{n:05d}.csv"
        if leak:
            with path.open("w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
                writer.writerow(CCW_COLUMNS)
                writer.writerows(itertools.islice(people, rows))
        else:
            start = rng.randrange(0, len(body) - 2 * rows)
            path.write_text("\n".join([header, *body[start : start + 2 * rows]]) + "\n")
        files.append((path, leak))
    return files


def measure(mode: str, config: ScanConfig, files: list[tuple[Path, bool]], threads: int) -> Run:
    """Scan every file from ``threads`` threads through one scanner; time the whole pass."""
    scanner = IsolatedScanner(config)
    load_before = os.getloadavg()[0]
    started, cpu = time.monotonic(), time.process_time()
    try:
        with ThreadPoolExecutor(threads) as pool:
            reports = list(pool.map(lambda f: scanner.scan(f[0]), files))
        seconds = time.monotonic() - started
        parent_cpu = time.process_time() - cpu
    finally:
        scanner.close()
    errors = sum(1 for r in reports if r.error)
    leaks = [r for r, (_, leak) in zip(reports, files, strict=True) if leak]
    clean = [r for r, (_, leak) in zip(reports, files, strict=True) if not leak]
    return Run(
        mode=mode,
        files=len(files),
        seconds=round(seconds, 2),
        files_per_s=round(len(files) / seconds, 1),
        workers_started=scanner.workers_started,
        worker_cpu_ms_per_file=round(scanner.worker_cpu_s / len(files) * 1000, 1),
        parent_cpu_ms_per_file=round(parent_cpu / len(files) * 1000, 1),
        errors=errors,
        leaks_flagged=sum(1 for r in leaks if r.findings),
        leaks=len(leaks),
        clean_flagged=sum(1 for r in clean if r.findings),
        clean=len(clean),
        load_before=round(load_before, 2),
        load_after=round(os.getloadavg()[0], 2),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="small files per mode")
    parser.add_argument(
        "--old-files",
        type=int,
        default=400,
        help="files for the per-file mode, the first ones of the same set (0: all); at about"
        " 1 s of CPU per file the whole set would take half an hour on 2 loaded cores",
    )
    parser.add_argument("--rows", type=int, default=30, help="people per leak file")
    parser.add_argument("--threads", type=int, default=2, help="scan threads (scan_workers)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-scan-workers-") as tmp:
        folder = Path(tmp)
        files = write_files(folder, args.files, args.rows, args.seed)
        sizes = [p.stat().st_size for p, _ in files]
        print(
            f"{len(files)} files, {min(sizes)}-{max(sizes)} bytes "
            f"(mean {sum(sizes) // len(sizes)}), {args.threads} scan threads"
        )
        default = ScanConfig()
        # The forkserver starts once per process: start it before either mode is timed.
        warm = IsolatedScanner(default)
        warm.scan(files[0][0])
        warm.close()
        old = files[: args.old_files or len(files)]
        runs = [
            measure(
                "per-file",
                default.model_copy(update={"limits": LimitsConfig(worker_max_files=1)}),
                old,
                args.threads,
            ),
            measure("persistent", default, files, args.threads),
        ]
    print()
    print(
        f"{'mode':<11} {'files':>6} {'seconds':>8} {'files/s':>8} {'workers':>8} "
        f"{'CPU ms/file':>17} {'errors':>6} {'leaks flagged':>14} {'clean flagged':>14} "
        f"{'load':>11}"
    )
    for r in runs:
        cpu = f"{r.worker_cpu_ms_per_file} + {r.parent_cpu_ms_per_file}"
        print(
            f"{r.mode:<11} {r.files:>6} {r.seconds:>8} {r.files_per_s:>8} "
            f"{r.workers_started:>8} {cpu:>17} {r.errors:>6} "
            f"{f'{r.leaks_flagged}/{r.leaks}':>14} {f'{r.clean_flagged}/{r.clean}':>14} "
            f"{f'{r.load_before}->{r.load_after}':>11}"
        )
    print("CPU ms/file: in the workers (all threads, start-up included) + in this process")
    ratio = runs[1].files_per_s / runs[0].files_per_s
    print(f"\npersistent / per-file: {ratio:.1f}x")
    ok = runs[1].files_per_s >= TARGET_FILES_PER_S and runs[1].errors == 0
    print(
        f"target >= {TARGET_FILES_PER_S:g} files/s with persistent workers: "
        f"{'PASS' if ok else 'FAIL'} ({runs[1].files_per_s} files/s, {runs[1].errors} errors)"
    )
    if args.json:
        args.json.write_text(json.dumps({"runs": [asdict(r) for r in runs], "ratio": ratio}))
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
