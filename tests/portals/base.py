"""What the stand-in catalogue portals share: datasets of files, faults, and a request log.

Each stand-in extends ``monitor.standin.Portal`` (which serves the files under
``/data/`` with ETag / Last-Modified and answers 304 to a matching conditional
GET) with a catalogue API in the real portal's shape. Tests publish and withdraw
resources while it runs and make API paths fail on purpose. Loopback only.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from monitor.standin import Answer, Portal

__all__ = ["CataloguePortal", "Dataset", "Fault", "Resource", "json_answer"]


@dataclass
class Resource:
    """One published file of a dataset."""

    name: str
    key: str  # the file's name in the base portal: "<dataset>/<resource>"
    media_type: str
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """Return a stable UUID for the resource, as catalogues give them."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, self.key))


@dataclass
class Dataset:
    """A catalogue entry: an id, a title and its resources, in publication order."""

    name: str
    title: str
    resources: dict[str, Resource] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def ident(self) -> str:
        """Return a stable UUID for the dataset."""
        return str(uuid.uuid5(uuid.NAMESPACE_URL, "dataset:" + self.name))


@dataclass
class Fault:
    """Requests whose path (with query) contains ``part`` answer ``status``, ``times`` times."""

    part: str
    status: int
    times: int | None = None
    retry_after: str | None = None
    body: bytes | None = None


class CataloguePortal(Portal):
    """A portal with datasets listed by an API; subclasses answer the API in ``api``."""

    def __init__(self, title: str = "Stand-in catalogue portal") -> None:
        super().__init__(title)
        self.datasets: dict[str, Dataset] = {}
        self.log: list[tuple[float, str]] = []  # (monotonic time, path) of every request
        self._faults: list[Fault] = []
        self._state = threading.Lock()

    # -- what tests do ---------------------------------------------------------------------

    def add_dataset(self, dataset: str, title: str | None = None, **options: Any) -> None:
        """List a dataset (with no resources yet); ``options`` are the stand-in's switches."""
        with self._state:
            entry = self.datasets.setdefault(dataset, Dataset(dataset, title or dataset))
            entry.title = title or entry.title
            entry.options.update(options)

    def publish(
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        **options: Any,
    ) -> str:
        """Publish (or replace) a resource of a dataset; return the URL the catalogue lists."""
        self.add_dataset(dataset)
        key = f"{dataset}/{resource_name}"
        super().publish(key, body, media_type)  # the file first, then the listing
        with self._state:
            self.datasets[dataset].resources[resource_name] = Resource(
                resource_name, key, media_type, options
            )
        return self.resource_url(dataset, resource_name)

    def withdraw(self, dataset: str, resource_name: str | None = None) -> None:
        """Unlist a resource (or a whole dataset) and take its file down (404)."""
        with self._state:
            entry = self.datasets.get(dataset)
            if entry is None:
                return
            if resource_name is None:
                gone = list(entry.resources.values())
                del self.datasets[dataset]
            else:
                gone = [r for r in (entry.resources.pop(resource_name, None),) if r]
        for resource in gone:
            super().withdraw(resource.key)

    def resource_url(self, dataset: str, resource_name: str) -> str:
        """Return where a resource's file is served."""
        return f"{self.url}data/{quote(dataset)}/{quote(resource_name)}"

    def fail(
        self,
        part: str,
        status: int,
        *,
        times: int | None = None,
        retry_after: str | None = None,
        body: bytes | None = None,
    ) -> None:
        """Make requests whose path contains ``part`` answer ``status``, ``times`` times or always.

        ``body`` replaces the API's error body; ``retry_after`` is sent as ``Retry-After``.
        """
        with self._state:
            self._faults.append(Fault(part, status, times, retry_after, body))

    def heal(self) -> None:
        """Remove every fault."""
        with self._state:
            self._faults.clear()

    def hits(self, prefix: str) -> list[str]:
        """Return the paths requested that start with ``prefix``, in order."""
        with self._state:
            return [p for _, p in self.log if p.startswith(prefix)]

    # -- serving ---------------------------------------------------------------------------

    def route(self, path: str) -> Answer | None:
        """Answer a fault, the API, or a file (the base portal's lock is held)."""
        with self._state:
            self.log.append((time.monotonic(), path))
            fault = self._fault(path)
            if fault is not None:
                return fault
            parts = urlsplit(path)
            answer = self.api(parts.path, {k: v[-1] for k, v in parse_qs(parts.query).items()})
        return answer if answer is not None else super().route(path)

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Return the catalogue API's answer for ``path``, or ``None`` (the state lock is held)."""
        return None

    def error(self, status: int, message: str) -> bytes:
        """Return the API's error body for a status (subclasses give their portal's shape)."""
        return json.dumps({"error": True, "message": message}).encode()

    def _fault(self, path: str) -> Answer | None:
        for fault in self._faults:
            if fault.part in path and (fault.times is None or fault.times > 0):
                if fault.times is not None:
                    fault.times -= 1
                headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
                body = fault.body or self.error(fault.status, f"stand-in fault {fault.status}")
                return Answer(body, "application/json", status=fault.status, headers=headers)
        return None


def json_answer(data: Any, status: int = 200) -> Answer:
    """Return a JSON answer (Any: any JSON value)."""
    return Answer(json.dumps(data).encode(), "application/json; charset=utf-8", status=status)
