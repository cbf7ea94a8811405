"""Benchmark reading and scanning a ~50 MB Tableau .hyper extract in the isolated scan worker.

Run from the repository root: ``.venv/bin/python bench/bench_hyper.py`` (needs the tableau
extra: ``.venv/bin/pip install -e '.[test,tableau]'``). It writes synthetic applicant rows
(tests/synthetic.py, Faker) once as a .hyper extract and once as CSV, then, in one run and
alternating, scans each in the same ``IsolatedScanner`` the daemon uses (a forked worker
with the default memory and time limits; for the extract the worker starts ``hyperd``).
While a scan runs, the worker tree (the worker and, for the extract, its ``hyperd``) is
sampled every 20 ms for RSS and anonymous RSS (RSS less file-backed pages such as
hyperd's 261 MB binary). It also times a plain read (``read_tables``, no
detection) of both files in this process. Ratios extract/CSV are printed side by side.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import statistics
import sys
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.readers.tableau_files import write_hyper  # noqa: E402 (needs ROOT on sys.path)
from tests.synthetic import CCW_COLUMNS, ccw_rows  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

    from monitor.models import FileReport

TARGET_RSS_MB = 400.0
OUT = ROOT / "bench" / "out"


def _rows(base: int, copies: int, seed: int) -> Iterator[tuple[str, ...]]:
    """Yield ``base * copies`` applicant rows: Faker rows, then each column shuffled apart.

    Generating every row with Faker takes minutes; shuffling each column independently
    gives new, distinct people with the same value distributions in seconds.
    """
    rows = list(ccw_rows(base, seed=seed))
    yield from rows
    columns = [list(col) for col in zip(*rows, strict=True)]
    rng = random.Random(seed)
    for _ in range(copies - 1):
        for col in columns:
            rng.shuffle(col)
        yield from zip(*columns, strict=True)


def _files(base: int, copies: int) -> tuple[Path, Path]:
    OUT.mkdir(parents=True, exist_ok=True)
    hyper = OUT / f"applicants_{base}x{copies}.hyper"
    text = OUT / f"applicants_{base}x{copies}.csv"
    if not hyper.exists() or not text.exists():
        started = time.monotonic()
        write_hyper(hyper, CCW_COLUMNS, _rows(base, copies, seed=4))
        with text.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(CCW_COLUMNS)
            writer.writerows(_rows(base, copies, seed=4))
        print(f"generated both files in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return hyper, text


def _worker_tree() -> list[psutil.Process]:
    """Return the scan worker and its children (hyperd): the forkserver's descendants.

    The forkserver itself (idle, shared by every worker) and multiprocessing's resource
    tracker are left out: neither is a cost of scanning the file.
    """
    tree = []
    for child in psutil.Process().children():
        try:
            if "forkserver" in " ".join(child.cmdline()):
                tree.extend(child.children(recursive=True))
        except psutil.NoSuchProcess:
            continue
    return tree


def _is_hyperd(proc: psutil.Process) -> bool:
    """Say whether a process is hyperd (it renames itself ``hyperdMain`` once started)."""
    cmdline = proc.cmdline()
    return bool(cmdline) and Path(cmdline[0]).name == "hyperd"


def _status_mb(pid: int) -> tuple[float, float]:
    """Return a process's RSS and anonymous RSS in MB, from /proc (cheaper than smaps)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"]


class _TreeSampler:
    """Sample the scan worker tree every 20 ms: peak RSS, peak anonymous RSS, hyperd's share."""

    def __init__(self) -> None:
        self.peak_rss = self.peak_anon = 0.0
        self.peak_hyperd_rss = self.peak_worker_rss = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = anon = 0.0
            for proc in _worker_tree():
                try:
                    one, one_anon = _status_mb(proc.pid)
                    hyperd = _is_hyperd(proc)
                except (psutil.NoSuchProcess, FileNotFoundError, KeyError):
                    continue
                rss += one
                anon += one_anon
                if hyperd:
                    self.peak_hyperd_rss = max(self.peak_hyperd_rss, one)
                else:
                    self.peak_worker_rss = max(self.peak_worker_rss, one)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_anon = max(self.peak_anon, anon)
            time.sleep(0.02)


