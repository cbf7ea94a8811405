"""Memory the HTML spider holds while a large index page's files are being fetched.

Scrapy keeps a response, and the callback's generator, until every item the page
gave has been through the item pipeline (the crawl's file fetch step): for an index
page of 100,000 files, a whole poll. This measures what the daemon's process holds
in that time, side by side in one run: the spider as it is (the page's parsed tree
let go once its links are read, and the C heap trimmed after a large page:
``spiders.links.release_tree``) and the same spider
with the tree kept (``release_tree`` replaced by a no-op, as before the change).

Each arm runs in a fresh process: it parses a page of N links (the stand-in portal's
index, ``monitor.standin.Portal``) with ``HtmlSpider.parse``, takes the first item
(the page is then being fetched from), and reports the RSS it gained from before
the page was parsed, with the response still referenced, as Scrapy's scraper does.

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
import gc, json, sys
import psutil
from scrapy.http import HtmlResponse
import spiders.html
from spiders.html import HtmlSpider

links, keep = int(sys.argv[1]), sys.argv[2] == "keep"
if keep:
    spiders.html.release_tree = lambda response, links: None
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
produced = spider.parse(response)
first = next(produced)  # the page's files are being fetched from here on
gc.collect()
selector = getattr(response, "_cached_selector", None) is not None
held = process.memory_info().rss - before
rest = sum(1 for _ in produced) + 1
print(json.dumps({"held_mb": held / 1e6, "items": rest, "selector": selector}))
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
    """Run both arms per size and print them side by side."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    print("| links on the page | tree kept, MB held | tree released, MB held | ratio |")
    print("|---|---|---|---|")
    for links in args.links:
        kept, released = _arm(links, "keep"), _arm(links, "release")
        assert kept["items"] == released["items"] == links, (kept, released)
        assert kept["selector"], kept
        assert not released["selector"], released
        ratio = kept["held_mb"] / released["held_mb"] if released["held_mb"] > 0 else float("inf")
        print(f"| {links:,} | {kept['held_mb']:.1f} | {released['held_mb']:.1f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
