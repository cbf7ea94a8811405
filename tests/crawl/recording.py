"""Hooks that record every call, and remember validators as the daemon's store would."""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from monitor.crawl import Validators

if TYPE_CHECKING:
    from monitor.models import Coverage, FetchedFile, ViewExposure

__all__ = ["RecordingHooks"]


class RecordingHooks:
    """A stand-in daemon: records calls as JSON-ready dicts and deletes each temp file."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.store: dict[str, Validators] = {}

    def validators(self, url: str, stored: Validators | None = None) -> Validators:
        self.events.append({"hook": "validators", "url": url, "stored": stored is not None})
        if stored is not None:
            return stored
        return self.store.get(url, Validators())

    def room(self) -> None:
        return None  # scans nothing: never a backlog

    def on_file(self, fetched: FetchedFile) -> None:
        body = fetched.path.read_bytes()
        self.events.append(
            {
                "hook": "on_file",
                "target": fetched.target,
                "url": fetched.url,
                "sha256": fetched.sha256,
                "sha_ok": hashlib.sha256(body).hexdigest() == fetched.sha256,
                "size": fetched.size,
                "size_ok": len(body) == fetched.size,
                "media_type": fetched.media_type,
                "etag": fetched.etag,
                "last_modified": fetched.last_modified,
                "portal": fetched.portal,
                "dataset": fetched.dataset,
                "utc": fetched.fetched_at.utcoffset() is not None,
                "first_seen_ok": fetched.first_seen is not None
                and fetched.first_seen <= fetched.fetched_at,
                "suffix": fetched.path.suffix,
            }
        )
        self.store[fetched.url] = Validators(fetched.etag, fetched.last_modified, fetched.sha256)
        fetched.path.unlink()

    def on_unchanged(self, target: str, url: str) -> None:
        self.events.append({"hook": "on_unchanged", "target": target, "url": url})

    def on_gone(self, target: str, url: str, status: int) -> None:
        self.events.append({"hook": "on_gone", "target": target, "url": url, "status": status})

    def on_fetch_error(self, target: str, url: str, error: str) -> None:
        self.events.append({"hook": "on_fetch_error", "target": target, "url": url, "error": error})

    def on_exposure(self, exposure: ViewExposure) -> None:
        self.events.append(
            {
                "hook": "on_exposure",
                "target": exposure.target,
                "url": exposure.url,
                "view": exposure.view,
                "offers": list(exposure.offers),
                "permissions": dict(exposure.permissions),
                "forbidden": list(exposure.forbidden),
            }
        )

    def on_coverage(self, coverage: Coverage) -> None:
        self.events.append({"hook": "on_coverage", **coverage.to_dict()})

    def on_poll_done(self, target: str, seen: set[str], ok: bool) -> None:
        self.events.append(
            {
                "hook": "on_poll_done",
                "target": target,
                "seen": sorted(seen),
                "ok": ok,
                "at": time.monotonic(),
            }
        )
