"""Benchmark decoding and scanning a Tableau full-data answer against the CSV of the same rows.

Run from the repository root: ``.venv/bin/python bench/bench_tableau.py`` (or under
``taskset -c 0``; the script pins itself to one CPU anyway). It builds the 192,000-row,
11-column CCW-shaped rows of ``tests/synthetic.py`` (Faker, seeded: names, dates of birth,
addresses, phones, emails...), writes them once as a ``get-underlying-data`` answer in the
JSON data-dictionary form (``monitor.vizql.encode``, spooled in the ``tableau-data``
envelope the crawl client writes) and once as the full-data CSV (UTF-8 with BOM, as
``vudcsv`` sends it), then times ``scan_file`` (read + decode + detection verdict) of
both, alternating, in one run, and prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.synthetic import CCW_COLUMNS, ccw_applicants_csv, ccw_rows  # noqa: E402

TARGET_SECONDS = 3.0
_DATE_COLUMNS = {"date_of_birth", "issue_date"}


def pin_to_one_core() -> str:
    """Pin this process to one CPU; return a description."""
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this OS)"
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f"pinned to CPU {cpu}"


def build_files(out: Path, rows: int, seed: int) -> tuple[Path, Path, int]:
    """Write the JSON-dictionary envelope and the BOM CSV of the same rows; return paths, bytes."""
    from monitor.vizql.encode import encode_underlying_data
    from monitor.vizql.envelope import write_envelope

    out.mkdir(parents=True, exist_ok=True)
    dates = [CCW_COLUMNS.index(c) for c in _DATE_COLUMNS]
    typed: list[list[object]] = []
    for row in ccw_rows(rows, seed):
        cells: list[object] = list(row)
        for n in dates:
            cells[n] = dt.date.fromisoformat(row[n])  # Tableau sends these as dataType date
        typed.append(cells)
    _, response = encode_underlying_data(list(CCW_COLUMNS), typed)
    answer = json.dumps(response, separators=(",", ":")).encode()
    envelope = out / "ccw_full_data.vizql"
    write_envelope(
        envelope, mechanism="full_data", view="CCW/Applicants", segments={}, response=answer
    )
    plain = ccw_applicants_csv(out, rows=rows, seed=seed)
    csv_path = out / "ccw_full_data.csv"
    csv_path.write_bytes(codecs.BOM_UTF8 + plain.read_bytes())
    return envelope, csv_path, len(answer)


def main() -> None:
    """Build the files, time both scans side by side and print the result."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=192_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per form")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    os.environ["POLARS_MAX_THREADS"] = "1"
    pinned = "not pinned (--no-pin)" if args.no_pin else pin_to_one_core()

    from monitor.scan import scan_file
    from monitor.vizql.envelope import read_envelope

    started = time.monotonic()
    envelope, csv_path, answer_bytes = build_files(args.out, args.rows, args.seed)
    print(f"machine: {os.cpu_count()} CPUs visible, {pinned}, POLARS_MAX_THREADS=1")
    print(f"python {platform.python_version()}, {platform.machine()}")
    csv_mb = csv_path.stat().st_size / 1e6
    print(
        f"files: {args.rows} rows x {len(CCW_COLUMNS)} columns; answer {answer_bytes / 1e6:.1f} MB"
        f", CSV {csv_mb:.1f} MB (built in {time.monotonic() - started:.1f} s)"
    )
    reports = {"json": scan_file(envelope), "csv": scan_file(csv_path)}  # warm-up
    for form, report in reports.items():
        if report.error or report.rows != args.rows:
            raise SystemExit(f"{form} form was not read completely: {report.error}")
    times: dict[str, list[float]] = {"json": [], "csv": [], "decode": []}
    for _ in range(args.repeat):
        for form, path in (("csv", csv_path), ("json", envelope)):
            t0 = time.monotonic()
            reports[form] = scan_file(path)
            times[form].append(time.monotonic() - t0)
        t0 = time.monotonic()
        read_envelope(envelope.read_bytes()).decode()
        times["decode"].append(time.monotonic() - t0)
    median = {k: statistics.median(v) for k, v in times.items()}
    print()
    print(f"{'measure (median of ' + str(args.repeat) + ')':<52}{'seconds':>9}")
    print(f"{'(a) CSV full data: scan_file (parse + verdict)':<52}{median['csv']:>9.2f}")
    print(f"{'(b) JSON data dictionary: scan_file (decode + verdict)':<52}{median['json']:>9.2f}")
    print(f"{'    of which envelope load + dictionary decode':<52}{median['decode']:>9.2f}")
    print(f"ratio (b)/(a): {median['json'] / median['csv']:.2f}")
    print(f"all runs: csv {times['csv']}, json {times['json']}")
    verdicts = {
        form: sorted({f"{f.column}:{f.entity}" for f in r.findings}) for form, r in reports.items()
    }
    counts = {form: len(report.findings) for form, report in reports.items()}
    print(f"findings JSON form: {counts['json']}, CSV form: {counts['csv']}")
    same = verdicts["json"] == verdicts["csv"]
    print(f"same columns and entities flagged in both forms: {same}")
    if not same:
        print(f"  JSON only: {sorted(set(verdicts['json']) - set(verdicts['csv']))}")
        print(f"  CSV only:  {sorted(set(verdicts['csv']) - set(verdicts['json']))}")
    met = median["json"] <= TARGET_SECONDS
    print(f"target (b) <= {TARGET_SECONDS:.0f} s on one core: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()
