"""Hand a viz session's download to the daemon: spooled, hashed, compared by content.

Session URLs and POST answers carry no validators a later poll could send, so a
download is "unchanged" only when its sha256 equals the stored one: then no
file is kept and nothing is rescanned.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from monitor.exposure import PERMISSIONS
from monitor.models import FetchedFile, utcnow
from monitor.vizql.envelope import write_envelope

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from scrapy.http import Response

    from monitor.crawl.poll import PollState
    from monitor.crawl.tableau.urls import ViewRef

__all__ = ["Delivery"]

_CHUNK = 1024 * 1024


class Delivery:
    """Where one view's downloads go: the daemon's hooks, under their resource names."""

    def __init__(self, state: PollState, view: ViewRef) -> None:
        self.state = state
        self.view = view

    async def body(self, identity: str, title: str, response: Response, mechanism: str) -> None:
        """Deliver a body as it came (a CSV, a crosstab, a workbook)."""
        path, digest = await maybe_deferred_to_future(
            deferToThread(_spool_bytes, response.body, _suffix(mechanism, identity))
        )
        self._hand(identity, _named(title, mechanism), response, path, digest)

    async def envelope(
        self,
        identity: str,
        title: str,
        response: Response,
        mechanism: str,
        sheet: str,
        segments: Mapping[str, Any],  # Any: the session's JSON data dictionary
    ) -> None:
        """Deliver a command's JSON with the session's data dictionary it indexes into."""
        view = f"{self.view.name}" + (f" ({sheet})" if sheet != self.view.sheet else "")
        path, digest = await maybe_deferred_to_future(
            deferToThread(_spool_envelope, mechanism, view, segments, response.body)
        )
        self._hand(identity, _named(title, mechanism), response, path, digest)

    def _hand(self, identity: str, title: str, response: Response, path: Path, digest: str) -> None:
        state = self.state
        state.seen.add(identity)
        state.metrics.bytes_downloaded.labels(state.target).inc(len(response.body))
        known = state.hooks.validators(identity)
        if known.sha256 is not None and known.sha256 == digest:
            path.unlink(missing_ok=True)
            state.files["unchanged"] += 1
            state.hooks.on_unchanged(state.target, identity)
            return
        state.files["new_or_changed"] += 1
        media = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        fetched = FetchedFile(
            target=state.target,
            url=identity,
            path=path,
            sha256=digest,
            size=path.stat().st_size,
            media_type=media.split(";")[0].strip().lower() or None,
            etag=None,
            last_modified=None,
            fetched_at=utcnow(),
            portal="tableau",
            dataset=title,
            first_seen=utcnow(),
        )
        try:
            state.hooks.on_file(fetched)
        except BaseException:
            path.unlink(missing_ok=True)  # the consumer deletes it once it has it
            raise


def _named(title: str, mechanism: str) -> str:
    """Return a resource's name for alerts: how the data is exposed, and what allows it."""
    return f"{title}; allowed by {PERMISSIONS[mechanism]}" if mechanism in PERMISSIONS else title


def _spool_bytes(body: bytes, suffix: str) -> tuple[Path, str]:
    """Write a body to a new temporary file; return its path and sha256 (worker thread)."""
    fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=suffix)
    with os.fdopen(fd, "wb") as out:
        out.write(body)
    return Path(name), hashlib.sha256(body).hexdigest()


def _spool_envelope(
    mechanism: str, view: str, segments: Mapping[str, Any], body: bytes
) -> tuple[Path, str]:
    """Write a command's envelope to a new temporary file; return its path and sha256."""
    fd, name = tempfile.mkstemp(prefix="leakmon-", suffix=".json")
    os.close(fd)
    path = Path(name)
    write_envelope(path, mechanism=mechanism, view=view, segments=segments, response=body)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return path, digest.hexdigest()


def _suffix(mechanism: str, identity: str) -> str:
    if mechanism == "workbook":
        return ".twbx"
    if mechanism == "crosstab":
        return ".csv"
    return ".csv" if mechanism == "full_data" else Path(identity).suffix[:10]
