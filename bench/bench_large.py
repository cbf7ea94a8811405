"""Benchmark ``leakmon scan`` throughput and peak memory on a ~1 GB CCW-shaped CSV.

Run from the repository root: ``.venv/bin/python bench/bench_large.py [--mb 1024]``. The file
is generated row by row (never held in memory) into a temporary directory and deleted at
the end; the scan runs in a subprocess whose resident memory is polled.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_scan import leakmon_command, pin_to_one_core, run_cli_scan  # noqa: E402
from tests.synthetic import CCW_COLUMNS, ccw_applicants_csv, ccw_rows  # noqa: E402

TARGET_MB_PER_S = 50.0
TARGET_PEAK_RSS_MB = 400.0
_BATCH_ROWS = 20_000
_POLL_SECONDS = 0.02


def generate(path: Path, megabytes: int, seed: int) -> int:
    """Write CCW rows to ``path`` until it holds ``megabytes`` MiB; return the row count."""
    target = megabytes * 1024**2
    rows = ccw_rows(seed=seed)
    written = 0
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(CCW_COLUMNS)
        while True:
            writer.writerows(itertools.islice(rows, _BATCH_ROWS))
            written += _BATCH_ROWS
            fh.flush()
            if os.fstat(fh.fileno()).st_size >= target:
                return written


def tree_memory(proc: psutil.Process) -> tuple[int, int, int]:
    """Return (summed RSS, summed PSS, largest single RSS) of ``proc`` and its descendants.

    RSS counts pages shared between processes (the forkserver's imported modules, which
    the scan worker shares copy-on-write) once per process; PSS splits them, so the
    PSS sum is what the whole tree really costs.
    """
    rss = pss = single = 0
    for p in (proc, *proc.children(recursive=True)):
        try:
            info = p.memory_full_info()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue  # exited between listing and sampling
        rss += info.rss
        pss += info.pss
        single = max(single, info.rss)
    return rss, pss, single


def scan_with_memory(
    path: Path, out: Path, extra: list[str]
) -> tuple[float, int, tuple[int, int, int], int]:
    """Run ``leakmon scan``; return wall seconds, exit code, polled peaks and ru_maxrss."""
    argv, _ = leakmon_command()
    with (out / "scan.json").open("w") as stdout, (out / "scan.err").open("w") as stderr:
        started = time.perf_counter()
        proc = psutil.Popen(
            [*argv, "scan", str(path), "--format", "json", *extra],
            cwd=ROOT,
            stdout=stdout,
            stderr=stderr,
        )
        peak = (0, 0, 0)
        while proc.poll() is None:
            try:
                now = tree_memory(proc)
            except psutil.NoSuchProcess:
                break
            peak = (max(peak[0], now[0]), max(peak[1], now[1]), max(peak[2], now[2]))
            time.sleep(_POLL_SECONDS)
        code = proc.wait()
        elapsed = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux: the largest single child this process has waited for.
    maxrss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return elapsed, code, peak, maxrss


def print_results(
    workdir: Path, size: int, seconds: float, code: int, peak: tuple[int, int, int], maxrss: int
) -> None:
    try:
        report = json.loads((workdir / "scan.json").read_text())
    except json.JSONDecodeError:
        err = (workdir / "scan.err").read_text()[-2000:]
        sys.exit(f"leakmon scan did not print JSON (exit code {code}); stderr ends with:\n{err}")
    mb_per_s = size / 1e6 / seconds
    rss_sum, pss_sum, single = peak
    worst_single = max(single, maxrss) / 1e6
    print(f"leakmon scan: {seconds:.1f} s wall (including start-up), exit code {code}")
    files = report.get("files") if isinstance(report, dict) else None
    if files and isinstance(files[0], dict) and "seconds" in files[0]:
        print(f"  leakmon's own FileReport.seconds: {files[0]['seconds']} s")
    print(f"  throughput: {mb_per_s:.1f} MB/s")
    print(
        f"  peak memory: largest single process RSS {worst_single:.0f} MB "
        f"(polled, and ru_maxrss {maxrss / 1e6:.0f} MB); process tree: "
        f"RSS sum {rss_sum / 1e6:.0f} MB (shared pages counted per process), "
        f"PSS sum {pss_sum / 1e6:.0f} MB"
    )
    print("targets:")
    for ok, text in (
        (mb_per_s >= TARGET_MB_PER_S, f">= 50 MB/s: {mb_per_s:.1f} MB/s"),
        (
            worst_single <= TARGET_PEAK_RSS_MB,
            f"<= 400 MB peak RSS of the scanning process: {worst_single:.0f} MB",
        ),
        (
            pss_sum / 1e6 <= TARGET_PEAK_RSS_MB,
            f"<= 400 MB for the whole process tree (PSS sum): {pss_sum / 1e6:.0f} MB",
        ),
        (
            rss_sum / 1e6 <= TARGET_PEAK_RSS_MB,
            f"<= 400 MB for the whole process tree (RSS sum): {rss_sum / 1e6:.0f} MB",
        ),
    ):
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mb", type=int, default=1024, help="file size in MiB (default 1024)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", type=Path, help="where to make the temporary directory")
    parser.add_argument("--one-core", action="store_true", help="pin to one CPU, 1 polars thread")
    parser.add_argument("--keep", action="store_true", help="do not delete the generated file")
    parser.add_argument("--file", type=Path, help="scan this existing file instead of generating")
    parser.add_argument(
        "--no-isolate", action="store_true", help="pass --no-isolate: scan in the CLI process"
    )
    args = parser.parse_args()

    cores = f"{os.cpu_count()} CPUs visible"
    if args.one_core:
        os.environ["POLARS_MAX_THREADS"] = "1"
        cores += f", {pin_to_one_core()}, POLARS_MAX_THREADS=1"
    workdir = Path(tempfile.mkdtemp(prefix="leakmon-bench-", dir=args.dir))
    try:
        # Fail in seconds, not after writing a gigabyte, when the CLI cannot scan yet.
        run_cli_scan(ccw_applicants_csv(workdir / "smoke", rows=100, seed=args.seed))
        if args.file:
            path = args.file
            size = path.stat().st_size
            print(f"file: {path}: {size / 1e6:,.0f} MB (given with --file)")
        else:
            path = workdir / "ccw_large.csv"
            started = time.perf_counter()
            rows = generate(path, args.mb, args.seed)
            generated = time.perf_counter() - started
            size = path.stat().st_size
            print(
                f"file: {path}: {rows:,} rows, {size / 1e6:,.0f} MB, generated in {generated:.0f} s"
            )
        print(f"machine: {cores}; via {leakmon_command()[1]}")
        sys.stdout.flush()

        extra = ["--no-isolate"] if args.no_isolate else []
        seconds, code, peak, maxrss = scan_with_memory(path, workdir, extra)
        print_results(workdir, size, seconds, code, peak, maxrss)
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
