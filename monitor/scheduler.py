"""Run the Twisted reactor for the daemon and stop it cleanly on SIGTERM or SIGINT.

Scrapy needs the reactor on the main thread. Shutdown waits for the crawler to
stop, but never longer than ``grace`` seconds: an orchestrator kills a process
that ignores SIGTERM, and queued alerts are safe in the store's outbox anyway.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["run_reactor", "stop_reactor"]

logger = logging.getLogger(__name__)


def _reactor() -> Any:
    """Return the global reactor (Any: Twisted types it as an interface, not an object)."""
    from twisted.internet import reactor  # lazy import: importing installs the reactor

    return reactor


def run_reactor(
    start: Callable[[], None],
    stop: Callable[[], Any],
    grace: float = 10.0,
) -> None:
    """Call ``start`` once the reactor runs; on shutdown wait for ``stop``'s Deferred.

    Blocks until the reactor stops (Twisted installs the SIGTERM and SIGINT handlers).
    """
    from twisted.internet import defer  # lazy import: installs the reactor

    reactor = _reactor()

    def before_shutdown() -> Any:
        logger.info("shutting down: stopping the crawler (at most %.0f s)", grace)
        result = stop()
        if not isinstance(result, defer.Deferred):
            return None
        return result.addTimeout(grace, reactor).addErrback(
            lambda failure: logger.warning(
                "crawler did not stop cleanly: %s", failure.getErrorMessage()
            )
        )

    reactor.addSystemEventTrigger("before", "shutdown", before_shutdown)
    reactor.callWhenRunning(start)
    reactor.run()


def stop_reactor() -> None:
    """Ask the reactor to shut down, from any thread (runs the same path as SIGTERM)."""
    reactor = _reactor()
    reactor.callFromThread(reactor.stop)
