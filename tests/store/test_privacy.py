"""The store keeps masked evidence only: the raw values never reach the database file."""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor.hashing import ValueHasher
from monitor.masking import mask
from monitor.models import Severity
from monitor.store import Store
from tests.store.fakes import TARGET, URL, FakeRouter, finding, minutes

if TYPE_CHECKING:
    from pathlib import Path

# Synthetic values: the SSA's advertising SSN, a reserved example domain, a made-up name.
RAW = {
    "US_SSN": ("ssn", "219-09-9999"),
    "EMAIL_ADDRESS": ("email", "quentin.testperson@example.org"),
    "PERSON": ("name", "Quentin Testperson"),
}


def _db_bytes(tmp_path: Path) -> bytes:
    # The main file plus any WAL/journal left behind: a value in either is stored.
    return b"".join(p.read_bytes() for p in sorted(tmp_path.glob("state.db*")))


def test_database_file_holds_masked_evidence_but_no_raw_value(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'state.db'}")
    store.migrate()
    hasher = ValueHasher(b"test-key")
    findings = [
        finding(
            column=column,
            entity=entity,
            severity=Severity.CRITICAL,
            evidence=(mask(raw, entity),),
            fingerprint=hasher.digest([raw]),
        )
        for entity, (column, raw) in RAW.items()
    ]
    store.touch_resource(TARGET, URL, seen_at=minutes(0))
    store.apply_findings(TARGET, URL, findings, minutes(0), FakeRouter())
    store.apply_findings(TARGET, URL, [], minutes(1), FakeRouter())
    store.apply_findings(TARGET, URL, findings, minutes(2), FakeRouter())

    stored_while_open = _db_bytes(tmp_path)
    store.close()
    stored = _db_bytes(tmp_path)

    for entity, (_, raw) in RAW.items():
        masked = mask(raw, entity)
        assert masked != raw
        assert masked.encode() in stored  # the grep can see stored evidence...
        for blob in (stored_while_open, stored):
            assert raw.encode() not in blob  # ...and no raw value is there
            assert raw.replace("-", "").encode() not in blob
