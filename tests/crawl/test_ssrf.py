"""The SSRF guard: no request to a private, loopback, link-local or metadata address, or offsite."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from monitor.config import CrawlConfig, TargetConfig
from monitor.crawl.outcomes import FETCH_META
from monitor.crawl.settings import allowed_domains, scrapy_settings
from monitor.crawl.ssrf import (
    PERMISSION_SETTING,
    AddressGuard,
    Permission,
    PublicResolver,
    is_public_address,
    permission_of,
    permitted,
    refusal_reason,
)
from monitor.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Callable

    from twisted.internet import defer

pytestmark = pytest.mark.timeout(180)

PUBLIC = Permission("t", domains=("city.gov",), trusted_hosts=("data.city.gov",))
ANYWHERE = Permission("t")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::6810:84e5", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("172.32.0.1", True),  # just past 172.16/12
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("127.255.0.9", False),
        ("169.254.169.254", False),  # AWS, GCP, Azure metadata
        ("169.254.0.1", False),
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),  # noqa: S104  (an address to refuse, not one to bind)
        ("255.255.255.255", False),
        ("224.0.0.1", False),  # multicast
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),  # AWS metadata over IPv6
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:93.184.215.14", True),
        ("64:ff9b::a00:1", False),  # NAT64 of 10.0.0.1
        ("2002:a00:1::", False),  # 6to4 of 10.0.0.1
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    assert is_public_address(address) is public


@pytest.mark.parametrize(
    ("url", "permission", "reason"),
    [
        ("https://data.city.gov/a.csv", PUBLIC, None),
        ("https://files.city.gov/a.csv", PUBLIC, None),  # a subdomain of an allowed domain
        ("https://evil.example/a.csv", PUBLIC, "offsite"),
        ("https://city.gov.evil.example/", PUBLIC, "offsite"),
        ("http://169.254.169.254/latest/meta-data/", PUBLIC, "offsite"),
        ("file:///etc/passwd", PUBLIC, "scheme"),
        ("ftp://data.city.gov/a.csv", PUBLIC, "scheme"),
        ("gopher://data.city.gov/", ANYWHERE, "scheme"),
        ("http://[::1", ANYWHERE, "scheme"),  # unparseable
        ("http://169.254.169.254/latest/meta-data/", ANYWHERE, "address"),
        ("http://[fd00:ec2::254]/latest/meta-data/", ANYWHERE, "address"),
        ("http://10.0.0.1/", ANYWHERE, "address"),
        ("http://192.168.0.1:8080/", ANYWHERE, "address"),
        ("http://127.0.0.1:9200/", ANYWHERE, "address"),
        ("http://[::1]:6379/", ANYWHERE, "address"),
        ("http://[fe80::1%25eth0]/", ANYWHERE, "address"),
        ("http://0.0.0.0:5432/", ANYWHERE, "address"),
        ("http://2130706433/", ANYWHERE, "address"),  # 127.0.0.1 as one number
        ("http://0x7f000001/", ANYWHERE, "address"),
        ("http://127.1/", ANYWHERE, "address"),
        ("http://0177.0.0.1/", ANYWHERE, "address"),  # octal
        ("http://localhost:8080/", ANYWHERE, "name"),
        ("http://LOCALHOST./", ANYWHERE, "name"),
        ("http://api.localhost/", ANYWHERE, "name"),
        ("http://metadata.google.internal/computeMetadata/v1/", ANYWHERE, "name"),
        ("http://metadata/computeMetadata/v1/", ANYWHERE, "name"),  # one label: a search domain
        ("http://printer.local/", ANYWHERE, "name"),
        ("http://93.184.215.14/data.csv", ANYWHERE, None),
        ("https://deadbeef.cafe/", ANYWHERE, None),  # hex-looking, but a name
        ("https://opendata.example.org/", ANYWHERE, None),
    ],
)
def test_permitted(url: str, permission: Permission, reason: str | None) -> None:
    assert permitted(url, permission) == reason


def test_a_targets_own_hosts_may_be_private() -> None:
    target = TargetConfig(
        name="intra",
        start_urls=["http://127.0.0.1:8080/", "http://portal.corp.example/"],
        allowed_domains=["127.0.0.1", "corp.example", "files.example.net"],
    )
    permission = permission_of(target, allowed_domains(target))
    assert permission.trusted_hosts == ("127.0.0.1", "portal.corp.example")
    assert permitted("http://127.0.0.1:8080/data/a.csv", permission) is None
    assert permitted("http://cdn.files.example.net/a.csv", permission) is None
    assert permission.trusts("cdn.files.example.net")  # a configured domain, subdomains too
    assert permitted("http://127.0.0.2:8080/", permission) == "offsite"
    assert permitted("http://10.0.0.1/", permission) == "offsite"


def test_derived_domains_trust_only_the_start_hosts() -> None:
    target = TargetConfig(name="city", start_urls=["http://data.city.gov/"])
    permission = permission_of(target, allowed_domains(target))
    assert permission.domains == ("city.gov",)
    assert permission.trusts("data.city.gov")
    assert not permission.trusts("intranet.city.gov")  # on the domains, but must be public


def test_extra_spider_domains_widen_only_the_domains() -> None:
    # tableau adds the Tableau host a page embeds; it must still be public.
    assert permitted("https://public.tableau.com/x", PUBLIC, ["public.tableau.com"]) is None
    assert permitted("http://10.0.0.9/x", PUBLIC, ["10.0.0.9"]) == "address"


def test_scrapy_settings_register_the_guard_before_offsite_and_robots() -> None:
    target = TargetConfig(name="t", start_urls=["https://data.city.gov/"])
    s = scrapy_settings(CrawlConfig(), target)
    order = s["DOWNLOADER_MIDDLEWARES"]["monitor.crawl.ssrf.AddressGuard"]
    assert s["DOWNLOADER_MIDDLEWARES"]["monitor.crawl.guard.PollGuard"] < order < 50
    assert Permission.from_setting(s[PERMISSION_SETTING]) == permission_of(target, ["city.gov"])
    assert {k for k, v in s["DOWNLOAD_HANDLERS"].items() if v is None} == {
        "file",
        "ftp",
        "s3",
        "data",
    }


# -- the middleware --------------------------------------------------------------------------


class _Resolver:
    """A name resolver from a table, recording what it was asked (no network)."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def resolveHostName(self, receiver: Any, name: str, *args: Any) -> None:
        self.asked.append(name)
        receiver.resolutionBegan(None)
        for address in self.table.get(name, []):
            receiver.addressResolved(_Address(address))
        receiver.resolutionComplete()


