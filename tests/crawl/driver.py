"""Run one crawl scenario in this process, on a reactor that runs once, and write its result.

Twisted's reactor cannot be restarted in a process, so each test module runs its
scenario here, in a child process, and asserts on the JSON it writes:

    python -m tests.crawl.driver SCENARIO OUT.json [--reactor default|asyncio]

A scenario is ``async def name(reactor) -> dict`` in ``tests.crawl.scenarios``, or
in another module when named ``module:name`` (``tests.crawl.catalogues:ckan``).
The reactor is stopped after ``--limit`` seconds whatever happens, so a broken
crawler fails the test instead of hanging it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Any


def run(name: str, out: Path, reactor_kind: str, limit: float) -> int:
    """Run scenario ``name`` and write ``{"result": ...}`` or ``{"error": ...}`` to ``out``."""
    if reactor_kind == "asyncio":
        from twisted.internet import asyncioreactor

        asyncioreactor.install()
    from twisted.internet import defer, reactor

    module, _, function = name.rpartition(":")
    scenario = getattr(importlib.import_module(module or "tests.crawl.scenarios"), function)
    written: dict[str, Any] = {}

    def finish(result: Any) -> None:
        if isinstance(result, dict):
            written["result"] = result
        else:
            written["error"] = (
                result.getTraceback() if hasattr(result, "getTraceback") else repr(result)
            )
        if reactor.running:
            reactor.stop()

    def begin() -> None:
        d = defer.ensureDeferred(scenario(reactor))
        d.addBoth(finish)

    def too_long() -> None:
        written.setdefault("error", f"scenario {name!r} still running after {limit} s")
        reactor.stop()

    reactor.callWhenRunning(begin)
    guard = reactor.callLater(limit, too_long)
    reactor.run()
    if guard.active():
        guard.cancel()
    written["reactor"] = type(reactor).__name__
    out.write_text(json.dumps(written, indent=1))
    return 0 if "result" in written else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("out", type=Path)
    parser.add_argument("--reactor", choices=("default", "asyncio"), default="default")
    parser.add_argument("--limit", type=float, default=120.0)
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("scrapy").setLevel(logging.WARNING)
    try:
        return run(args.scenario, args.out, args.reactor, args.limit)
    except Exception:
        args.out.write_text(json.dumps({"error": traceback.format_exc()}))
        return 1


if __name__ == "__main__":
    sys.exit(main())
