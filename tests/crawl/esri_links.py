"""A DCAT-US catalogue that links Esri REST services and layers (run by ``tests.crawl.driver``).

The catalogue (``tests.portals.DcatPortal``) and the ArcGIS Server
(``tests.portals.arcgis.ArcgisPortal``) are separate stand-ins on 127.0.0.1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.crawl.catalogues import Watch, csv
from tests.portals import DcatPortal
from tests.portals.arcgis import ArcgisPortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime


def _rows(count: int, start: int = 0) -> bytes:
    lines = [f"{i},{i % 7} Main St,permit" for i in range(start, start + count)]
    return ("row,street,kind\n" + "\n".join(lines) + "\n").encode()


async def dcat_esri(reactor: IReactorTime) -> dict[str, Any]:
    """Poll a catalogue whose distributions link a service, a layer, an image service."""
    server = ArcgisPortal()
    server.publish("Public/Permits", "Applicants", _rows(5), max_record_count=2)
    server.publish("Public/Permits", "Counts", _rows(3, 100), paged=False, max_record_count=2)
    server.publish("Other/Roads", "Roads", _rows(4, 200))
    server.publish("Other/Roads", "Signs", _rows(9, 300))  # not linked: never read
    server.start()
    catalogue = DcatPortal()
    for i in range(3):
        catalogue.publish(f"ds-{i:02d}", "data.csv", csv(i))

    # The server on another host name (as Esri servers are): the address guard keeps a
    # start URL's host to its own port, and allows a host on allowed_domains on any.
    def far(url: str) -> str:
        return url.replace("127.0.0.1", "localhost")

    rest = far(server.directory_url) + "/"
    json_type, esri = "application/json", "Esri REST"
    catalogue.link(
        "ds-01", "ArcGIS GeoService", far(server.service_url("Public/Permits")), json_type, esri
    )
    catalogue.link(
        "ds-02", "Roads layer", far(server.layer_url("Other/Roads", "Roads")), json_type, esri
    )
    catalogue.link("ds-02", "Imagery", rest + "Imagery/ImageServer", json_type, esri)
    catalogue.link("ds-00", "Gone", rest + "Gone/Layer/FeatureServer/0", json_type, esri)
    catalogue.start()
    try:
        domains = {"allowed_domains": ["127.0.0.1", "localhost"]}
        poll = await Watch("dcat", catalogue, target_options=domains).poll()
        poll["arcgis"] = server.url
        poll["served"] = {k: sorted(map(str, v)) for k, v in server.served.items()}
        poll["arcgis_hits"] = [p for _, p in server.log]
        return poll
    finally:
        catalogue.stop()
        server.stop()
