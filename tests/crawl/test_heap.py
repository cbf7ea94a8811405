"""A finished poll's crawler, spider and pages are freed right after it, not polls later."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.crawl.heap import release_poll

REPO = Path(__file__).resolve().parents[2]

# The automatic collector is off, so only an explicit collection frees what sits in
# reference cycles (in the daemon the automatic full pass may come polls later).
SCRIPT = """
import gc, json, sys
gc.disable()
from scrapy.utils import trackref
from twisted.internet import reactor
from monitor.config import Settings
from monitor.crawl import CrawlService, heap
from monitor.metrics import Metrics
from tests.crawl.portal import Portal, Resource, page
from tests.crawl.recording import RecordingHooks

heap.COLLECT_FROM_FILES = int(sys.argv[1])
portal = Portal().start()
portal.set("/", page("Index", *[f"/{i}.csv" for i in range(5)]))
for i in range(5):
    portal.set(f"/{i}.csv", Resource(b"k,v\\n1,2\\n", "text/csv"))
settings = Settings.model_validate(
    {
        "targets": [{"kind": "html", "name": "t", "start_urls": [portal.url]}],
        "crawl": {"autothrottle": False},
    }
)
service = CrawlService(settings, RecordingHooks(), Metrics())
out = {}

def check():
    out["live"] = sorted(c.__name__ for c, refs in trackref.live_refs.items() if refs)
    reactor.stop()

def run():
    service.poll("t").addBoth(lambda _: reactor.callLater(0.5, check))

reactor.callWhenRunning(run)
reactor.run()
portal.stop()
print(json.dumps(out))
"""


def _live_after_poll(collect_from: int) -> list[str]:
    env = dict(os.environ, TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="")
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(collect_from)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    live: list[str] = json.loads(proc.stdout.strip().splitlines()[-1])["live"]
    return live


@pytest.mark.timeout(120)
def test_a_finished_polls_spider_and_pages_are_freed_right_after_it() -> None:
    assert _live_after_poll(collect_from=1) == []


@pytest.mark.timeout(120)
def test_a_small_poll_is_left_to_the_automatic_collector() -> None:
    live = set(_live_after_poll(collect_from=10**9))
    # What the first test frees is really held in cycles when nothing collects...
    assert "HtmlSpider" in live
    # ...but not the pages: the cycle through their cached tree is cut once their links
    # are read (spiders.links.release_tree), so they go without a collection.
    assert "HtmlResponse" not in live


def test_a_poll_below_the_threshold_does_not_collect() -> None:
    assert release_poll(999) is False
    assert release_poll(1000) is True
