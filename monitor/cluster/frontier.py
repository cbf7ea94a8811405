"""The shared frontier of file downloads: a Redis stream read by one consumer group.

Why a stream and not a list (as scrapy-redis keeps its request queue): a popped
list item is gone, so a replica killed while downloading loses it; a stream entry
read through a consumer group stays *pending* until it is acknowledged, and
``XAUTOCLAIM`` hands an entry that has sat unacknowledged for ``lease`` seconds to
a live replica. That is Redis's own delivery protocol; leakmon only names the keys.

Keys (``prefix`` lets several clusters share one Redis):
- ``<prefix>:downloads``, the stream; consumer group ``fetchers``, one consumer per replica.
- ``<prefix>:queued:<sha1 of URL>``, set with ``NX`` when a URL is queued and deleted
  when its job is done, so a file queued by one poll is not queued again by the next
  while it waits. It expires after a day, in case a job is ever lost with Redis itself.

Round trips are the cost at scale (a 100,000-file poll offers, takes and
acknowledges 100,000 jobs): an offer is one server-side script (the ``SET NX`` and
the ``XADD`` together; a failed add removes its marker), and acknowledgements go in
one pipeline per batch.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis

from monitor.errors import FrontierError
from monitor.models import DownloadJob
from monitor.redaction import redact_url

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["Frontier", "Taken"]

logger = logging.getLogger(__name__)

_GROUP = "fetchers"
_QUEUED_TTL_S = 24 * 3600
_CONNECT_TIMEOUT_S = 5.0
#: Queue a job unless its URL is queued already: KEYS = marker, stream;
#: ARGV = marker TTL, then the entry's fields and values.
#: A script's writes are not rolled back when a later command fails, so a failed XADD
#: deletes the marker itself (or the URL could not be queued for a day).
_OFFER = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
local added = redis.pcall('XADD', KEYS[2], '*', unpack(ARGV, 2))
if type(added) == 'table' and added.err then
  redis.call('DEL', KEYS[1])
  return added
end
return 1
"""


@dataclass(frozen=True)
class Taken:
    """A job this replica took from the frontier; ``entry`` acknowledges it."""

    entry: str
    job: DownloadJob
    reclaimed: bool = False


