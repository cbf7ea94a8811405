"""Memory the HTML spider holds while a large index page's files are being fetched.

Scrapy keeps a response, and the callback's generator, until every item the page
gave has been through the item pipeline (the crawl's file fetch step): for an index
page of 100,000 files, a whole poll. This measures, side by side in one run,
what the daemon's process holds in that time and the peak while the page is read, for
three versions of the spider:

- *tree kept*: the page parsed whole and its tree kept with the response
  (``release_tree`` replaced by a no-op, as before the third round);
- *tree released*: parsed whole, the tree let go once its links are read and the C
  heap trimmed (``spiders.links.release_tree``; ``spiders.outline`` switched off);
- *outline*: the spider as it is; a page of ``LARGE_PAGE_BYTES`` or more is read with a
  parser target, its links recorded and only a slim tree built (``spiders.outline``).

Each arm runs in a fresh process: it parses a page of N links (the stand-in portal's
index, ``monitor.standin.Portal``) with ``HtmlSpider.parse``, takes the first item
(the page is then being fetched from), and reports the RSS it gained from before
the page was parsed, with the response still referenced, as Scrapy's scraper does
(held), and the growth of the process's peak RSS over the same span (peak).

Usage:
  .venv/bin/python bench/bench_index_page.py --links 10000 100000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_ARM = r"""
import gc, json, resource, sys
import psutil
from scrapy.http import HtmlResponse
import spiders.html
from spiders.html import HtmlSpider

links, mode = int(sys.argv[1]), sys.argv[2]
if mode == "keep":
    spiders.html.release_tree = lambda response, links: None
if mode in ("keep", "release"):
    spiders.html.LARGE_PAGE_BYTES = 10**12
items = "".join(
    f'<li><a href="data/file-{i:06d}.csv">file-{i:06d}.csv</a></li>' for i in range(links)
)
head = "<!doctype html><html><head><title>Portal</title></head>"
body = f"{head}<body><ul>{items}</ul></body></html>"
base = "http://127.0.0.1:8000/"
spider = HtmlSpider(target="t", start_urls=[base], allowed_domains=["127.0.0.1"])
process = psutil.Process()
response = HtmlResponse(base, body=body.encode(), encoding="utf-8")
del body, items
gc.collect()
before = process.memory_info().rss
peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
produced = spider.parse(response)
first = next(produced)  # the page's files are being fetched from here on
gc.collect()
selector = getattr(response, "_cached_selector", None) is not None
held = process.memory_info().rss - before
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - max(before, peak_before)
rest = sum(1 for _ in produced) + 1
print(json.dumps({"held_mb": held / 1e6, "peak_mb": max(peak, 0) / 1e6, "items": rest,
                  "selector": selector}))
"""


def _arm(links: int, mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _ARM, str(links), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    """Run the three arms per size and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print("| links on the page | tree kept: held / peak MB | tree released | outline |")
    print("|---|---|---|---|")
    for links in args.links:
        arms = {mode: _arm(links, mode) for mode in ("keep", "release", "outline")}
        assert all(arm["items"] == links for arm in arms.values()), arms
        assert arms["keep"]["selector"], arms
        assert not arms["release"]["selector"], arms
        cells = [f"{a['held_mb']:.1f} / {a['peak_mb']:.1f}" for a in arms.values()]
        print(f"| {links:,} | " + " | ".join(cells) + " |")
    print("(held: RSS gained and still held after the first item; peak: the process's")
    print(" peak RSS gained while the page was read; each arm in a fresh process)")


if __name__ == "__main__":
    main()
