"""Value objects check themselves when built."""

from __future__ import annotations

import pytest

from monitor.models import Finding, Severity


def _finding(**kw: object) -> Finding:
    base: dict[str, object] = dict(
        file="f.csv",
        table=None,
        column="c",
        entity="PERSON",
        severity=Severity.HIGH,
        score=0.9,
        matched=1,
        scanned=2,
    )
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("field", "value"), [("score", 1.5), ("score", -0.1), ("matched", -1), ("entity", "SHOE_SIZE")]
)
def test_finding_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field if field != "entity" else "entity"):
        _finding(**{field: value})


def test_finding_repr_shows_only_masked_evidence() -> None:
    f = _finding(evidence=("J*** S****",))
    assert "J*** S****" in repr(f)


def test_severity_orders_and_parses() -> None:
    assert Severity.parse("High") is Severity.HIGH
    assert max(Severity.LOW, Severity.CRITICAL) is Severity.CRITICAL
    with pytest.raises(ValueError, match="unknown severity"):
        Severity.parse("urgent")