def _scan(scanner: object, path: Path) -> dict[str, float | int | str | None]:
    started = time.monotonic()
    with _TreeSampler() as sampler:
        report: FileReport = scanner.scan(path)  # type: ignore[attr-defined]
    return {
        "seconds": time.monotonic() - started,
        "peak_rss_mb": sampler.peak_rss,
        "peak_anon_mb": sampler.peak_anon,
        "peak_worker_rss_mb": sampler.peak_worker_rss,
        "peak_hyperd_rss_mb": sampler.peak_hyperd_rss,
        "rows": report.rows,
        "findings": len(report.findings),
        "worst": str(report.worst) if report.worst else None,
        "error": report.error,
    }


def _read_only(path: Path) -> float:
    from monitor.models import ReadLimits
    from monitor.readers import read_tables

    started = time.monotonic()
    rows = sum(t.frame.height for t in read_tables(path, ReadLimits()))
    assert rows > 0
    return time.monotonic() - started


def main() -> int:
    """Run the benchmark and print the table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=int, default=40_000, help="Faker rows (default 40,000)")
    parser.add_argument("--copies", type=int, default=12, help="shuffled copies (default 12)")
    parser.add_argument("--repeat", type=int, default=2, help="scans of each file (default 2)")
    parser.add_argument("--no-free-text", action="store_true", help="skip Presidio free text")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    from monitor.config import ScanConfig
    from monitor.isolation import IsolatedScanner

    hyper, text = _files(args.base, args.copies)
    config = ScanConfig.model_validate({"free_text_analysis": not args.no_free_text})
    scanner = IsolatedScanner(config)
    runs: dict[str, list[dict[str, float | int | str | None]]] = {"hyper": [], "csv": []}
    reads: dict[str, list[float]] = {"hyper": [], "csv": []}
    for _ in range(args.repeat):
        for kind, path in (("hyper", hyper), ("csv", text)):
            runs[kind].append(_scan(scanner, path))
            reads[kind].append(_read_only(path))

    def med(kind: str, key: str) -> float:
        return statistics.median(float(r[key] or 0) for r in runs[kind])

    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "tableauhyperapi": metadata.version("tableauhyperapi"),
            "worker_memory_mb": config.limits.worker_memory_mb,
            "free_text_analysis": config.free_text_analysis,
        },
        "files": {
            "rows": runs["hyper"][0]["rows"],
            "hyper_mb": hyper.stat().st_size / 1e6,
            "csv_mb": text.stat().st_size / 1e6,
        },
        "runs": runs,
        "read_only_seconds": reads,
    }
    print(json.dumps(result["machine"]))
    print(
        f"rows {result['files']['rows']:,}  .hyper {result['files']['hyper_mb']:.1f} MB  "
        f".csv {result['files']['csv_mb']:.1f} MB  (median of {args.repeat}, alternating)"
    )
    print(f"{'':38}{'.hyper':>12}{'.csv':>12}{'ratio':>10}")
    for label, key in (
        ("scan in worker, wall s", "seconds"),
        ("worker tree peak RSS, MB", "peak_rss_mb"),
        ("worker tree peak anonymous RSS, MB", "peak_anon_mb"),
        ("worker process alone peak RSS, MB", "peak_worker_rss_mb"),
    ):
        h, c = med("hyper", key), med("csv", key)
        print(f"{label:38}{h:>12.1f}{c:>12.1f}{h / c:>10.2f}")
    h, c = statistics.median(reads["hyper"]), statistics.median(reads["csv"])
    print(f"{'read only (this process), s':38}{h:>12.1f}{c:>12.1f}{h / c:>10.2f}")
    print(f"{'hyperd peak RSS, MB':38}{med('hyper', 'peak_hyperd_rss_mb'):>12.1f}")
    for kind in ("hyper", "csv"):
        first = runs[kind][0]
        print(
            f"{kind}: findings {first['findings']}, worst {first['worst']}, error {first['error']}"
        )
    peak = med("hyper", "peak_rss_mb")
    verdict = "meets" if peak <= TARGET_RSS_MB else "MISSES"
    print(
        f"target: worker tree <= {TARGET_RSS_MB:.0f} MB RSS for the extract: "
        f"{verdict} ({peak:.0f} MB)"
    )
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
