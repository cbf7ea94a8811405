"""Loopback helpers shared by the tests that run a real daemon: a free port, a plain GET."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

__all__ = ["free_port", "get"]


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    """GET a loopback URL; return (status, body), or (0, "") when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310  (loopback only)
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except OSError:
        return 0, ""
