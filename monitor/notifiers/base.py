"""The notifier seam: the plugin protocol, its registry, building notifiers from config, one POST.

Built-in notifiers register themselves through ``register`` exactly as third-party
ones do through the ``leakmon.notifiers`` entry-point group. A notifier whose
required secret is configured but empty (``url: "${LEAKMON_SLACK_URL}"`` with the
variable set to ``""``) is switched off: its ``from_config`` raises ``NotConfigured``
and ``build_notifiers`` skips it with a warning. A secret that is missing altogether
is a ``ConfigError``.

Notifiers send; they never retry. Retries, backoff and ordering belong to
``monitor.notifiers.dispatcher``.
"""

from __future__ import annotations

import base64
import http.client
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Annotated, ClassVar, Protocol, TypeVar, cast

from pydantic import AfterValidator, BaseModel, SecretStr, ValidationError

from monitor import __version__
from monitor.errors import ConfigError, NotConfigured, NotifyError, NotifyRefused

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from email.message import Message

    from monitor.config import NotifierConfig
    from monitor.models import Alert

__all__ = [
    "NOTIFIERS",
    "USER_AGENT",
    "HttpUrl",
    "Notifier",
    "build_notifiers",
    "http_post",
    "load_plugins",
    "parse_config",
    "redact_url",
    "register",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"leakmon/{__version__}"

#: The entry-point group third-party notifiers register under.
ENTRY_POINT_GROUP = "leakmon.notifiers"

_KIND = re.compile(r"^[a-z][a-z0-9_]*$")
_EXCERPT_BYTES = 2048
_EXCERPT_CHARS = 200
#: Answers that refuse the body itself (malformed, too large, wrong type, invalid): sending
#: the same bytes again cannot succeed. Other 4xx (401, 403, 404, 410, 429...) are about the
#: receiver's setup or load, fixed on its side, so those events must wait, not be given up.
_BODY_REFUSED = frozenset({400, 413, 415, 422})
#: Fields of ``NotifierConfig`` that hold secrets; a notifier that ignores a set one says so.
_SECRET_FIELDS = ("url", "secret", "routing_key")


class Notifier(Protocol):
    """A plugin that delivers one alert to one channel, or raises ``NotifyError``."""

    kind: ClassVar[str]
    name: str

    @classmethod
    def from_config(cls, cfg: NotifierConfig) -> Notifier:
        """Build the notifier from its config entry; raise ``NotConfigured`` when switched off."""
        ...

    def send(self, alert: Alert) -> None:
        """Deliver the alert once; raise ``NotifyError`` on any failure (the dispatcher retries)."""
        ...


N = TypeVar("N", bound=type[Notifier])
M = TypeVar("M", bound=BaseModel)

#: kind -> notifier class. Filled by ``register`` at import time.
NOTIFIERS: dict[str, type[Notifier]] = {}


def register(cls: N) -> N:
    """Add a notifier class to the registry under its ``kind``; duplicates are an error."""
    kind = getattr(cls, "kind", None)
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValueError(
            f"notifier {cls.__qualname__} needs a class-level kind matching {_KIND.pattern}, "
            f"got {kind!r}"
        )
    if kind in NOTIFIERS and NOTIFIERS[kind] is not cls:
        raise ValueError(
            f"notifier kind {kind!r} registered twice: {NOTIFIERS[kind].__qualname__} "
            f"and {cls.__qualname__}"
        )
    NOTIFIERS[kind] = cls
    return cls


def load_plugins() -> list[str]:
    """Import third-party notifiers from the ``leakmon.notifiers`` entry-point group.

    Returns:
        The kinds the entry points registered.

    Raises:
        ConfigError: when an entry point cannot be imported or is not a notifier class.
    """
    loaded = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = ep.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"notifier plugin {ep.name!r} ({ep.value}) failed to import: {exc}"
            ) from exc
        if not isinstance(cls, type):
            raise ConfigError(
                f"notifier plugin {ep.name!r} ({ep.value}) is not a class, got {type(cls).__name__}"
            )
        # register() checks the one thing we rely on before use: a valid class-level kind.
        loaded.append(register(cast("type[Notifier]", cls)).kind)
    return loaded


