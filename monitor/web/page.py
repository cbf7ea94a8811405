"""The read-only findings page: a WSGI app rendering Jinja2 templates, behind auth.

Paths (relative links throughout, so the page also works under a reverse proxy's
prefix; ``link_base`` is the URL this app is reached at):

- ``/findings``: open incidents by target and severity, each target's coverage;
- ``/findings/<key>``: one incident (``<key>``: an incident key, as in alert links,
  or a finding key): its findings with masked evidence, how the data is exposed,
  first and last seen, history, and the allow-rule snippets to paste;
- ``/targets/<name>``: one target's coverage, open and recently resolved incidents;
- ``/``: redirects to ``findings``.

Only GET and HEAD are answered. Every answer, errors included, carries the
security headers (``_HEADERS``); there is no JavaScript, and the style sheet is
inline, allowed by its hash in the Content-Security-Policy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re
import urllib.parse
from importlib import resources
from typing import TYPE_CHECKING, Any

import jinja2

from monitor.errors import ConfigError, StoreError
from monitor.models import Severity, utcnow
from monitor.web import snippets
from monitor.web.text import visible
from monitor.web.views import Views

if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Callable, Iterable

    from monitor.config import PageConfig, Settings
    from monitor.store import Store

__all__ = ["FindingsPage"]

logger = logging.getLogger(__name__)

_METHODS = ("GET", "HEAD")
_REALM = 'realm="leakmon findings", charset="UTF-8"'


def _style() -> str:
    return (resources.files("monitor.web") / "templates" / "style.css").read_text("utf-8")


def _headers(style_hash: str) -> list[tuple[str, str]]:
    """Return the headers every answer carries: no caching, no framing, no scripts."""
    csp = (
        f"default-src 'none'; style-src '{style_hash}'; img-src 'none'; form-action 'self';"
        " base-uri 'none'; frame-ancestors 'none'"
    )
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cache-Control", "no-store"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
    ]


class FindingsPage:
    """The findings page's WSGI app.

    Args:
        store: where findings, incidents and coverage are read (never written).
        targets: the configured target names.
        auth: ``basic``, ``bearer`` or ``none``.
        secret: the bearer token or basic-auth password (``None`` only with ``auth`` none).
        user: the basic-auth user name.
        clock: today's date for the snippets' ``expires`` (tests).

    Raises:
        ConfigError: authentication is asked for but no secret is given.
    """

    def __init__(
        self,
        store: Store,
        targets: Iterable[str],
        *,
        auth: str = "basic",
        secret: str | None = None,
        user: str = "leakmon",
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        if auth not in ("basic", "bearer", "none"):
            raise ConfigError(f"http.page.auth must be basic, bearer or none, got {auth!r}")
        if auth != "none" and not secret:
            raise ConfigError(
                f"http.page: auth {auth} needs a secret: set LEAKMON_PAGE_SECRET, or"
                " LEAKMON_PAGE_SECRET_FILE to a file holding it (or, on a 127.0.0.1"
                " listener only, auth: none); the findings page is not started without one"
            )
        self._views = Views(store, list(targets))
        self._auth = auth
        self._secret = (secret or "").encode("utf-8")
        self._user = user.encode("utf-8")
        self._clock = clock
        style = _style()
        digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
        self._headers = _headers(f"sha256-{digest}")
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("monitor.web", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters["visible"] = visible
        self._env.filters["when"] = _when
        self._env.globals.update(style=style, Severity=Severity)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store) -> FindingsPage | None:
        """Return the page ``http.page`` configures, or ``None`` when it is absent.

        Raises:
            ConfigError: authentication is configured but no secret is set.
        """
        config: PageConfig | None = settings.http.page
        if config is None:
            return None
        secret = config.secret.get_secret_value() if config.secret is not None else None
        return cls(
            store,
            [t.name for t in settings.targets],
            auth=config.auth,
            secret=secret,
            user=config.user,
        )

    # -- WSGI ------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start: Callable[..., Any]) -> Iterable[bytes]:
        """Answer one request (WSGI; Any: environ values are untyped by design)."""
        method = environ.get("REQUEST_METHOD", "")
        status, extra, body = self._answer(environ, method)
        headers = [*self._headers, *extra, ("Content-Length", str(len(body)))]
        start(status, headers)
        return [b"" if method == "HEAD" else body]

    def _answer(
        self, environ: dict[str, Any], method: str
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        if self._auth == "none" and not _LOOPBACK_HOST.match(environ.get("HTTP_HOST", "")):
            # An open page answers loopback names only: a web page in the operator's
            # browser that rebinds its own name to 127.0.0.1 must not read it (DNS rebinding).
            return "403 Forbidden", [_TEXT], b"this page answers only to a loopback Host\n"
        if not self._authorized(environ.get("HTTP_AUTHORIZATION", "")):
            challenge = "Bearer" if self._auth == "bearer" else "Basic"
            return (
                "401 Unauthorized",
                [("WWW-Authenticate", f"{challenge} {_REALM}"), _TEXT],
                b"authentication required\n",
            )
        if method not in _METHODS:
            return (
                "405 Method Not Allowed",
                [("Allow", ", ".join(_METHODS)), _TEXT],
                b"method not allowed\n",
            )
        path = environ.get("PATH_INFO", "") or "/"
        try:
            return self._route(path, urllib.parse.parse_qs(environ.get("QUERY_STRING", "")))
        except StoreError as exc:
            logger.warning("findings page: the store cannot be read: %s", exc)
            body = self._render(
                "error.html", path, status="503", message="The store cannot be read right now."
            )
            return "503 Service Unavailable", [_HTML, ("Retry-After", "10")], body

    def _authorized(self, header: str) -> bool:
        if self._auth == "none":
            return True
        scheme, _, value = header.strip().partition(" ")
        value = value.strip()
        if scheme.lower() == "bearer":
            return hmac.compare_digest(value.encode("utf-8", "replace"), self._secret)
        if scheme.lower() == "basic" and self._auth == "basic":
            try:
                user, _, password = base64.b64decode(value, validate=True).partition(b":")
            except (binascii.Error, ValueError):
                return False
            # Both compared, always: the answer's timing says nothing about which was wrong.
            ok_user = hmac.compare_digest(user, self._user)
            ok_password = hmac.compare_digest(password, self._secret)
            return ok_user and ok_password
        return False

    def _route(
        self, path: str, query: dict[str, list[str]]
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        parts = path.split("/")[1:]
        if parts == [""]:
            return "303 See Other", [("Location", "findings"), _TEXT], b"see findings\n"
        if parts == ["findings"] or parts == ["findings", ""]:
            return self._ok(self._index(path))
        if len(parts) == 2 and parts[0] == "findings" and parts[1]:
            incident = self._views.incident(parts[1])
            if incident is not None:
                return self._ok(self._incident(path, incident))
        if len(parts) == 2 and parts[0] == "targets" and parts[1]:
            summary = self._views.target(parts[1])
            if summary is not None:
                return self._ok(self._target(path, summary))
        body = self._render("error.html", path, status="404", message="Nothing is here.")
        return "404 Not Found", [_HTML], body

    # -- pages -----------------------------------------------------------------------------

    def _index(self, path: str) -> bytes:
        incidents = self._views.incidents(open_only=True)
        by_target: dict[str, list[Any]] = {}
        for incident in incidents:
            by_target.setdefault(incident.target, []).append(incident)
        return self._render(
            "index.html",
            path,
            targets=self._views.targets(incidents),
            by_target=by_target,
            total=len(incidents),
        )

    def _incident(self, path: str, incident: Any) -> bytes:
        today = self._clock().date()
        return self._render(
            "incident.html",
            path,
            incident=incident,
            history=self._views.history(incident),
            allow_file=snippets.allow_file(incident.target, incident.url, today),
            allow_findings={
                f.key: snippets.allow_finding(f, today)
                for f in incident.findings
                if f.status == "open"
            },
        )

    def _target(self, path: str, summary: Any) -> bytes:
        return self._render(
            "target.html",
            path,
            target=summary,
            incidents=self._views.incidents(target=summary.name, open_only=True),
            resolved=self._views.recently_resolved(summary.name),
        )

    def _render(self, template: str, path: str, **context: Any) -> bytes:
        # Links are relative to the page's depth, so a proxy's path prefix is kept.
        depth = max(path.count("/") - 1, 0)
        root = "../" * depth or "./"
        html = self._env.get_template(template).render(
            root=root, now=self._clock(), quote=_quote, **context
        )
        return html.encode("utf-8")

    def _ok(self, body: bytes) -> tuple[str, list[tuple[str, str]], bytes]:
        return "200 OK", [_HTML], body


_TEXT = ("Content-Type", "text/plain; charset=utf-8")
#: Host headers an unauthenticated page answers: 127.x.x.x, localhost or [::1], any port.
_LOOPBACK_HOST = re.compile(r"^(127(\.\d{1,3}){3}|localhost|\[::1\])(:\d{1,5})?$", re.I)
_HTML = ("Content-Type", "text/html; charset=utf-8")


def _quote(segment: str) -> str:
    """Return a path segment percent-encoded (target names, keys)."""
    return urllib.parse.quote(segment, safe="")


def _when(value: dt.datetime | None) -> str:
    """Return a UTC time as ``2026-12-04 14:03:22 UTC``, or an empty string."""
    if value is None:
        return ""
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")
