"""Benchmark leakmon against a plain parse and naive per-cell Presidio on the CCW file.

Run from the repository root: ``.venv/bin/python bench/bench_scan.py``. All three are
measured side by side in one run, on one core, on the same generated 192,000-row file.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from monitor.models import FileReport

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.synthetic import (  # noqa: E402 (needs ROOT on sys.path; does not import polars)
    CCW_COLUMNS,
    CCW_PII_COLUMNS,
    CCW_QUASI_COLUMNS,
    ccw_applicants_csv,
)

#: Entities that count as "the right answer" for each PII column (strict recall).
EXPECTED = {
    "first_name": {"PERSON"},
    "last_name": {"PERSON"},
    "date_of_birth": {"DATE_OF_BIRTH", "DATE_TIME"},
    "street": {"ADDRESS", "LOCATION"},
    "phone": {"PHONE_NUMBER"},
    "email": {"EMAIL_ADDRESS"},
}
TARGET_SECONDS = 2.0
TARGET_PARSE_RATIO = 10.0
TARGET_NAIVE_RATIO = 1000.0


@dataclass
class Recall:
    """Which columns a method flagged, and with which entities."""

    entities: dict[str, set[str]] = field(default_factory=dict)

    def any_entity(self) -> list[str]:
        return [c for c in CCW_PII_COLUMNS if self.entities.get(c)]

    def right_entity(self) -> list[str]:
        return [c for c in CCW_PII_COLUMNS if self.entities.get(c, set()) & EXPECTED[c]]

    def extra(self) -> dict[str, set[str]]:
        return {c: e for c, e in self.entities.items() if c not in CCW_PII_COLUMNS and e}


def pin_to_one_core() -> str:
    """Pin this process (and so its children) to one CPU; return a description."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_polars(path: Path, repeat: int) -> tuple[float, int]:
    """Return the median parse seconds and the size of polars' thread pool."""
    import polars as pl

    pl.read_csv(path, infer_schema=False)  # warm the page cache
    seconds = median_seconds(lambda: pl.read_csv(path, infer_schema=False), repeat)
    return seconds, pl.thread_pool_size()


def bench_naive(path: Path, rows: int) -> tuple[float, float, int, Recall]:
    """Return engine build seconds, cells/s, cells analysed and recall on the slice."""
    os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""  # no network for the TLD list
    started = time.perf_counter()
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NoOpNlpEngine

    nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
    nlp.load()
    engine = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    engine.analyze(text="warm up 415-555-0134", language="en")
    build = time.perf_counter() - started

    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        sliced = itertools.islice(reader, rows)
        cells = [(col, val) for line in sliced for col, val in zip(header, line, strict=True)]
    recall = Recall()
    started = time.perf_counter()
    for col, val in cells:
        for result in engine.analyze(text=val, language="en"):
            recall.entities.setdefault(col, set()).add(result.entity_type)
    elapsed = time.perf_counter() - started
    return build, len(cells) / elapsed, len(cells), recall


def leakmon_command() -> tuple[list[str], str]:
    """Return the argv prefix that runs the ``leakmon`` CLI, and how it was found."""
    script = Path(sys.executable).with_name("leakmon")
    if script.exists():
        return [str(script)], str(
            script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
        )
    # Same call the console script makes, for a checkout that is not pip-installed.
    code = "import sys; from monitor.cli import main; sys.exit(main())"
    return [
        sys.executable,
        "-c",
        code,
    ], "python -c 'monitor.cli:main' (no leakmon script installed)"


