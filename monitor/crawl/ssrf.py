"""Refuse requests a watched portal could aim at our own network: private addresses, other hosts.

A portal is someone else's server. Its links, redirects and catalogue entries
are data it controls, so without a guard a hostile or compromised portal could
make the daemon fetch ``http://169.254.169.254/`` (a cloud's metadata service,
with credentials), an admin page on ``10.0.0.5``, or ``file:///etc/passwd``,
and then scan and report what came back. Two checks stop that:

- ``permitted(url, permission)``, a plain function, checks a URL before any
  request: http(s) only, a host on the target's domains, and an address or name
  that is public. ``AddressGuard`` (a downloader middleware) applies it to every
  request of a crawl: pages, robots.txt, file downloads, retries and each hop
  of a redirect, whatever ``dont_filter`` says.
- Host names: ``AddressGuard`` looks up each name the target does not trust,
  once per crawl, and refuses it when an address is not public; and
  ``PublicResolver``, which it installs on the reactor, drops non-public
  addresses when the connection resolves the name again, so a name that
  re-binds between the two lookups to a private address gets nowhere. (Odd
  spellings of an IP address, ``2130706433`` or ``127.1``, are read as the
  address they spell.) Scrapy 2.19 connects through ``reactor.nameResolver``;
  its ``DNS_RESOLVER`` setting is installed only by ``CrawlerProcess``, which
  the daemon does not use.

A target's own hosts are trusted even when they are not public: its start URL
hosts, and its configured ``allowed_domains`` (subdomains included), and so are
the hosts the operator lists in ``crawl.trusted_hosts``. That is how a portal on
an intranet, or the stand-in portals of the tests on 127.0.0.1, are watched.
Nothing else is.

Other code that sends requests for a target applies the same rules with
``permission_of(target, allowed_domains(target))`` and ``permitted(url, permission)``;
a crawler built from ``scrapy_settings`` has ``AddressGuard`` already.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import SplitResult, urlsplit

from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import defer
from twisted.internet.interfaces import IHostnameResolver, IResolutionReceiver
from zope.interface import classImplements  # type: ignore[import-untyped]  # no stubs

from monitor.addresses import is_public_address
from monitor.addresses import literal_address as _literal
from monitor.crawl.outcomes import FETCH_META, REFUSED
from monitor.crawl.poll import state_of

if TYPE_CHECKING:
    from collections.abc import Iterable

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings

    from monitor.config import TargetConfig
    from monitor.metrics import Metrics

__all__ = [
    "PERMISSION_SETTING",
    "AddressGuard",
    "Permission",
    "PublicResolver",
    "is_public_address",
    "permission_of",
    "permitted",
    "refusal_reason",
]

logger = logging.getLogger(__name__)

#: The Scrapy setting that carries a crawl's ``Permission`` (``Permission.as_setting``).
PERMISSION_SETTING = "LEAKMON_PERMISSION"

#: Refusal reasons, the ``reason`` label of ``leakmon_refused_requests_total``.
SCHEME, OFFSITE, ADDRESS, NAME, RESOLVED = "scheme", "offsite", "address", "name", "resolved"
PORT = "port"
#: Ports any allowed host may be reached on; others only where a start URL uses them.
_WEB_PORTS = (80, 443)

#: Names that only mean something inside a network: never a public portal.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet")
#: Refusals logged per crawl and per ``_WINDOW``; the rest are only counted (a page
#: can link thousands). A poll's crawl is shorter; a cluster download crawler lives on.
_MAX_LOGGED = 20
#: Seconds a lookup's verdict, and the log allowance, last (DNS answers change).
_WINDOW = 600.0


@dataclasses.dataclass(frozen=True)
class Permission:
    """Where one target's crawl may send requests.

    Attributes:
        target: the target's name (for log lines and the metric).
        domains: hosts the crawl may visit, subdomains included; empty means any host.
        trusted_hosts: hosts that may have non-public addresses (the start URL hosts).
        trusted_domains: domains that may have non-public addresses, subdomains
            included (the target's configured ``allowed_domains``).
        origins: ``host:port`` of the start URLs. A start URL's host is reached on
            ports 80 and 443 and the ports its start URLs use, no other: the
            portal's host also runs its database, its cache, maybe leakmon's own
            /metrics.
    """

    target: str
    domains: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    trusted_domains: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()

    def trusts(self, host: str) -> bool:
        """Say whether ``host`` is one the operator configured, so it may be private."""
        host = _norm(host)
        return host in self.trusted_hosts or _on(host, self.trusted_domains)

    def as_setting(self) -> dict[str, Any]:
        """Return the permission as a Scrapy setting value (Any: JSON-like values)."""
        return {
            "target": self.target,
            "domains": list(self.domains),
            "trusted_hosts": list(self.trusted_hosts),
            "trusted_domains": list(self.trusted_domains),
            "origins": list(self.origins),
        }

    @classmethod
    def from_setting(cls, value: dict[str, Any]) -> Permission:
        """Build a permission from ``as_setting``'s value (Any: JSON-like values)."""
        return cls(
            target=str(value["target"]),
            domains=tuple(_norm(d) for d in value.get("domains") or ()),
            trusted_hosts=tuple(_norm(h) for h in value.get("trusted_hosts") or ()),
            trusted_domains=tuple(_norm(d) for d in value.get("trusted_domains") or ()),
            origins=tuple(str(o).lower() for o in value.get("origins") or ()),
        )


def permission_of(
    target: TargetConfig, domains: Iterable[str], trusted: Iterable[str] = ()
) -> Permission:
    """Return a target's permission.

    Args:
        target: the configured target.
        domains: its crawl's domains (``settings.allowed_domains(target)``).
        trusted: more domains that may be private (``crawl.trusted_hosts``).
    """
    hosts = [_norm(urlsplit(u).hostname or "") for u in target.start_urls]
    configured = [*(target.allowed_domains or ()), *trusted]
    return Permission(
        target=target.name,
        domains=tuple(_norm(d) for d in domains),
        trusted_hosts=tuple(dict.fromkeys(h for h in hosts if h)),
        trusted_domains=tuple(dict.fromkeys(_norm(d) for d in configured)),
        origins=tuple(dict.fromkeys(o for u in target.start_urls if (o := _origin(u)))),
    )


def permitted(url: str, permission: Permission, extra_domains: Iterable[str] = ()) -> str | None:
    """Return why a request for ``url`` must not be sent, or ``None`` when it may be.

    The reason is one of ``scheme`` (not http or https), ``offsite`` (the host is
    not on ``permission.domains`` nor on ``extra_domains``, which a spider may
    widen at run time), ``address`` (an IP address that is not public: private,
    loopback, link-local such as 169.254.169.254, unspecified, reserved,
    multicast) or ``name`` (a name that only exists inside a network:
    ``localhost``, ``metadata.google.internal``, a name without a dot). A
    trusted host (``Permission.trusts``) may be private. A public-looking name
    is checked again, on its address, by ``PublicResolver`` when it is resolved.
    """
    try:
        parts = urlsplit(url)
        host = _norm(parts.hostname or "")
        _ = parts.port  # raises for a port out of range or not a number
    except ValueError:  # an unparseable netloc, such as an unclosed "[" of an IPv6 host
        return SCHEME
    if parts.scheme.lower() not in ("http", "https") or not host:
        return SCHEME
    extra = tuple(_norm(d) for d in extra_domains)
    if permission.domains and not (_on(host, permission.domains) or (extra and _on(host, extra))):
        return OFFSITE
    if not permission.trusts(host):
        address = _literal(host)
        if address is not None and not is_public_address(address):
            return ADDRESS
        if address is None and (
            "." not in host or host == "localhost" or host.endswith(_INTERNAL_SUFFIXES)
        ):
            return NAME
    return None if _port_allowed(parts, host, permission) else PORT


def refusal_reason(exc: BaseException) -> str | None:
    """Return the reason of a refusal raised by this module, or ``None`` for another error."""
    text = str(exc)
    if not (isinstance(exc, IgnoreRequest) and text.startswith(REFUSED)):
        return None
    return text[len(REFUSED) :].split(")", 1)[0].lstrip(" (") or None


def _refuse(reason: str, detail: str) -> IgnoreRequest:
    return IgnoreRequest(f"{REFUSED} ({reason}): {detail}")


_WHY = {
    SCHEME: "not an http(s) URL",
    OFFSITE: "its host is not on the target's allowed domains",
    ADDRESS: "its address is not public (private, loopback, link-local or reserved)",
    NAME: "its host name exists only inside a network",
    PORT: "it is a start URL's host on a port no start URL uses (nor 80 or 443)",
}


class _NameResolver(Protocol):
    def resolveHostName(
        self,
        resolutionReceiver: Any,  # Any: Twisted's IResolutionReceiver (zope interfaces)
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,  # Any: a sequence of Twisted address classes
        transportSemantics: str = "TCP",
    ) -> Any: ...  # Any: an IHostResolution


class _Collect:
    """Gather every address a resolution yields (for ``PublicResolver.lookup``)."""

    def __init__(self) -> None:
        self.addresses: list[str] = []
        self.done: defer.Deferred[list[str]] = defer.Deferred()

    def resolutionBegan(self, resolution: Any) -> None:  # Any: an IHostResolution
        """Nothing to do until the addresses come."""

    def addressResolved(self, address: Any) -> None:  # Any: a Twisted IPv4/IPv6 address
        self.addresses.append(str(address.host))

    def resolutionComplete(self) -> None:
        if not self.done.called:  # not given up on (AddressGuard's lookup timeout)
            self.done.callback(self.addresses)


class _PublicOnly:
    """Pass on the public addresses of a resolution and drop the others."""

    def __init__(self, receiver: Any, name: str) -> None:  # Any: an IResolutionReceiver
        self._receiver = receiver
        self._name = name

    def resolutionBegan(self, resolution: Any) -> None:  # Any: an IHostResolution
        self._receiver.resolutionBegan(resolution)

    def addressResolved(self, address: Any) -> None:  # Any: a Twisted IPv4/IPv6 address
        if is_public_address(str(address.host)):
            self._receiver.addressResolved(address)
        else:
            logger.warning(
                "refused to connect to %s at %s: not a public address (it resolved to a"
                " public one when the request was checked: DNS rebinding?)",
                self._name,
                address.host,
            )

    def resolutionComplete(self) -> None:
        self._receiver.resolutionComplete()


class PublicResolver:
    """Resolve host names for connections to public addresses only, except trusted hosts.

    It wraps the reactor's name resolver, so the address checked is the address the
    connection then uses: a name that answered ``AddressGuard``'s lookup with a
    public address and answers the connection's with a private one (DNS
    rebinding) gets no address, and the download fails as a DNS error. The reactor
    has one resolver for every crawl, so it trusts the hosts of every target whose
    crawl has started; each crawl's ``AddressGuard`` keeps it on its own domains.
    """

    def __init__(self, resolver: _NameResolver) -> None:
        self._resolver = resolver
        self._hosts: set[str] = set()
        self._domains: set[str] = set()

    def trust(self, permission: Permission) -> None:
        """Let a target's trusted hosts resolve to any address."""
        self._hosts.update(permission.trusted_hosts)
        self._domains.update(permission.trusted_domains)

    def trusts(self, name: str) -> bool:
        """Say whether some target's configuration trusts ``name`` with a private address."""
        host = _norm(name)
        return host in self._hosts or _on(host, tuple(self._domains))

    def lookup(self, name: str) -> defer.Deferred[list[str]]:
        """Return every address ``name`` resolves to, unfiltered (for ``AddressGuard``)."""
        collect = _Collect()
        self._resolver.resolveHostName(collect, name)
        return collect.done

    def resolveHostName(  # Twisted's interface names it so
        self,
        resolutionReceiver: Any,  # Any: Twisted's IResolutionReceiver (zope interfaces)
        hostName: str,
        portNumber: int = 0,
        addressTypes: Any = None,  # Any: a sequence of Twisted address classes
        transportSemantics: str = "TCP",
    ) -> Any:  # Any: an IHostResolution
        """Resolve ``hostName``, passing on only its public addresses unless it is trusted."""
        receiver = (
            resolutionReceiver
            if self.trusts(hostName)
            else _PublicOnly(resolutionReceiver, _norm(hostName))
        )
        return self._resolver.resolveHostName(
            receiver, hostName, portNumber, addressTypes, transportSemantics
        )


classImplements(_Collect, IResolutionReceiver)
classImplements(_PublicOnly, IResolutionReceiver)
classImplements(PublicResolver, IHostnameResolver)


def install_resolver(reactor: Any) -> PublicResolver:
    """Wrap the reactor's name resolver in a ``PublicResolver`` once (Any: the reactor)."""
    current = reactor.nameResolver
    if isinstance(current, PublicResolver):
        return current
    guarded = PublicResolver(current)
    reactor.installNameResolver(guarded)
    return guarded


class AddressGuard:
    """Refuse every request of a crawl that ``permitted`` refuses, and count and log refusals.

    It sits before Scrapy's offsite and robots.txt middlewares, so a refused
    request costs nothing: no robots.txt is fetched for a private host, no budget
    is spent, nothing is retried. It checks what Scrapy's offsite filter lets
    through: requests marked ``dont_filter`` (catalogue API calls, retries and
    their redirects) and the downloads of files. Each redirect hop is a new
    request, so it is checked too. A host name the target does not trust is
    looked up once per crawl (``PublicResolver.lookup``); ``PublicResolver`` checks
    the address again when the connection is made.

    A refusal is an ``IgnoreRequest``: a refused page is skipped like an offsite
    one, a refused start URL makes the poll incomplete (``PollGuard``), a refused
    file is counted as ``refused`` in the poll summary (``FetchPipeline``).
    Operators see a WARNING naming the target and URL (the first ones of each
    poll) and ``leakmon_refused_requests_total{target,reason}``.

    Args:
        permission: where the crawl may go.
        metrics: where refusals are counted; ``None`` outside a poll (detection probes).
        spider_domains: returns the spider's current ``allowed_domains`` (a spider
            may widen them, as ``tableau`` does for the Tableau hosts a page embeds).
        resolver: looks host names up; ``None`` checks URLs only (no lookups).
        lookup_timeout: seconds a lookup may take; past it the request goes on and
            ``PublicResolver`` alone checks its address.
    """

    def __init__(
        self,
        permission: Permission,
        metrics: Metrics | None = None,
        spider_domains: Any = None,  # Any: a callable returning an iterable of domains
        resolver: PublicResolver | None = None,
        lookup_timeout: float = 30.0,
    ) -> None:
        self.permission = permission
        self.metrics = metrics
        self._spider_domains = spider_domains
        self._resolver = resolver
        self._lookup_timeout = lookup_timeout
        # host -> (a non-public address or None, when it was looked up)
        self._addresses: dict[str, tuple[str | None, float]] = {}
        self.refused = 0  # refusals in the current log window
        self._window = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AddressGuard:
        """Build the guard from the crawl's settings and install ``PublicResolver``.

        Raises:
            NotConfigured: the crawl's settings carry no permission (not built by
                ``scrapy_settings``).
        """
        permission = _permission(crawler.settings)
        try:
            metrics: Metrics | None = state_of(crawler).metrics
        except NotConfigured:
            metrics = None  # a detection probe: guarded, but not part of a poll
        from twisted.internet import reactor  # lazy import: the running reactor

        resolver = install_resolver(reactor)
        resolver.trust(permission)

        def spider_domains() -> Iterable[str]:
            return getattr(crawler.spider, "allowed_domains", None) or ()

        timeout = min(crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30.0), 60.0)
        return cls(permission, metrics, spider_domains, resolver, timeout)

    async def process_request(self, request: Request) -> None:
        """Raise ``IgnoreRequest`` for a request ``permitted`` refuses, or whose host is private.

        A host name the target does not trust is looked up once per crawl: when one
        of its addresses is not public, its requests are refused before any
        connection (``resolved``). ``PublicResolver`` checks again when connecting.
        """
        extra = self._spider_domains() if self._spider_domains is not None else ()
        reason = permitted(request.url, self.permission, extra)
        if reason is not None:
            raise _refuse(reason, _WHY[reason])
        host = _norm(urlsplit(request.url).hostname or "")
        if self._resolver is None or self.permission.trusts(host) or _literal(host) is not None:
            return
        known = self._addresses.get(host)
        if known is None or time.monotonic() - known[1] > _WINDOW:
            known = (await self._private_address(self._resolver, host), time.monotonic())
            self._addresses[host] = known
        private = known[0]
        if private is not None:
            raise _refuse(RESOLVED, f"{host} resolves to {private}, which is not a public address")

    async def _private_address(self, resolver: PublicResolver, host: str) -> str | None:
        from twisted.internet import reactor  # lazy import: the running reactor

        d = resolver.lookup(host).addTimeout(self._lookup_timeout, reactor)
        try:
            addresses = await maybe_deferred_to_future(d)
        except (defer.TimeoutError, defer.CancelledError):
            return None  # the connection resolves it again, and PublicResolver checks that
        return next((a for a in addresses if not is_public_address(a)), None)

    def process_exception(self, request: Request, exception: Exception) -> None:
        """Count and log a refusal this guard made."""
        reason = refusal_reason(exception)
        if reason is None:
            return
        target = self.permission.target
        if self.metrics is not None:
            self.metrics.refused_requests.labels(target, reason).inc()
        if time.monotonic() - self._window > _WINDOW:
            self.refused, self._window = 0, time.monotonic()
        self.refused += 1
        if request.meta.get(FETCH_META):
            return  # FetchPipeline logs the files it could not fetch, with the reason
        if self.refused <= _MAX_LOGGED:
            logger.warning("target=%s refused %s: %s", target, request.url, exception)
        elif self.refused == _MAX_LOGGED + 1:
            logger.warning(
                "target=%s: more than %d requests refused in %.0f minutes; the rest are only"
                " counted in leakmon_refused_requests_total",
                target,
                _MAX_LOGGED,
                _WINDOW / 60,
            )


def _permission(settings: BaseSettings) -> Permission:
    value = settings.getdict(PERMISSION_SETTING)
    if not value:
        raise NotConfigured(f"no {PERMISSION_SETTING} setting: not a leakmon crawl")
    return Permission.from_setting(value)


def _origin(url: str) -> str | None:
    """Return ``host:port`` of a URL (the scheme's port when none is given), or ``None``."""
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    host = _norm(parts.hostname or "")
    return f"{host}:{port}" if host and port else None


def _port_allowed(parts: SplitResult, host: str, permission: Permission) -> bool:
    """Say whether a request's port is one its host may be reached on (per origin)."""
    port = parts.port  # valid: permitted() already read it
    if port is None or port in _WEB_PORTS or f"{host}:{port}" in permission.origins:
        return True
    # The hosts of the start URLs are the portal's own: on them only the start URLs'
    # ports. Other hosts on the allowed domains are origins the operator allowed by
    # name (a file server, an intranet Tableau Server on :8000).
    return not any(o.rpartition(":")[0] == host for o in permission.origins)


def _norm(host: str) -> str:
    return host.strip().lower().rstrip(".")


def _on(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)
