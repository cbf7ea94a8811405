"""Compare scan CPU time of two source trees side by side (e.g. a worktree before a change).

Usage::

    git worktree add --detach /tmp/base <commit-before>
    .venv/bin/python bench/bench_trees.py --old /tmp/base --new . [--rounds 6]

Each measurement runs in a fresh process of the tree under test (``PYTHONPATH`` and the
working directory set to it), pinned to one core with ``POLARS_MAX_THREADS=1``, and the
trees alternate round by round so that load on a shared machine falls on both. It reports
CPU seconds measured inside the process (``time.process_time``), which vary less than
wall-clock time when other work shares the machine: ``scan_path`` on the 192,000-row
CCW-like file (best of 3 per round), the start-up (imports and name lists), and a larger
CSV made of the CCW rows repeated (``--copies``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_WORKER = r"""
import json, sys, time
t0 = time.process_time()
from monitor.scan import scan_path
from monitor.detect.names import NameLists
NameLists.default()
startup = time.process_time() - t0
from pathlib import Path
path, repeat = Path(sys.argv[1]), int(sys.argv[2])
scan_path(path)
cpus = []
for _ in range(repeat):
    c = time.process_time()
    report = scan_path(path)
    cpus.append(time.process_time() - c)
print(json.dumps({"cpu": min(cpus), "startup": startup, "findings": len(report.findings)}))
"""


def _files(out: Path, copies: int) -> tuple[Path, Path]:
    sys.path.insert(0, str(ROOT))
    from tests import synthetic

    out.mkdir(parents=True, exist_ok=True)
    ccw = out / "ccw_applicants.csv"
    if not ccw.exists():
        synthetic.ccw_applicants_csv(out, rows=192_000)
    big = out / f"ccw_x{copies}.csv"
    if not big.exists():
        head, _, body = ccw.read_bytes().partition(b"\n")
        with big.open("wb") as f:
            f.write(head + b"\n")
            for _ in range(copies):
                f.write(body)
    return ccw, big


def _run(tree: Path, path: Path, repeat: int) -> dict[str, float]:
    env = dict(os.environ, POLARS_MAX_THREADS="1", PYTHONPATH=str(tree))
    cmd = ["taskset", "-c", "0", sys.executable, "-c", _WORKER, str(path), str(repeat)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the rounds and print medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", type=Path, required=True)
    parser.add_argument("--new", type=Path, default=ROOT)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--copies", type=int, default=7)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args()
    ccw, big = _files(args.out, args.copies)
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    res: dict[str, dict[str, list[float]]] = {k: {"ccw": [], "start": [], "big": []} for k in trees}
    for rnd in range(args.rounds):
        order = list(trees.items()) if rnd % 2 == 0 else list(reversed(trees.items()))
        for name, tree in order:
            r = _run(tree, ccw, 3)
            res[name]["ccw"].append(r["cpu"])
            res[name]["start"].append(r["startup"])
            if rnd < max(2, args.rounds * 2 // 3):
                res[name]["big"].append(_run(tree, big, 1)["cpu"])
    med = statistics.median
    size = big.stat().st_size / 1e6
    for name in trees:
        r = res[name]
        print(
            f"{name}: 192k-row scan_path {med(r['ccw']):.3f} CPU s; start-up "
            f"{med(r['start']):.3f} CPU s; {size:.0f} MB CSV {med(r['big']):.2f} CPU s "
            f"({size / med(r['big']):.1f} MB/s)"
        )
    o, n = res["old"], res["new"]
    print(
        f"new/old: 192k scan {med(n['ccw']) / med(o['ccw']):.3f}, start-up "
        f"{med(n['start']) / med(o['start']):.3f}, {size:.0f} MB CSV "
        f"{med(n['big']) / med(o['big']):.3f}"
    )


if __name__ == "__main__":
    main()
