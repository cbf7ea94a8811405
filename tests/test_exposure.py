"""What a Tableau view's offer of its data is worth as a finding, before any row is read."""

from __future__ import annotations

import pytest

from monitor.exposure import exposure_findings
from monitor.models import Severity, ViewExposure

URL = "https://tableau.example.gov/views/CCW/Applicants"


def _exposure(offers: tuple[str, ...], forbidden: tuple[str, ...] = ()) -> ViewExposure:
    flags = (("allow_summary", True), ("allow_view_underlying", "full_data" in offers))
    return ViewExposure("t", URL, "CCW/Applicants", offers, flags, forbidden)


@pytest.mark.parametrize(
    ("offers", "forbidden", "known", "first_sight", "expected"),
    [
        # summary data only: nothing to flag (it is scanned like any file)
        (("summary_data",), (), {}, False, {}),
        (("summary_data", "crosstab"), (), {}, False, {}),
        # full data offered since leakmon first saw the view: recorded, low
        (("summary_data", "full_data"), (), {}, True, {"full_data": Severity.LOW}),
        # a watched view newly offers full data or the workbook: medium, drift-like
        (
            ("full_data", "workbook"),
            (),
            {},
            False,
            {"full_data": Severity.MEDIUM, "workbook": Severity.MEDIUM},
        ),
        # an open finding keeps its severity while the offer lasts
        (("full_data",), (), {"full_data": Severity.MEDIUM}, False, {"full_data": Severity.MEDIUM}),
        (("full_data",), (), {"full_data": Severity.LOW}, False, {"full_data": Severity.LOW}),
        # forbidden by the target's configuration: high, whatever came before
        (
            ("full_data",),
            ("full_data",),
            {"full_data": Severity.LOW},
            False,
            {"full_data": Severity.HIGH},
        ),
        (("full_data",), ("full_data",), {}, True, {"full_data": Severity.HIGH}),
        (("crosstab",), ("crosstab",), {}, True, {"crosstab": Severity.HIGH}),
        # a severity a policy raised does not fall back while the offer lasts
        (("workbook",), (), {"workbook": Severity.HIGH}, False, {"workbook": Severity.HIGH}),
    ],
)
def test_severity_follows_first_sight_change_and_policy(
    offers: tuple[str, ...],
    forbidden: tuple[str, ...],
    known: dict[str, Severity],
    first_sight: bool,
    expected: dict[str, Severity],
) -> None:
    findings = exposure_findings(_exposure(offers, forbidden), known, first_sight)
    assert {f.column: f.severity for f in findings} == expected
    for finding in findings:
        assert finding.entity == "DATA_EXPOSURE"
        assert finding.file == URL
        assert "CCW/Applicants" in finding.reason
        assert "allow_view_underlying=" in finding.reason  # the session's flags are recorded


def test_reason_names_the_mechanism_and_the_permission_that_allows_it() -> None:
    (finding,) = exposure_findings(_exposure(("full_data",), ("full_data",)), {}, True)
    assert "Download > Data > Full data" in finding.reason
    assert "View Underlying Data (allow_view_underlying)" in finding.reason
    assert "forbids" in finding.reason


def test_forbidden_must_name_offered_mechanisms() -> None:
    with pytest.raises(ValueError, match="forbidden"):
        ViewExposure("t", URL, "CCW/Applicants", ("summary_data",), (), ("full_data",))


def test_unknown_mechanism_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown mechanism"):
        ViewExposure("t", URL, "CCW/Applicants", ("everything",))