class _Address:
    def __init__(self, host: str) -> None:
        self.host = host


def _guard(
    permission: Permission, table: dict[str, list[str]] | None = None
) -> tuple[AddressGuard, Metrics, _Resolver]:
    metrics, inner = Metrics(), _Resolver(table or {})
    return AddressGuard(permission, metrics, resolver=PublicResolver(inner)), metrics, inner


def _run(guard: AddressGuard, request: Request) -> str | None:
    """Pass a request through the guard as Scrapy would; return the refusal reason."""

    async def go() -> None:
        await guard.process_request(request)

    try:
        asyncio.run(go())
    except IgnoreRequest as exc:
        guard.process_exception(request, exc)
        return refusal_reason(exc)
    return None


def _count(metrics: Metrics, reason: str) -> float:
    value = metrics.registry.get_sample_value(
        "leakmon_refused_requests_total", {"target": "t", "reason": reason}
    )
    return value or 0.0


def test_guard_refuses_metadata_before_any_lookup_or_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard, metrics, resolver = _guard(ANYWHERE)
    url = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    assert _run(guard, Request(url, dont_filter=True, meta={"allow_offsite": True})) == "address"
    assert resolver.asked == []  # nothing was even looked up
    assert _count(metrics, "address") == 1
    assert f"target=t refused {url}" in caplog.text


