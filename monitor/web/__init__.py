"""leakmon's own web: the threaded HTTP server and the read-only findings page.

Modules: ``server`` (Twisted's web server on a private reactor thread, serving
WSGI apps from thread pools, with timeouts), ``page`` (the findings page's WSGI
app: routing, auth, security headers), ``views`` (what the page shows, read from
the store), ``snippets`` (allow-rule YAML), ``text`` (escaping for display).
Twisted is imported here only by ``server``; the crawl's reactor is never used.
"""

from __future__ import annotations

from monitor.web.server import Mount, WebServer, WsgiApp

__all__ = ["Mount", "WebServer", "WsgiApp"]
