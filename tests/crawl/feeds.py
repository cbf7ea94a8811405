"""Change-feed scenarios for Socrata and ArcGIS (run by ``tests.crawl.driver``).

Each one walks a catalogue larger than one poll's share, publishes a leak far
down it, and polls again: the leak must be read ahead of the walk, which goes on.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import monitor.crawl.service as service_module
from tests.crawl.catalogues import Watch, csv
from tests.portals import SocrataPortal
from tests.portals.arcgis import ArcgisPortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime

#: Long ago, for everything published before the first poll (epoch ms: 2024-01-02).
OLD_MS = 1_704_164_645_000
OLD_ISO = "2024-01-02T03:04:05.000Z"


def _rows(count: int, start: int = 0) -> bytes:
    lines = [f"{i},{i % 7} Main St,permit" for i in range(start, start + count)]
    return ("row,street,kind\n" + "\n".join(lines) + "\n").encode()


async def socrata_changes(reactor: IReactorTime) -> dict[str, Any]:
    """A Socrata domain of 30 assets walked 5 a poll; two assets far down change."""
    portal = SocrataPortal()
    for i in range(30):
        portal.publish(
            f"ds{i:02d}-test", f"Dataset {i}", csv(i), asset="map" if i == 22 else "dataset"
        )
    for dataset in portal.datasets.values():
        dataset.options["modified"] = OLD_ISO
    portal.start()
    try:
        watch = Watch("socrata", portal, max_datasets_per_poll=5)
        first = await watch.poll()
        portal.publish("ds27-test", "Dataset 27", csv(999))  # its rows replaced
        portal.publish("ds22-test", "Dataset 22", csv(998), asset="map")
        second = await watch.poll()
        return {
            "first": first,
            "second": second,
            "changed": [
                portal.asset_url(f).removeprefix(portal.url) for f in ("ds27-test", "ds22-test")
            ],
        }
    finally:
        portal.stop()


async def arcgis_changes(reactor: IReactorTime) -> dict[str, Any]:
    """A directory of 12 services walked 3 a poll, and a Hub site of 8 datasets walked 2."""
    server = ArcgisPortal()
    for i in range(12):
        server.publish(f"Svc/S{i:02d}", "permits", _rows(3, 10 * i))
    server.publish("Svc/S08", "legacy", _rows(2), paged=False)  # an old-style layer too
    server.age(OLD_MS)
    server.start()
    hub = ArcgisPortal()
    for i in range(8):
        hub.publish(f"Hub/H{i}", f"layer {i}", _rows(2, 10 * i), hub=True)
    hub.age(OLD_MS)
    hub.start()
    try:
        # One request at a time: the order the portal is asked in is the order of priority.
        rest = Watch(
            "arcgis",
            server,
            start=server.directory_url,
            max_datasets_per_poll=3,
            concurrent_requests=1,
        )
        first = await rest.poll()
        leak = server.publish("Svc/S10", "permits", _rows(5, 500))  # edited now
        second = await rest.poll()
        site = Watch("arcgis", hub, start=hub.url, name="hub", max_datasets_per_poll=2)
        hub_first = await site.poll()
        # The last dataset in the walk's order (by identifier): far from both polls' shares.
        far = max(hub.datasets, key=lambda name: f"{hub.url}datasets/{hub.item_id(name)}_0")
        hub.publish(far, "far layer", _rows(4, 900), hub=True)
        hub_second = await site.poll()
        return {
            "first": first,
            "second": second,
            "leak": leak.removeprefix(server.url),
            "hub_first": hub_first,
            "hub_second": hub_second,
            "hub_leak": f"api/download/v1/items/{hub.item_id(far)}/csv",
        }
    finally:
        server.stop()
        hub.stop()


async def socrata_feed_fails(reactor: IReactorTime) -> dict[str, Any]:
    """An asset changes after poll 1; poll 2's feed fails; poll 3's feed must still read it.

    The feeds' five minutes of slack would hide the difference in a test that lasts
    seconds: it is set to none here (this scenario runs in its own process).
    """
    service_module._CHANGE_SLACK = dt.timedelta(0)
    portal = SocrataPortal()
    for i in range(30):
        portal.publish(f"ds{i:02d}-test", f"Dataset {i}", csv(i))
    for dataset in portal.datasets.values():
        dataset.options["modified"] = OLD_ISO
    portal.start()
    try:
        watch = Watch("socrata", portal, max_datasets_per_poll=5)
        first = await watch.poll()
        portal.publish("ds27-test", "Dataset 27", csv(999))
        portal.fail("order=updatedAt", 500)  # the feed fails, the walk does not
        second = await watch.poll()
        portal.heal()
        third = await watch.poll()
        return {
            "first": first,
            "second": second,
            "third": third,
            "changed": portal.asset_url("ds27-test").removeprefix(portal.url),
        }
    finally:
        portal.stop()