def build_notifiers(configs: Iterable[NotifierConfig]) -> dict[str, Notifier]:
    """Return the configured notifiers by name, skipping those that are switched off.

    Third-party plugins are loaded only when a configured kind is not built in, so a
    broken plugin nobody uses cannot stop the daemon.

    Raises:
        ConfigError: naming the notifier and the field, for an unknown kind, a missing
            URL or routing key, or an invalid value.
    """
    configs = list(configs)
    if any(cfg.kind not in NOTIFIERS for cfg in configs):
        load_plugins()
    built: dict[str, Notifier] = {}
    for cfg in configs:
        if cfg.name in built:
            raise ConfigError(f"notifier {cfg.name!r}: name: used twice; names must be unique")
        cls = NOTIFIERS.get(cfg.kind)
        if cls is None:
            known = ", ".join(sorted(NOTIFIERS)) or "none"
            raise ConfigError(
                f"notifier {cfg.name!r}: kind: unknown kind {cfg.kind!r}; known kinds: {known}"
            )
        try:
            built[cfg.name] = cls.from_config(cfg)
        except NotConfigured as exc:
            logger.warning("notifier %r (%s) is switched off: %s", cfg.name, cfg.kind, exc)
    return built


# -- configuration --------------------------------------------------------------------------


def _check_http_url(value: SecretStr) -> SecretStr:
    url = value.get_secret_value()
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - read for its ValueError on a bad port
    except ValueError:
        raise ValueError(f"cannot be parsed as a URL, got {redact_url(url)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The value is a secret: say what is wrong without echoing it.
        raise ValueError(f"must be an http:// or https:// URL with a host, got {redact_url(url)}")
    return value


#: A secret URL that must be ``http(s)://host/...``; use it in notifier ``Config`` models.
HttpUrl = Annotated[SecretStr, AfterValidator(_check_http_url)]


def parse_config(model: type[M], cfg: NotifierConfig) -> M:
    """Validate the fields ``model`` declares, taken from one notifier's config entry.

    A required secret that is set but empty switches the notifier off; an optional
    one that is empty falls back to its default. Errors never echo secret values.

    Raises:
        NotConfigured: a required secret is configured as an empty string.
        ConfigError: naming the notifier and the field, with what was wrong.
    """
    where = f"notifier {cfg.name!r} ({cfg.kind})"
    for field in _SECRET_FIELDS:
        if field not in model.model_fields and getattr(cfg, field, None) is not None:
            logger.warning("%s ignores %s: kind %r does not use it", where, field, cfg.kind)
    data: dict[str, object] = {}
    for field, info in model.model_fields.items():
        value = getattr(cfg, field, None)
        if isinstance(value, SecretStr) and not value.get_secret_value().strip():
            if info.is_required():
                raise NotConfigured(f"{field} is empty, which switches it off")
            continue
        if value is None:
            if info.is_required():
                raise ConfigError(f"{where}: {field}: required for kind {cfg.kind!r}")
            continue
        data[field] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{where}: {'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
            for err in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("\n".join(lines)) from None


# -- HTTP -----------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Refuse redirects: urllib would replay a POST as a bodiless GET and call it success."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: object,
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        """Return ``None`` so the 3xx surfaces as an ``HTTPError``."""
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def redact_url(url: str) -> str:
    """Return ``scheme://host[:port]/…``: webhook paths and queries are credentials."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return f"{parts.scheme or '?'}://{host}{port}/…"


def _secret_pieces(url: str, secrets: Iterable[str]) -> list[str]:
    """Return the substrings of ``url`` and ``secrets`` that must never reach a message."""
    pieces = {s for s in secrets if s}
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        parts = None
    pieces.add(url)
    if parts is not None:
        pieces.update({parts.path, parts.query, parts.fragment, parts.password or ""})
        if parts.path or parts.query:
            pieces.add(parts.path + ("?" + parts.query if parts.query else ""))
        # Receivers often echo one segment ("no such hook: <token>"), so hide each one.
        pieces.update(seg for seg in parts.path.split("/") if len(seg) >= 6)
        for _, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            if len(value) >= 4:
                pieces.add(value)
                pieces.add(urllib.parse.quote(value, safe=""))
    return sorted((p for p in pieces if len(p) > 1), key=len, reverse=True)


def _scrub(text: str, pieces: list[str]) -> str:
    for piece in pieces:
        text = text.replace(piece, "…")
    return text


def _excerpt(raw: bytes, pieces: list[str]) -> str:
    text = " ".join(raw.decode("utf-8", errors="replace").split())
    text = _scrub(text, pieces)
    return text[:_EXCERPT_CHARS] + ("…" if len(text) > _EXCERPT_CHARS else "")


def _why(exc: BaseException, timeout: float) -> str:
    """Describe a transport failure from its type, not its text, which may quote the URL."""
    if isinstance(exc, urllib.error.URLError) and isinstance(exc.reason, BaseException):
        exc = exc.reason
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    if isinstance(exc, urllib.error.URLError):
        return f"URLError: {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


def http_post(
    notifier: str,
    url: str,
    body: bytes,
    headers: Mapping[str, str] | None = None,
    *,
    timeout: float = 10.0,
    secrets: Iterable[str] = (),
) -> tuple[int, str]:
    """POST a JSON body once and return the 2xx status with an excerpt of the answer.

    Redirects are not followed; credentials in the URL (``https://user:pass@host/``)
    are sent as HTTP Basic authentication. Messages name the notifier and the status, and show
    the URL only as ``scheme://host/…``; the URL's path and query, and ``secrets``
    (such as a routing key in the body), are removed from any text a receiver echoes.

    Args:
        notifier: the notifier's configured name, for messages.
        url: where to POST; must be http or https.
        body: the exact bytes to send.
        headers: extra headers; ``Content-Type`` and ``User-Agent`` have defaults.
        timeout: seconds for connecting and for each read.
        secrets: more strings to keep out of error messages.

    Raises:
        NotifyRefused: the receiver refused the body itself (HTTP 400, 413, 415 or 422).
        NotifyError: on a connection error, a timeout, or another status outside 2xx.
    """
    where = f"notifier {notifier!r}: POST {redact_url(url)}"
    pieces = _secret_pieces(url, secrets)
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - parsed for its ValueError on a bad port
    except ValueError:
        raise NotifyError(f"{where}: the URL cannot be parsed") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyError(f"{where}: only http:// and https:// URLs with a host are allowed")
    sent = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if parts.username is not None or parts.password is not None:
        # urllib does not send URL credentials by itself: turn them into Basic auth.
        user = urllib.parse.unquote(parts.username or "")
        password = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        sent["Authorization"] = f"Basic {token}"
        # A receiver that echoes request headers would echo the credentials encoded.
        pieces = sorted({*pieces, token}, key=len, reverse=True)
        netloc = parts.netloc.rpartition("@")[2]
        url = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    sent.update(headers or {})
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")  # noqa: S310 - scheme checked above
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            status = int(response.status)
            answer = response.read(_EXCERPT_BYTES)
    except urllib.error.HTTPError as exc:
        try:
            raw = exc.read(_EXCERPT_BYTES)
        except (OSError, http.client.HTTPException):
            raw = b""
        finally:
            exc.close()
        detail = _excerpt(raw, pieces)
        error = NotifyRefused if exc.code in _BODY_REFUSED else NotifyError
        raise error(
            f"{where}: answered HTTP {exc.code}" + (f": {detail}" if detail else "")
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as exc:
        raise NotifyError(f"{where}: {_scrub(_why(exc, timeout), pieces)}") from None
    if not 200 <= status < 300:
        detail = _excerpt(answer, pieces)
        raise NotifyError(f"{where}: answered HTTP {status}" + (f": {detail}" if detail else ""))
    return status, _excerpt(answer, pieces)
