"""Every real portal file in ../shared/corpus scanned against its truth label."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from monitor.models import Severity
from monitor.scan import scan_path
from tests.conftest import CORPUS

if TYPE_CHECKING:
    from pathlib import Path

    from monitor.models import FileReport


def _labelled() -> list[tuple[str, dict[str, Any]]]:
    path = CORPUS / "labels.json"
    if not path.is_file():
        return []
    return sorted(json.loads(path.read_text()).items())


@pytest.fixture(scope="module")
def reports(corpus: Path) -> dict[str, FileReport]:
    return {name: scan_path(corpus / name) for name, _ in _labelled()}


@pytest.mark.parametrize(("name", "label"), _labelled(), ids=[n for n, _ in _labelled()])
def test_real_file_matches_its_label(
    name: str, label: dict[str, Any], reports: dict[str, FileReport]
) -> None:
    report = reports[name]
    assert report.error is None, report.error
    assert report.rows > 0
    if label["expect"] == "clean":
        loud = [f for f in report.findings if f.severity >= Severity.HIGH]
        assert not loud, f"clean file raised: {loud}"
    else:
        assert any(f.severity >= Severity.HIGH for f in report.findings)
    for column, entity in label["pii_columns"].items():
        hits = [f for f in report.findings if f.column == column and f.entity == entity]
        assert hits, f"{column} not reported as {entity}: {report.findings}"
        assert max(f.severity for f in hits) >= Severity.HIGH
    for column in label["clean_columns"]:
        noisy = [
            f
            for f in report.findings
            if (f.column == column or column in f.columns) and f.severity >= Severity.MEDIUM
        ]
        assert not noisy, f"clean column {column!r} carries {noisy}"


def test_findings_on_real_files_hold_no_raw_values(
    corpus: Path, reports: dict[str, FileReport]
) -> None:
    raw = (corpus / "nyc_ccrb_nypd_active_officers.csv").read_text()
    surnames = {line.split(",")[2] for line in raw.splitlines()[1:200] if line.count(",") >= 5}
    report = reports["nyc_ccrb_nypd_active_officers.csv"]
    text = json.dumps([f.to_dict() for f in report.findings])
    leaked = [s for s in surnames if len(s) > 3 and s in text]
    assert not leaked
