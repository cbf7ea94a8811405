"""Operator commands against a real store: findings, baseline accept, migrate."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from monitor.alerts import AlertRouter
from monitor.cli import main
from monitor.config import load_settings
from monitor.models import ColumnSchema, Finding, Severity, TableSchema, utcnow
from monitor.store import Store

if TYPE_CHECKING:
    from pathlib import Path

URL = "https://data.example.gov/files/export.csv"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "leakmon.yaml"
    path.write_text(
        json.dumps(
            {
                "storage": f"sqlite:///{tmp_path / 'state.db'}",
                "targets": [{"name": "portal", "start_urls": ["https://data.example.gov/"]}],
            }
        )
    )
    assert main(["migrate", "--config", str(path)]) == 0
    return path


def _store(config: Path) -> Store:
    return Store(load_settings(config).storage.get_secret_value())


def test_findings_lists_open_findings_as_json(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(config)
    finding = Finding(
        file=URL,
        table=None,
        column="name",
        entity="PERSON",
        severity=Severity.HIGH,
        score=0.9,
        matched=3,
        scanned=3,
        evidence=("J*** S****",),
        reason="names",
    )
    store.apply_findings("portal", URL, [finding], utcnow(), AlertRouter(load_settings(config)))
    capsys.readouterr()
    assert main(["findings", "--config", str(config), "--open", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["column"], r["entity"], r["status"], r["severity"]) for r in rows] == [
        ("name", "PERSON", "open", "high")
    ]
    assert rows[0]["evidence"] == ["J*** S****"]


def test_findings_text_says_when_there_are_none(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["findings", "--config", str(config), "--open"]) == 0
    assert "no findings open" in capsys.readouterr().out


def test_baseline_accept_promotes_the_observed_schema_and_audits(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = _store(config)
    store.touch_resource("portal", URL, seen_at=utcnow())
    old = TableSchema(None, (ColumnSchema("county", "text"),), row_level=False)
    new = TableSchema(
        None,
        (ColumnSchema("county", "text"), ColumnSchema("name", "text", "PERSON")),
        row_level=True,
    )
    store.set_baseline(URL, old, at=utcnow(), actor="leakmon", reason="first version seen")
    store.observed_schema(URL, new, utcnow())
    code = main(
        [
            "baseline",
            "accept",
            "--config",
            str(config),
            "--target",
            "portal",
            "--reason",
            "names approved by counsel",
            "--actor",
            "dana",
        ]
    )
    assert code == 0
    assert "accepted 1" in capsys.readouterr().out
    assert store.baseline(URL, None) == new
    assert any(
        e.actor == "dana" and "names approved by counsel" in json.dumps(e.detail)
        for e in store.audit_log()
    )


def test_baseline_accept_needs_a_resource_or_target(config: Path) -> None:
    assert main(["baseline", "accept", "--config", str(config), "--reason", "x y z"]) == 2


def test_findings_on_an_unmigrated_database_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "leakmon.yaml"
    path.write_text(json.dumps({"storage": f"sqlite:///{tmp_path / 'empty.db'}"}))
    assert main(["findings", "--config", str(path)]) == 2
    assert "leakmon migrate" in capsys.readouterr().err