def test_guard_refuses_a_public_name_that_resolves_to_a_private_address() -> None:
    guard, metrics, resolver = _guard(
        ANYWHERE,
        {"cdn.example.org": ["93.184.215.14", "10.0.0.7"], "ok.example.org": ["93.184.215.14"]},
    )
    assert _run(guard, Request("https://cdn.example.org/a.csv")) == "resolved"
    assert _run(guard, Request("https://cdn.example.org/b.csv")) == "resolved"
    assert _run(guard, Request("https://ok.example.org/a.csv")) is None
    assert resolver.asked == ["cdn.example.org", "ok.example.org"]  # once per host and crawl
    assert _count(metrics, "resolved") == 2


def test_guard_does_not_look_up_trusted_hosts() -> None:
    guard, _, resolver = _guard(PUBLIC, {"data.city.gov": ["10.0.0.1"]})
    assert _run(guard, Request("https://data.city.gov/a.csv")) is None
    assert resolver.asked == []


def test_guard_ignores_dont_filter_for_offsite_hosts() -> None:
    guard, metrics, _ = _guard(PUBLIC)
    request = Request("https://evil.example/x", dont_filter=True, meta={"allow_offsite": True})
    assert _run(guard, request) == "offsite"
    assert _count(metrics, "offsite") == 1


def test_guard_logs_file_refusals_to_the_fetch_step_and_caps_its_lines(
    caplog: pytest.LogCaptureFixture,
) -> None:
    guard, metrics, _ = _guard(ANYWHERE)
    assert _run(guard, Request("http://10.0.0.1/a.csv", meta={FETCH_META: True})) == "address"
    assert "10.0.0.1" not in caplog.text  # FetchPipeline logs it, with its outcome
    for i in range(30):
        _run(guard, Request(f"http://10.0.0.2/{i}"))
    assert _count(metrics, "address") == 31
    assert caplog.text.count("refused http://10.0.0.2/") == 19
    assert "more than 20 requests refused in 10 minutes" in caplog.text


def test_public_resolver_drops_private_answers_at_connect_time() -> None:
    # A name that passed AddressGuard's lookup and re-binds to a private address
    # before the connection gets no address for it.
    inner = _Resolver({"rebind.example.org": ["93.184.215.14", "169.254.169.254"]})
    resolver = PublicResolver(inner)
    got: list[str] = []

    class Receiver:
        def resolutionBegan(self, resolution: object) -> None: ...
        def addressResolved(self, address: _Address) -> None:
            got.append(address.host)

        def resolutionComplete(self) -> None:
            got.append("done")

    resolver.resolveHostName(Receiver(), "rebind.example.org")
    assert got == ["93.184.215.14", "done"]
    resolver.trust(Permission("t", trusted_domains=("example.org",)))
    got.clear()
    resolver.resolveHostName(Receiver(), "rebind.example.org")
    assert got == ["93.184.215.14", "169.254.169.254", "done"]


def test_public_resolver_lookup_returns_every_address() -> None:
    resolver = PublicResolver(_Resolver({"a.example.org": ["93.184.215.14", "10.0.0.1"]}))
    d: defer.Deferred[list[str]] = resolver.lookup("a.example.org")
    assert d.result == ["93.184.215.14", "10.0.0.1"]


# -- a real crawl ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(scenario: Callable[..., dict[str, Any]]) -> dict[str, Any]:
    return scenario("tests.crawl.hostile_scenarios:ssrf")


def test_nothing_reaches_an_untrusted_address(run: dict[str, Any]) -> None:
    assert run["trap_hits"] == []  # the server on 127.0.0.2 was never asked anything
    assert run["attempts"] == ["127.0.0.1"]  # no connection was tried anywhere else


def test_bait_links_and_redirects_are_refused_with_their_reason(run: dict[str, Any]) -> None:
    assert run["refused"]["open"] == {"address": 7.0, "name": 1.0, "resolved": 3.0}
    assert run["refused"]["guarded"]["resolved"] == 3.0  # on example.org, resolves to 127.0.0.2


def test_refused_pages_do_not_spoil_the_poll_and_good_files_arrive(run: dict[str, Any]) -> None:
    p = run["p"]
    for name in ("open", "guarded"):
        poll = run["polls"][name]
        assert poll["ok"] is True, name
        assert poll["files"] == [f"http://portal.example.org:{p}/data/ok.csv"]
        assert poll["errors"] == []  # a refused file is not a fetch error: it was not fetched


