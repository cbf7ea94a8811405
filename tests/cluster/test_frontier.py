"""The shared frontier on the real Redis: each job to one replica, none lost to a dead one."""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.cluster import Frontier
from monitor.errors import FrontierError
from monitor.models import DownloadJob

AT = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def job(n: int, target: str = "portal") -> DownloadJob:
    return DownloadJob(target=target, url=f"http://127.0.0.1:1/f{n}.csv", found_at=AT)


def frontier(redis_url: str, prefix: str, consumer: str, lease: float = 30.0) -> Frontier:
    f = Frontier(redis_url, prefix=prefix, consumer=consumer, lease=lease)
    f.setup()
    return f


def test_a_queued_job_comes_back_whole(redis_url: str, prefix: str) -> None:
    f = frontier(redis_url, prefix, "a")
    sent = DownloadJob(
        target="t",
        url="https://x.example/a.csv",
        found_at=AT,
        portal="ckan",
        dataset="d",
        referer="https://x.example/",
    )
    assert f.offer(sent)
    (taken,) = f.take(10, block=0.1)
    assert taken.job == sent
    assert not taken.reclaimed


def test_a_url_already_queued_is_not_queued_twice(redis_url: str, prefix: str) -> None:
    f = frontier(redis_url, prefix, "a")
    assert f.offer(job(1))
    assert not f.offer(job(1))
    (taken,) = f.take(10, block=0.1)
    assert not f.offer(job(1))  # still in flight
    f.done(taken.entry, taken.job.url)
    assert f.offer(job(1))  # done: the next poll may queue it again


def test_an_offer_redis_cannot_add_leaves_its_url_free_to_be_queued(
    redis_url: str, prefix: str
) -> None:
    import redis

    f = Frontier(redis_url, prefix=prefix, consumer="a", lease=30)
    client = redis.Redis.from_url(redis_url)
    client.set(f.stream, "not a stream")  # the XADD fails after the URL's marker is set
    with pytest.raises(FrontierError, match="cannot queue a download"):
        f.offer(job(1))
    client.delete(f.stream)
    client.close()
    f.setup()

    assert f.offer(job(1))  # no marker was left behind to block it for a day
    assert [t.job.url for t in f.take(10, block=0.1)] == [job(1).url]


def test_jobs_acknowledged_together_are_all_done_and_can_be_queued_again(
    redis_url: str, prefix: str
) -> None:
    f = frontier(redis_url, prefix, "a")
    for n in range(5):
        f.offer(job(n))
    taken = f.take(10, block=0.1)

    f.done_many([(t.entry, t.job.url) for t in taken[:3]])

    assert all(f.offer(job(n)) for n in range(3))  # their markers are gone
    assert not any(f.offer(job(n)) for n in (3, 4))  # still held
    again = frontier(redis_url, prefix, "b", lease=0.05)
    time.sleep(0.1)
    reclaimed = [t.job.url for t in again.take(10, block=0.1) if t.reclaimed]
    assert sorted(reclaimed) == sorted(job(n).url for n in (3, 4))  # acked ones are not pending


def test_setup_twice_is_harmless(redis_url: str, prefix: str) -> None:
    f = frontier(redis_url, prefix, "a")
    f.setup()
    assert f.offer(job(1))


def test_replicas_taking_at_once_get_each_job_once(redis_url: str, prefix: str) -> None:
    producer = frontier(redis_url, prefix, "producer")
    for n in range(300):
        producer.offer(job(n))

    def replica(name: str) -> list[str]:
        f = frontier(redis_url, prefix, name)
        got = []
        while batch := f.take(7, block=0.2):
            for taken in batch:
                got.append(taken.job.url)
                f.done(taken.entry, taken.job.url)
        return got

    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(replica, ["a", "b", "c"]))
    urls = [u for got in results for u in got]
    assert sorted(urls) == sorted(job(n).url for n in range(300))
    assert all(results)  # all three took a share


def test_a_silent_replicas_jobs_go_to_another_after_the_lease(redis_url: str, prefix: str) -> None:
    dead, live = (
        frontier(redis_url, prefix, "dead", lease=2),
        frontier(redis_url, prefix, "live", lease=2),
    )
    dead.offer(job(1))
    dead.offer(job(2))
    assert len(dead.take(10, block=0.1)) == 2  # ...and then it dies
    assert live.take(10, block=0.1) == []  # not before the lease runs out
    time.sleep(2.2)
    reclaimed = live.take(10, block=0.1)
    assert sorted(t.job.url for t in reclaimed) == [job(1).url, job(2).url]
    assert all(t.reclaimed for t in reclaimed)


def test_touched_jobs_are_not_reclaimed(redis_url: str, prefix: str) -> None:
    slow, other = (
        frontier(redis_url, prefix, "slow", lease=2),
        frontier(redis_url, prefix, "other", lease=2),
    )
    slow.offer(job(1))
    (taken,) = slow.take(1, block=0.1)
    for _ in range(3):
        time.sleep(1.0)
        slow.touch([taken.entry])
    assert other.take(10, block=0.1) == []


def test_waiting_counts_jobs_not_yet_taken(redis_url: str, prefix: str) -> None:
    f = frontier(redis_url, prefix, "a")
    for n in range(5):
        f.offer(job(n))
    assert f.waiting() == 5
    batch = f.take(2, block=0.1)
    assert f.waiting() == 3
    for taken in batch:
        f.done(taken.entry, taken.job.url)
    assert f.waiting() == 3


def test_a_foreign_entry_is_dropped_not_looped_on(redis_url: str, prefix: str) -> None:
    import redis

    f = frontier(redis_url, prefix, "a")
    client = redis.Redis.from_url(redis_url)
    client.xadd(f.stream, {"something": "else"})
    client.close()
    f.offer(job(1))
    assert [t.job.url for t in f.take(10, block=0.1)] == [job(1).url]
    assert f.take(10, block=0.1) == []


def test_unreachable_redis_is_a_frontier_error_without_the_password() -> None:
    f = Frontier("redis://:hunter2-canary@127.0.0.1:1/0", prefix="p", consumer="a", lease=5)
    assert not f.ping()
    with pytest.raises(FrontierError, match="cannot queue a download") as caught:
        f.offer(job(1))
    assert "hunter2-canary" not in str(caught.value)
    assert "hunter2-canary" not in repr(f)
