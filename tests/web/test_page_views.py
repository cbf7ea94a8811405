"""What the page reads: incidents from the store, or grouped here from a store without them."""

from __future__ import annotations

from monitor.models import Severity
from monitor.store.incidents import incident_key as store_incident_key
from monitor.web.page import FindingsPage
from monitor.web.views import Views, incident_key
from tests.web.conftest import FULL_DATA_URL, HOSTILE_URL, LEAK_URL, TARGET, VIEW_URL


class _FindingsOnly:
    """A store as it was before incidents and coverage: findings, events and resources only."""

    def __init__(self, store) -> None:
        self._store = store

    def findings(self, open_only=False, target=None):
        return self._store.findings(open_only=open_only, target=target)

    def finding_events(self, key):
        return self._store.finding_events(key)

    def resource(self, url):
        return self._store.resource(url)

    def resources(self, target=None, include_gone=False):
        return self._store.resources(target, include_gone=include_gone)


def test_incident_keys_agree_with_the_store():
    for url in (LEAK_URL, HOSTILE_URL, "https://x.example/ü?a=1#b"):
        assert incident_key(TARGET, url) == store_incident_key(TARGET, url)


def test_a_store_without_incidents_is_grouped_by_file_the_same_way(filled_store):
    real = Views(filled_store, [TARGET])
    grouped = Views(_FindingsOnly(filled_store), [TARGET])
    mine = grouped.incidents()
    theirs = real.incidents()
    assert [(i.key, i.url, i.severity) for i in mine] == [
        (i.key, i.url, i.severity) for i in theirs
    ]
    assert {i.url for i in mine} == {LEAK_URL, HOSTILE_URL, VIEW_URL, FULL_DATA_URL}
    for incident in theirs:
        other = next(i for i in mine if i.key == incident.key)
        assert [f.key for f in other.findings] == [f.key for f in incident.findings]
    by_finding = grouped.incident(theirs[0].findings[0].key)
    assert by_finding is not None
    assert by_finding.key == theirs[0].key
    assert by_finding.dataset  # taken from the resource
    assert grouped.history(by_finding)  # the findings' events
    summary = grouped.target(TARGET)
    assert summary is not None
    assert summary.coverage is None  # no coverage kept: the page shows the files listed
    assert summary.files == 4
    assert summary.open_counts[Severity.CRITICAL] >= 2


def test_the_page_works_on_a_store_without_incidents(filled_store):
    page = FindingsPage(_FindingsOnly(filled_store), [TARGET], auth="none")
    for path in ("/findings", "/findings/" + incident_key(TARGET, LEAK_URL), "/targets/" + TARGET):
        answers = {}
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "HTTP_HOST": "127.0.0.1:9465"}
        body = b"".join(page(environ, lambda s, h, a=answers: a.update(status=s)))
        assert answers["status"] == "200 OK", path
        assert b"no coverage recorded" in body or b"incident" in body


def test_an_open_page_answers_loopback_hosts_only(filled_store):
    """auth none: a DNS-rebound name in the operator's browser gets nothing."""
    page = FindingsPage(filled_store, [TARGET], auth="none")
    for host, status in (
        ("127.0.0.1:9465", "200 OK"),
        ("localhost:9465", "200 OK"),
        ("[::1]:9465", "200 OK"),
        ("attacker.example:9465", "403 Forbidden"),
        ("127.0.0.1.attacker.example", "403 Forbidden"),
        ("", "403 Forbidden"),
    ):
        answers = {}
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/findings", "HTTP_HOST": host}
        body = b"".join(page(environ, lambda s, h, a=answers: a.update(status=s)))
        assert answers["status"] == status, host
        if status != "200 OK":
            assert TARGET.encode() not in body
