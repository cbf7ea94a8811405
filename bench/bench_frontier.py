"""Measure the Redis cost of leakmon's frontier per download job (offer, take, done).

Runs the real monitor.cluster.frontier.Frontier against a private redis-server started
with the cluster overlay's example arguments on a free 127.0.0.1 port. Prints memory per
queued and per taken job, Redis commands per job by phase, Redis CPU per job and the
client-side rate, each for two arms side by side: one Redis call per job (offer, done),
and batched (``offer_many``, ``done_many``: what a poll and a replica now send).
Usage: .venv/bin/python bench/bench_frontier.py [N] (default 100,000)
"""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import sys
import time

import redis

from monitor.cluster.frontier import Frontier
from monitor.models import DownloadJob

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
BATCH = 16
#: Offers per call in the batched arm (a poll's item pipeline gathers up to 500).
OFFERS = 100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stats(r: redis.Redis) -> dict[str, float]:
    info = r.info("all")
    out = {"mem": info["used_memory"], "cpu": info["used_cpu_user"] + info["used_cpu_sys"]}
    for key, value in info.items():
        if key.startswith("cmdstat_"):
            out[key[8:]] = value["calls"]
    return out


def delta(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: b.get(k, 0) - a.get(k, 0) for k in set(a) | set(b) if b.get(k, 0) != a.get(k, 0)}


def run_arm(
    r: redis.Redis, fr: Frontier, jobs: list[DownloadJob], *, batched: bool
) -> dict[str, float]:
    """Offer, take and acknowledge every job; print Redis's cost per job; return jobs/s by phase."""
    n_jobs = len(jobs)
    s0 = stats(r)
    t = time.monotonic()
    if batched:
        offered = sum(sum(fr.offer_many(jobs[i : i + OFFERS])) for i in range(0, n_jobs, OFFERS))
    else:
        offered = sum(fr.offer(j) for j in jobs)
    t_offer = time.monotonic() - t
    s1 = stats(r)
    again = sum(fr.offer(j) for j in jobs[:1000])
    s1b = stats(r)
    t = time.monotonic()
    taken = []
    while len(taken) < n_jobs:
        got = fr.take(BATCH, block=0.01)
        if not got:
            break
        taken += got
    t_take = time.monotonic() - t
    s2 = stats(r)
    waiting = fr.waiting()
    t = time.monotonic()
    if batched:
        for i in range(0, len(taken), BATCH):
            fr.done_many([(tk.entry, tk.job.url) for tk in taken[i : i + BATCH]])
    else:
        for tk in taken:
            fr.done(tk.entry, tk.job.url)
    t_done = time.monotonic() - t
    s3 = stats(r)
    print(
        f"offered {offered}, duplicates refused {1000 - again}/1000, taken {len(taken)}, "
        f"waiting after take {waiting}"
    )
    for name, a, b, secs in (
        ("offer", s0, s1, t_offer),
        ("duplicate offer", s1, s1b, None),
        ("take", s1b, s2, t_take),
        ("done", s2, s3, t_done),
    ):
        d = delta(a, b)
        n = 1000 if name == "duplicate offer" else n_jobs
        cmds = {k: round(v / n, 3) for k, v in sorted(d.items()) if k not in ("mem", "cpu")}
        rate = f", {n / secs:,.0f} jobs/s from one client" if secs else ""
        print(
            f"{name}: {sum(cmds.values()):.2f} commands/job {cmds}; "
            f"Redis CPU {d.get('cpu', 0) / n * 1e6:.1f} us/job; "
            f"memory {d.get('mem', 0) / n:+.0f} B/job{rate}"
        )
    print(
        f"memory: baseline {s0['mem'] / 1e6:.2f} MB, all queued {s1['mem'] / 1e6:.2f} MB, "
        f"all taken {s2['mem'] / 1e6:.2f} MB, all done {s3['mem'] / 1e6:.2f} MB"
    )
    return {"offer": n_jobs / t_offer, "take": n_jobs / t_take, "done": n_jobs / t_done}


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--maxmemory",
            "256mb",
            "--maxmemory-policy",
            "noeviction",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        r = redis.Redis(port=port, decode_responses=True)
        for _ in range(100):
            try:
                r.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        url = f"redis://127.0.0.1:{port}/0"
        now = dt.datetime.now(dt.UTC)
        jobs = [
            DownloadJob(
                target="openjustice",
                url=f"https://data.example.gov/dataset/3f2c9a1e-{i:08d}/resource/"
                f"7b1d4e2a-{i:08d}/download/arrests-{i}.csv",
                found_at=now,
                portal="ckan",
                dataset=f"arrests-dispositions-{i:06d}",
                referer=f"https://data.example.gov/dataset/arrests-dispositions-{i:06d}",
            )
            for i in range(N)
        ]
        print(f"N={N}, url length {len(jobs[0].url)}, fields {len(str(jobs[0].to_dict()))} chars")
        rates = {}
        for arm, batched in (("one by one", False), ("batched", True)):
            fr = Frontier(url, prefix=f"leakmon-{arm[:3]}", consumer="replica-a", lease=30)
            fr.setup()
            print(f"\n{arm}:")
            rates[arm] = run_arm(r, fr, jobs, batched=batched)
        print(f"\njobs/s from one client, side by side (batched: offers {OFFERS} per call,")
        print(f"acknowledgements {BATCH} per call, as a take returns them):")
        for phase in ("offer", "take", "done"):
            one, many = rates["one by one"][phase], rates["batched"][phase]
            print(
                f"  {phase:>5}: one by one {one:>9,.0f}  batched {many:>9,.0f}  x{many / one:.2f}"
            )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