def run_cli_scan(path: Path) -> tuple[float, int, object]:
    """Run ``leakmon scan PATH --format json`` cold; return wall seconds, rc and parsed JSON."""
    argv, _ = leakmon_command()
    started = time.perf_counter()
    proc = subprocess.run(
        [*argv, "scan", str(path), "--format", "json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - started
    try:
        parsed = json.loads(proc.stdout)
    except json.JSONDecodeError:
        sys.exit(
            f"leakmon scan did not print JSON (exit code {proc.returncode}); "
            f"stderr ends with:\n{proc.stderr[-2000:]}"
        )
    return elapsed, proc.returncode, parsed


def import_scan_path() -> Callable[[Path], FileReport]:
    try:
        from monitor.scan import scan_path
    except ImportError as exc:
        sys.exit(
            f"\nFAILED: cannot measure leakmon: `from monitor.scan import scan_path` raised "
            f"{type(exc).__name__}: {exc}\nParts (a) and (b) above are real; part (c) and the "
            "ratios need monitor.scan. No leakmon numbers were produced."
        )
    return scan_path


def leakmon_recall(report: FileReport) -> tuple[Recall, set[str], str]:
    recall = Recall()
    quasi: set[str] = set()
    for finding in report.findings:
        if finding.column is not None:
            recall.entities.setdefault(finding.column, set()).add(finding.entity)
        quasi |= {c for c in (finding.column, *finding.columns) if c in CCW_QUASI_COLUMNS}
    return recall, quasi, str(report.worst)


def row(name: str, seconds: float, size: int, note: str) -> str:
    return f"{name:<44} {seconds:>10.3f} {size / 1e6 / seconds:>9.2f}  {note}"


def describe(recall: Recall) -> str:
    any_ = recall.any_entity()
    right = recall.right_entity()
    n = len(CCW_PII_COLUMNS)
    return f"any entity {len(any_)}/{n} {any_}; right entity {len(right)}/{n} {right}"


def print_header(path: Path, rows: int, pinned: str) -> None:
    size = path.stat().st_size
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    versions = ", ".join(f"{p} {metadata.version(p)}" for p in ("polars", "presidio-analyzer"))
    print(f"file: {shown}: {rows:,} rows x {len(CCW_COLUMNS)} columns, {size / 1e6:.1f} MB")
    print(f"machine: {os.cpu_count()} CPUs visible, {pinned}, POLARS_MAX_THREADS=1")
    print(f"         Python {platform.python_version()}, {platform.platform()}; {versions}")
    print()
    print(f"{'measurement':<44} {'seconds':>10} {'MB/s':>9}  note")


def print_recall(naive: Recall, naive_rows: int, report: FileReport) -> Recall:
    ours, quasi, worst = leakmon_recall(report)
    print()
    print(f"column recall over the {len(CCW_PII_COLUMNS)} PII columns {list(CCW_PII_COLUMNS)}:")
    print(f"  naive Presidio (first {naive_rows:,} rows): {describe(naive)}")
    print(f"  leakmon (whole file, worst severity {worst}): {describe(ours)}")
    print(f"      other columns flagged: {ours.extra() or 'none'}")
    print(f"      quasi-identifiers {list(CCW_QUASI_COLUMNS)} in findings: {sorted(quasi)}")
    return ours


def print_targets(t: dict[str, float], naive: Recall, ours: Recall) -> None:
    parse_ratio = t["leakmon_warm_s"] / t["polars_s"]
    naive_ratio = t["naive_extrapolated_s"] / t["leakmon_warm_s"]
    print()
    print(f"ratios: leakmon warm / polars parse = {parse_ratio:.1f}x")
    print(f"        leakmon cold / polars parse = {t['leakmon_cold_s'] / t['polars_s']:.1f}x")
    print(f"        naive Presidio (extrapolated) / leakmon warm = {naive_ratio:,.0f}x")
    recall_ok = len(ours.any_entity()) >= len(naive.any_entity()) and len(
        ours.right_entity()
    ) >= len(naive.right_entity())
    checks = [
        (t["leakmon_warm_s"] <= TARGET_SECONDS, f"warm verdict <= 2 s: {t['leakmon_warm_s']:.3f}"),
        (t["leakmon_cold_s"] <= TARGET_SECONDS, f"cold CLI <= 2 s: {t['leakmon_cold_s']:.3f}"),
        (parse_ratio <= TARGET_PARSE_RATIO, f"warm <= 10x plain parse: {parse_ratio:.1f}x"),
        (naive_ratio >= TARGET_NAIVE_RATIO, f">= 1000x naive Presidio: {naive_ratio:,.0f}x"),
        (recall_ok, "column recall >= naive Presidio's (any entity and right entity)"),
    ]
    print()
    print("targets (one core):")
    for ok, text in checks:
        print(f"  [{'PASS' if ok else 'FAIL'}] {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=192_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--naive-rows", type=int, default=2000, help="rows in the Presidio slice")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per measurement")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    parser.add_argument("--json", type=Path, help="also write the timings here")
    args = parser.parse_args()

    # Before polars is imported anywhere: the target is "on one core".
    os.environ["POLARS_MAX_THREADS"] = "1"
    pinned = "not pinned (--no-pin)" if args.no_pin else pin_to_one_core()
    path = ccw_applicants_csv(args.out, rows=args.rows, seed=args.seed)
    size = path.stat().st_size
    print_header(path, args.rows, pinned)
    t: dict[str, float] = {}

    t["polars_s"], threads = bench_polars(path, args.repeat)
    note = f"median of {args.repeat}, polars thread pool size {threads}"
    print(row("(a) polars read_csv(infer_schema=False)", t["polars_s"], size, note))

    build, cells_per_s, sliced, naive = bench_naive(path, args.naive_rows)
    t["naive_cells_per_s"] = cells_per_s
    t["naive_extrapolated_s"] = args.rows * len(CCW_COLUMNS) / cells_per_s
    note = (
        f"EXTRAPOLATED from {sliced:,} cells ({args.naive_rows:,} rows) at {cells_per_s:,.0f} "
        f"cells/s; engine build {build:.2f} s not included"
    )
    print(row("(b) naive per-cell Presidio, whole file", t["naive_extrapolated_s"], size, note))
    print(f"    its column recall on those rows: {describe(naive)}")
    print(f"    other columns it flagged: {naive.extra() or 'none'}")
    sys.stdout.flush()

    scan_path = import_scan_path()
    started = time.perf_counter()
    report = scan_path(path)  # warm-up, like the daemon's long-lived worker
    t["leakmon_first_call_s"] = time.perf_counter() - started
    t["leakmon_warm_s"] = median_seconds(lambda: scan_path(path), args.repeat)
    note = f"median of {args.repeat}"
    print(row("(c) leakmon scan_path, warm in-process", t["leakmon_warm_s"], size, note))
    note = "the warm-up call, includes lazy set-up"
    print(row("    leakmon scan_path, first call", t["leakmon_first_call_s"], size, note))
    colds = [run_cli_scan(path) for _ in range(args.repeat)]
    t["leakmon_cold_s"] = statistics.median(c[0] for c in colds)
    note = f"median of {args.repeat}, exit code {colds[0][1]}, via {leakmon_command()[1]}"
    print(row("(c) leakmon scan --format json, cold process", t["leakmon_cold_s"], size, note))

    ours = print_recall(naive, args.naive_rows, report)
    print_targets(t, naive, ours)
    if args.json:
        t["bytes"] = size
        args.json.write_text(json.dumps(t, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
