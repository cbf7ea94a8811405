"""A stand-in DCAT-US catalogue: ``/data.json`` in the Project Open Data v1.1 shape.

Every published resource is a distribution with a ``downloadURL``, a
``mediaType`` and a ``format``; ``publish(..., access=True)`` lists it by
``accessURL`` instead (a data file behind an access URL). ``link(...)`` adds a
distribution that is a landing page or an API (``accessURL``, ``text/html``),
or a file on another host. ``legacy = True`` serves the v1.0 shape, a bare list
of datasets.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from tests.portals.base import CataloguePortal, json_answer

if TYPE_CHECKING:
    from monitor.standin import Answer
    from tests.portals.base import Dataset

__all__ = ["DcatPortal"]

SCHEMA = "https://project-open-data.cio.gov/v1.1/schema"


class DcatPortal(CataloguePortal):
    """A site with a DCAT-US ``/data.json`` on 127.0.0.1."""

    def __init__(self, path: str = "/data.json") -> None:
        super().__init__("Stand-in agency data inventory")
        self.path = path
        self.legacy = False
        self.bom = False  # start the catalogue with a UTF-8 byte-order mark (IIS servers do)

    @property
    def catalogue_url(self) -> str:
        """Return the catalogue's URL."""
        return self.url.rstrip("/") + self.path

    def identifier(self, dataset: str) -> str:
        """Return a dataset's ``identifier`` as the catalogue lists it."""
        return f"{self.url}id/{dataset}"

    def publish(
        self,
        dataset: str,
        resource_name: str,
        body: bytes,
        media_type: str = "text/csv",
        **options: Any,
    ) -> str:
        """Publish a resource; its dataset's ``modified`` becomes now (ISO 8601, UTC)."""
        url = super().publish(dataset, resource_name, body, media_type, **options)
        self.add_dataset(dataset, modified=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
        return url

    def link(
        self,
        dataset: str,
        title: str,
        access_url: str,
        media_type: str | None = "text/html",
        fmt: str | None = None,
    ) -> None:
        """Add a distribution that only points somewhere (a landing page, an API, a far file)."""
        self.add_dataset(dataset)
        with self._state:
            links = self.datasets[dataset].options.setdefault("links", [])
            links.append(
                {"title": title, "accessURL": access_url, "mediaType": media_type, "format": fmt}
            )

    def api(self, path: str, query: dict[str, str]) -> Answer | None:
        """Answer the catalogue."""
        if path != self.path:
            return None
        datasets = [self._dataset(d) for d in self.datasets.values()]
        if self.legacy:
            return self._bom(json_answer(datasets))
        return self._bom(
            json_answer(
                {
                    "@context": f"{SCHEMA}/catalog.jsonld",
                    "@id": self.catalogue_url,
                    "@type": "dcat:Catalog",
                    "conformsTo": SCHEMA,
                    "describedBy": f"{SCHEMA}/catalog.json",
                    "dataset": datasets,
                }
            )
        )

    def _bom(self, answer: Answer) -> Answer:
        if self.bom:
            answer.body = b"\xef\xbb\xbf" + answer.body
        return answer

    def _dataset(self, dataset: Dataset) -> dict[str, Any]:
        distributions: list[dict[str, Any]] = []
        for r in dataset.resources.values():
            where = "accessURL" if r.options.get("access") else "downloadURL"
            distributions.append(
                {
                    "@type": "dcat:Distribution",
                    "title": r.name,
                    where: self.resource_url(dataset.name, r.name),
                    "mediaType": r.media_type,
                    "format": r.name.rsplit(".", 1)[-1].upper() if "." in r.name else None,
                }
            )
        for extra in dataset.options.get("links", []):
            distributions.append(
                {"@type": "dcat:Distribution"} | {k: v for k, v in extra.items() if v is not None}
            )
        return {
            "@type": "dcat:Dataset",
            "title": dataset.title,
            "description": "Synthetic stand-in dataset.",
            "keyword": ["test"],
            "modified": dataset.options.get("modified", "2024-01-02"),
            "publisher": {"@type": "org:Organization", "name": "Stand-in Agency"},
            "contactPoint": {
                "@type": "vcard:Contact",
                "fn": "Open Data Team",
                "hasEmail": "mailto:opendata@example.gov",
            },
            "identifier": self.identifier(dataset.name),
            "accessLevel": "public",
            "bureauCode": ["000:00"],
            "programCode": ["000:000"],
            "license": "https://creativecommons.org/publicdomain/zero/1.0/",
            "landingPage": f"{self.url}datasets/{dataset.name}",
            "distribution": distributions,
        }
