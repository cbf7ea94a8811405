"""What the crawler needs from the cluster (cluster mode): poll leases and the download frontier.

Every method blocks on the network (PostgreSQL or Redis), so the crawler calls
them in the reactor's thread pool, never on the reactor thread.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping, Sequence

    from monitor.models import DownloadJob

__all__ = ["ClaimedPoll", "ClusterSeam", "TakenJob"]


class ClaimedPoll(Protocol):
    """A poll this replica holds (``monitor.store.PollClaim``)."""

    @property
    def target(self) -> str:
        """Return the target's name."""
        ...

    @property
    def cursor(self) -> str | None:
        """Return where the last poll's catalogue walk stopped."""
        ...

    @property
    def taken_over(self) -> bool:
        """Say whether a replica whose lease ran out had it before."""
        ...


class TakenJob(Protocol):
    """A download this replica took from the frontier (``monitor.cluster.Taken``)."""

    @property
    def entry(self) -> str:
        """Return the frontier entry's id."""
        ...

    @property
    def job(self) -> DownloadJob:
        """Return the download."""
        ...

    @property
    def reclaimed(self) -> bool:
        """Say whether a silent replica had taken it before."""
        ...


class ClusterSeam(Protocol):
    """Poll leases (the store) and the download frontier (Redis) of one replica."""

    @property
    def replica(self) -> str:
        """Return this replica's name."""
        ...

    @property
    def lease(self) -> float:
        """Return the seconds a claim lasts unless renewed."""
        ...

    def sync(self, targets: Collection[str]) -> None:
        """Make sure every configured target has a lease (new ones due at once)."""
        ...

    def claim(self, targets: Collection[str], limit: int) -> Sequence[ClaimedPoll]:
        """Claim up to ``limit`` due polls among ``targets``."""
        ...

    def renew(self, targets: Collection[str]) -> set[str]:
        """Renew this replica's leases; return the targets it still holds."""
        ...

    def finish(self, target: str, next_in: float, cursor: str | None) -> None:
        """End a poll; the next is due ``next_in`` seconds from now."""
        ...

    def release(self) -> None:
        """Hand back every lease (the replica is stopping)."""
        ...

    def offer(self, jobs: Sequence[DownloadJob]) -> Sequence[bool]:
        """Queue downloads; of each, False when its URL is queued already."""
        ...

    def take(self, count: int, block: float) -> Sequence[TakenJob]:
        """Take up to ``count`` downloads, waiting up to ``block`` seconds for one."""
        ...

    def touch(self, entries: Sequence[str]) -> None:
        """Say that this replica still works on these downloads."""
        ...

    def done(self, taken: Sequence[TakenJob]) -> None:
        """Acknowledge finished downloads (one round trip for the lot)."""
        ...

    def validators(
        self, urls: Collection[str]
    ) -> Mapping[str, tuple[str | None, str | None, str | None]]:
        """Return ``url -> (etag, last_modified, sha256)`` of the stored ones among ``urls``.

        Raises:
            StoreError: the store does not answer.
        """
        ...
