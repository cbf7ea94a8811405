"""The seam between the crawler and the daemon: what the crawler asks, and what it reports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from twisted.internet.defer import Deferred

    from monitor.models import Coverage, FetchedFile, ViewExposure

__all__ = ["Hooks", "Validators"]


@dataclass(frozen=True)
class Validators:
    """What the daemon remembers of a file's last accepted body.

    ``etag`` and ``last_modified`` make the next GET conditional, so an unchanged
    file costs a 304 instead of its body. ``sha256`` catches the servers that
    ignore conditional requests: a 200 whose body hashes the same is reported as
    unchanged, not as a new file to scan.

    Attributes:
        etag: the ``ETag`` the server sent with that body.
        last_modified: the ``Last-Modified`` the server sent with that body.
        sha256: the body's hex digest.
        hold: why the file must not be downloaded in this poll: its last body could
            not be checked completely and its retry (with backoff) is not due yet.
            The file still counts as linked; its open findings stay open.
    """

    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    hold: str | None = None


class Hooks(Protocol):
    """What the daemon implements to hear from the crawler.

    Every method is called on the Twisted reactor thread, so none may block: the
    daemon hands real work (database, scanning) to its own threads. A hook that
    raises is logged by Scrapy and does not stop the poll.
    """

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        """Return what is stored for ``url`` (all ``None`` for a URL never fetched).

        ``stored``: what the caller has just read from the store for this file
        (cluster mode reads a whole take of jobs' validators in one query); the
        daemon then only adds its own holds rather than asking the store again.
        """
        ...

    def room(self) -> Deferred[None] | None:
        """Return None when a file download may start now, else a Deferred fired when it may.

        Back-pressure: the daemon's scan backlog (files downloaded and not yet
        scanned) is bounded, and file downloads wait while it is full.
        """
        ...

    def on_file(self, fetched: FetchedFile) -> None:
        """Take a new or changed body (HTTP 2xx); the consumer deletes ``fetched.path``."""
        ...

    def on_unchanged(self, target: str, url: str) -> None:
        """Note a 304, or a 2xx whose sha256 equals ``Validators.sha256`` (no file is kept)."""
        ...

    def on_gone(self, target: str, url: str, status: int) -> None:
        """Note that a linked file answers 404 or 410."""
        ...

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        """Note a failed download: ``error`` starts with ``too large`` for an over-size body.

        The other messages name the failure: ``HTTP 503``, ``timeout: ...``,
        ``DownloadConnectionRefusedError: ...``. Robots.txt refusals and the
        poll's own request budget are not fetch errors and are only logged.
        """
        ...

    def on_exposure(self, exposure: ViewExposure) -> None:
        """Note what a Tableau view offers visitors, as its viz session showed this poll.

        Called once per view and poll whose session opened; the view's URL is in
        the poll's ``seen`` too, so a view that is no longer embedded is gone.
        """
        ...

    def on_coverage(self, coverage: Coverage) -> None:
        """Take what a poll checked and what it could not (called just before ``on_poll_done``)."""
        ...

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        """Close a poll: ``seen`` holds every file URL linked in it.

        ``ok`` is False when the poll did not see the whole portal (a start URL or
        a page failed, the request budget ran out, or the crawler was stopped);
        then ``seen`` is partial and unseen files must not be treated as gone.
        """
        ...