class Frontier:
    """The cluster's queue of file downloads (blocking calls: never on the reactor thread).

    Args:
        url: the Redis URL (``redis://host:6379/0``).
        prefix: the cluster's key prefix.
        consumer: this replica's name.
        lease: seconds an entry may stay unacknowledged before another replica takes it.
        client: a ready client (tests); built from ``url`` otherwise.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        consumer: str,
        lease: float,
        client: redis.Redis | None = None,
    ) -> None:
        self.stream = f"{prefix}:downloads"
        self._queued = f"{prefix}:queued:"
        self.consumer = consumer
        self._lease_ms = int(lease * 1000)
        self._where = _redact(url)
        self._redis: redis.Redis = client or redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=_CONNECT_TIMEOUT_S,
            socket_timeout=_CONNECT_TIMEOUT_S + 2.0,
            health_check_interval=30,
        )
        self._offer = self._redis.register_script(_OFFER)

    def __repr__(self) -> str:
        return f"Frontier({self._where!r}, stream={self.stream!r}, consumer={self.consumer!r})"

    def setup(self) -> None:
        """Create the stream and its consumer group unless they exist.

        Raises:
            FrontierError: Redis does not answer.
        """
        with self._errors("create the consumer group"):
            try:
                self._redis.xgroup_create(self.stream, _GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def offer(self, job: DownloadJob) -> bool:
        """Queue a download unless the same URL is already queued; return whether it was.

        Raises:
            FrontierError: Redis does not answer.
        """
        return self.offer_many([job])[0]

    def offer_many(self, jobs: Sequence[DownloadJob]) -> list[bool]:
        """Queue downloads in one round trip; say of each whether it was queued.

        Raises:
            FrontierError: Redis does not answer, or refused one of the jobs.
        """
        if not jobs:
            return []
        with self._errors("queue a download"):
            if len(jobs) == 1:  # a pipeline would first ask SCRIPT EXISTS: a second round trip
                keys, args = self._offer_args(jobs[0])
                return [bool(self._offer(keys=keys, args=args))]
            pipe = self._redis.pipeline(transaction=False)
            for job in jobs:
                keys, args = self._offer_args(job)
                self._offer(keys=keys, args=args, client=pipe)
            return [bool(added) for added in pipe.execute()]

    def take(self, count: int, block: float) -> list[Taken]:
        """Take up to ``count`` jobs: first any a silent replica left, then new ones.

        Waits up to ``block`` seconds when nothing is waiting.

        Raises:
            FrontierError: Redis does not answer.
        """
        if count <= 0:
            return []
        taken: list[Taken] = []
        with self._errors("take downloads"):
            reply: Any = self._redis.xautoclaim(  # Any: redis-py types replies loosely
                self.stream, _GROUP, self.consumer, self._lease_ms, "0-0", count=count
            )
            taken += self._parse(reply[1], reclaimed=True)
            if len(taken) < count:
                read: Any = self._redis.xreadgroup(
                    _GROUP,
                    self.consumer,
                    {self.stream: ">"},
                    count=count - len(taken),
                    block=None if taken else max(1, int(block * 1000)),
                )
                for _stream, entries in read or ():
                    taken += self._parse(entries, reclaimed=False)
        return taken

    def touch(self, entries: Sequence[str]) -> None:
        """Tell the others that this replica is still working on these entries.

        Raises:
            FrontierError: Redis does not answer.
        """
        if not entries:
            return
        with self._errors("renew downloads"):
            self._redis.xclaim(self.stream, _GROUP, self.consumer, 0, list(entries), justid=True)

    def done(self, entry: str, url: str) -> None:
        """Acknowledge a job and forget it, so its URL can be queued again.

        Raises:
            FrontierError: Redis does not answer.
        """
        self.done_many([(entry, url)])

    def done_many(self, jobs: Sequence[tuple[str, str]]) -> None:
        """Acknowledge ``(entry, url)`` jobs in one round trip and forget their URLs.

        Raises:
            FrontierError: Redis does not answer.
        """
        if not jobs:
            return
        entries = [entry for entry, _url in jobs]
        with self._errors("acknowledge a download"):
            pipe = self._redis.pipeline(transaction=True)
            pipe.xack(self.stream, _GROUP, *entries)
            pipe.xdel(self.stream, *entries)
            pipe.delete(*(self._key(url) for _entry, url in jobs))
            pipe.execute()

    def waiting(self) -> int:
        """Return how many jobs are queued and not yet taken by any replica.

        Raises:
            FrontierError: Redis does not answer.
        """
        with self._errors("count downloads"):
            length = int(self._redis.xlen(self.stream))
            pending: Any = self._redis.xpending(self.stream, _GROUP)
        return max(0, length - int(pending.get("pending", 0)))

    def ping(self) -> bool:
        """Say whether Redis answers; never raises."""
        try:
            return bool(self._redis.ping())
        except redis.RedisError as exc:
            logger.debug("frontier %s does not answer: %s", self._where, exc)
            return False

    def close(self) -> None:
        """Close the connection pool."""
        self._redis.close()

    # -- internals -----------------------------------------------------------------------

    def _offer_args(self, job: DownloadJob) -> tuple[list[str], list[str | int]]:
        """Return the offer script's keys and arguments for one job."""
        fields = [part for pair in job.to_dict().items() for part in pair]
        return [self._key(job.url), self.stream], [_QUEUED_TTL_S, *fields]

    def _key(self, url: str) -> str:
        return self._queued + hashlib.sha1(url.encode("utf-8"), usedforsecurity=False).hexdigest()

    def _parse(self, entries: Any, *, reclaimed: bool) -> list[Taken]:
        # Any: redis-py returns [(id, {field: value}), ...] with loose types.
        out = []
        for entry, fields in entries or ():
            try:
                job = DownloadJob.from_dict(dict(fields))
            except (ValueError, TypeError) as exc:
                # Not ours, or from an incompatible leakmon: drop it rather than loop on it.
                logger.error("frontier entry %s is not a download job, dropped: %s", entry, exc)
                self._redis.xack(self.stream, _GROUP, entry)
                self._redis.xdel(self.stream, entry)
                continue
            out.append(Taken(str(entry), job, reclaimed))
        return out

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Turn a Redis failure into ``FrontierError`` saying what was being done."""
        try:
            yield
        except redis.RedisError as exc:
            raise FrontierError(
                f"frontier {self._where}: cannot {doing}: {type(exc).__name__}: {exc}"
            ) from None


def _redact(url: str) -> str:
    """Return a Redis URL without its password, ``?password=`` or fragment."""
    return redact_url(url)
