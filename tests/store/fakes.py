"""A scriptable router and a finding builder for the store tests (synthetic data only)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from monitor.models import Finding, Severity

T0 = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
URL = "https://data.example.gov/files/roster.csv"
TARGET = "example-portal"


def minutes(n: float) -> dt.datetime:
    """Return T0 plus ``n`` minutes."""
    return T0 + dt.timedelta(minutes=n)


def finding(**overrides: Any) -> Finding:
    """Return a masked SSN column finding, with field overrides."""
    fields: dict[str, Any] = {
        "file": URL,
        "table": None,
        "column": "ssn",
        "entity": "US_SSN",
        "severity": Severity.HIGH,
        "score": 0.9,
        "matched": 10,
        "scanned": 10,
        "evidence": ("***-**-9999",),
        "reason": "Column 'ssn' holds US Social Security numbers.",
    }
    fields.update(overrides)
    return Finding(**fields)


@dataclass
class FakeRouter:
    """Allow-lists by entity, routes by severity floor, and can fail on demand."""

    allow: dict[str, str] = field(default_factory=dict)
    floors: dict[str, Severity] = field(default_factory=lambda: {"hook": Severity.LOW})
    explode_after: int | None = None
    routed: list[Severity] = field(default_factory=list)

    def allowed(self, target: str, url: str, finding: Finding) -> str | None:
        return self.allow.get(finding.entity)

    def recipients(self, severity: Severity) -> list[str]:
        if self.explode_after is not None and len(self.routed) >= self.explode_after:
            raise RuntimeError("router failed mid-transaction")
        self.routed.append(severity)
        return [name for name, floor in self.floors.items() if severity >= floor]

    def link(self, key: str) -> str | None:
        # Asked once per announced event, after recipients (if any): a failure here
        # comes after the transaction's every other write, resolutions included.
        if self.explode_after is not None and len(self.routed) >= self.explode_after:
            raise RuntimeError("router failed mid-transaction")
        return f"https://leakmon.example/findings/{key}"