def test_a_configured_domain_may_be_loopback(run: dict[str, Any]) -> None:
    poll = run["polls"]["intranet"]
    assert poll["ok"] is True
    assert poll["files"] == [f"http://files.example.net:{run['p']}/data/ok.csv"]


def test_a_start_url_redirected_to_a_private_address_makes_the_poll_incomplete(
    run: dict[str, Any],
) -> None:
    assert run["polls"]["start"]["ok"] is False
    assert run["refused"]["start"] == {"address": 1.0}
    assert run["polls"]["offsite-start"]["ok"] is False  # dropped by the offsite filter


def test_the_guard_works_on_the_asyncio_reactor(
    scenario: Callable[..., dict[str, Any]],
) -> None:
    run = scenario("tests.crawl.hostile_scenarios:ssrf", reactor="asyncio")
    assert run["reactor"] == "AsyncioSelectorReactor"
    assert run["trap_hits"] == []
    assert run["attempts"] == ["127.0.0.1"]
    assert run["refused"]["open"] == {"address": 7.0, "name": 1.0, "resolved": 3.0}
    assert run["polls"]["open"]["ok"] is True


def test_crawl_trusted_hosts_may_be_private_but_are_not_crawled() -> None:
    crawl = CrawlConfig(trusted_hosts=["tableau.corp.example", "10.0.0.5"])
    target = TargetConfig(name="t", start_urls=["https://data.city.gov/"])
    permission = Permission.from_setting(scrapy_settings(crawl, target)[PERMISSION_SETTING])
    assert permission.trusts("tableau.corp.example")
    assert permission.trusts("10.0.0.5")
    assert permitted("http://10.0.0.5/views/x.csv", permission) == "offsite"  # not a domain
    assert permitted("http://10.0.0.5/views/x.csv", permission, ["10.0.0.5"]) is None
    assert permitted("http://10.0.0.6/", permission, ["10.0.0.6"]) == "address"


def test_a_lookup_verdict_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    # A cluster download crawler lives for hours: a host's DNS answer may change.
    now = [1000.0]
    monkeypatch.setattr("monitor.crawl.ssrf.time", type("T", (), {"monotonic": lambda: now[0]}))
    guard, _, resolver = _guard(ANYWHERE, {"cdn.example.org": ["10.0.0.7"]})
    assert _run(guard, Request("https://cdn.example.org/a.csv")) == "resolved"
    resolver.table["cdn.example.org"] = ["93.184.215.14"]
    now[0] += 60
    assert _run(guard, Request("https://cdn.example.org/a.csv")) == "resolved"  # still cached
    now[0] += 600
    assert _run(guard, Request("https://cdn.example.org/a.csv")) is None
    assert resolver.asked == ["cdn.example.org", "cdn.example.org"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/data.csv", None),  # the start URL's origin
        ("http://127.0.0.1/data.csv", None),  # port 80
        ("https://127.0.0.1/data.csv", None),  # port 443
        ("http://127.0.0.1:5432/", "port"),  # the portal host's database
        ("http://127.0.0.1:6379/", "port"),  # its cache
        ("http://127.0.0.1:9464/metrics", "port"),  # leakmon's own metrics
        ("http://files.example.net:8443/f.csv", None),  # another allowed host: its own origin
        ("http://127.0.0.1:99999/", "scheme"),  # no port at all
        ("http://127.0.0.1:8o/", "scheme"),
    ],
)
def test_the_start_urls_host_is_reached_on_its_start_ports_only(
    url: str, reason: str | None
) -> None:
    # Issue 16: links, redirects, meta refresh and sitemaps reached every port of the host.
    target = TargetConfig(
        name="t",
        start_urls=["http://127.0.0.1:8080/portal/"],
        allowed_domains=["127.0.0.1", "files.example.net"],
    )
    permission = Permission.from_setting(scrapy_settings(CrawlConfig(), target)[PERMISSION_SETTING])
    assert permitted(url, permission) == reason
