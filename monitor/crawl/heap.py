"""Free what a finished poll leaves behind: a full garbage collection, then glibc's trim."""

from __future__ import annotations

import ctypes
import gc
import logging
import platform
import time
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["COLLECT_FROM_FILES", "release_poll", "trim"]

logger = logging.getLogger(__name__)

#: A poll that linked fewer files leaves too little behind to pay for a full collection.
COLLECT_FROM_FILES = 1000


def release_poll(files: int) -> bool:
    """Free a finished poll's crawler, spider and pages now; True when a collection ran.

    Scrapy's crawler, the spider and the last page it parsed (its response and
    decoded text; the lxml tree is let go sooner, ``spiders.links.release_tree``) sit in
    reference cycles when a poll ends, so only a full collection frees them, and in
    a daemon of a million long-lived objects that may come polls later: the next
    poll's page and records were then added to the last one's. One collection per
    large poll costs a fraction of a second of the reactor's time.
    """
    if files < COLLECT_FROM_FILES:
        return False
    started = time.monotonic()
    unreachable = gc.collect()
    trimmed = trim()
    logger.debug(
        "poll of %d files released: %d unreachable objects, heap %s, in %.3f s",
        files,
        unreachable,
        "trimmed" if trimmed else "not trimmed",
        time.monotonic() - started,
    )
    return True


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """Return glibc's ``malloc_trim``, or ``None`` on another C library (musl, macOS)."""
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


def trim() -> bool:
    """Return the C heap's free pages to the system; True when glibc released any.

    An index page's parsed tree is allocated by libxml2 with malloc, not by
    Python: freed, glibc keeps the pages, and the process stays at the poll's
    high-water mark. A no-op where glibc is not the C library.
    """
    function = _malloc_trim()
    if function is None:
        return False
    return bool(function(0))
