"""A plain site's rotation across a restart (run by ``tests.crawl.driver``).

The daemon keeps the carry-over in the store after every poll
(``Store.save_carry_over``) and hands it to a new crawl service when it starts
(``CrawlService.resume_carry``); here that is done by hand between two services.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.store import Store
from tests.crawl.catalogues import Watch, csv
from tests.portals import CataloguePortal

if TYPE_CHECKING:
    from twisted.internet.interfaces import IReactorTime


async def html_restart(reactor: IReactorTime) -> dict[str, Any]:
    """30 files, a budget of 12: one poll, a restart with and without the stored carry-over."""
    portal = CataloguePortal()
    for i in range(30):
        portal.publish(f"ds-{i:02d}", "data.csv", csv(i))
    portal.start()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'state.db'}")
        store.migrate()
        try:
            before = Watch("html", portal, max_requests_per_poll=12)
            first = await before.poll()
            carried = before.service.carry("t")
            store.save_carry_over("t", carried, dt.datetime.now(dt.UTC))
            store.close()
            store = Store(f"sqlite:///{Path(tmp) / 'state.db'}")  # the restarted daemon's
            after = Watch("html", portal, max_requests_per_poll=12)
            # The restarted daemon loads its validators from the store too: the files
            # the first poll fetched are known, not new (new ones would go first).
            after.hooks.store = dict(before.hooks.store)
            for target, entries in store.carry_overs().items():
                after.service.resume_carry(target, entries)
            resumed = await after.poll()
            fresh = Watch("html", portal, max_requests_per_poll=12)
            fresh.hooks.store = dict(before.hooks.store)
            forgot = await fresh.poll()
            return {
                "first": first,
                "carried": sorted(e["url"].removeprefix(portal.url) for e in carried if e["url"]),
                "resumed": resumed,
                "forgot": forgot,
            }
        finally:
            store.close()
            portal.stop()
