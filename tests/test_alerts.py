"""The alert router: allow-list rules with expiry, notifier thresholds, links."""

from __future__ import annotations

import datetime as dt

import pytest

from monitor.alerts import AlertRouter
from monitor.config import Settings
from monitor.models import Finding, Severity

URL = "https://portal.example.gov/files/officer_roster_2024.csv"


def _settings(**extra: object) -> Settings:
    return Settings.model_validate(
        {
            "notify": [
                {"name": "pager", "kind": "pagerduty", "min_severity": "critical"},
                {"name": "chat", "kind": "slack", "min_severity": "medium"},
            ],
            "allow": [
                {
                    "target": "ca",
                    "resource": "*/officer_roster*.csv",
                    "column": "name",
                    "entity": "PERSON",
                    "reason": "published by law",
                    "expires": "2027-01-01",
                }
            ],
            **extra,
        }
    )


def _finding(column: str = "name", entity: str = "PERSON") -> Finding:
    return Finding(
        file=URL,
        table=None,
        column=column,
        entity=entity,
        severity=Severity.HIGH,
        score=0.9,
        matched=10,
        scanned=10,
    )


def _clock(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day).replace(tzinfo=dt.UTC)


def test_matching_rule_allows_with_its_reason() -> None:
    router = AlertRouter(_settings(), clock=lambda: _clock("2026-06-01"))
    reason = router.allowed("ca", URL, _finding())
    assert reason is not None
    assert "published by law" in reason


@pytest.mark.parametrize(
    ("target", "url", "finding"),
    [
        ("other", URL, _finding()),
        ("ca", "https://portal.example.gov/files/applicants.csv", _finding()),
        ("ca", URL, _finding(column="dob", entity="DATE_OF_BIRTH")),
        ("ca", URL, _finding(entity="US_SSN")),
    ],
)
def test_rules_match_only_what_they_name(target: str, url: str, finding: Finding) -> None:
    router = AlertRouter(_settings(), clock=lambda: _clock("2026-06-01"))
    assert router.allowed(target, url, finding) is None


def test_expired_rule_no_longer_allows() -> None:
    router = AlertRouter(_settings(), clock=lambda: _clock("2027-01-02"))
    assert router.allowed("ca", URL, _finding()) is None


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.LOW, []),
        (Severity.MEDIUM, ["chat"]),
        (Severity.HIGH, ["chat"]),
        (Severity.CRITICAL, ["pager", "chat"]),
    ],
)
def test_recipients_follow_min_severity(severity: Severity, expected: list[str]) -> None:
    assert sorted(AlertRouter(_settings()).recipients(severity)) == sorted(expected)


def test_switched_off_notifiers_get_nothing() -> None:
    router = AlertRouter(_settings(), active={"chat"})
    assert router.recipients(Severity.CRITICAL) == ["chat"]


def test_links_need_a_base() -> None:
    assert AlertRouter(_settings()).link("abc") is None
    router = AlertRouter(_settings(link_base="https://leakmon.example.gov/"))
    assert router.link("abc") == "https://leakmon.example.gov/findings/abc"


@pytest.mark.parametrize(
    ("pattern", "url", "matches"),
    [
        ("*/officer_roster*.csv", "https://p.example.gov/data/officer_roster_2021.csv", True),
        # Issue 16: a glob matched across "/" and "?".
        ("*/officer_roster*.csv", "https://p.example.gov/officer_roster/people/x.csv", False),
        ("*/roster*.csv", "https://p.example.gov/roster.php?f=../people.csv", False),
        ("https://p.example.gov/*.csv", "https://p.example.gov/a.csv", True),
        ("https://p.example.gov/*.csv", "https://p.example.gov/private/a.csv", False),
        ("https://p.example.gov/**.csv", "https://p.example.gov/private/a.csv", True),
        ("https://p.example.gov/?.csv", "https://p.example.gov/a.csv", True),
        ("https://p.example.gov/?.csv", "https://p.example.gov//.csv", False),
    ],
)
def test_resource_globs_stop_at_slash_and_question_mark(
    pattern: str, url: str, matches: bool
) -> None:
    from monitor.alerts import _glob

    assert bool(_glob(pattern).fullmatch(url)) is matches
