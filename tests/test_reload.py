"""Configuration reload: a valid file replaces allow rules and notifiers, anything else waits."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from monitor.config import load_settings
from monitor.errors import ConfigError
from monitor.models import Severity
from monitor.reload import load_reloaded

if TYPE_CHECKING:
    from pathlib import Path


def _write(path: Path, **extra: object) -> Path:
    config = {
        "storage": "sqlite:////tmp/never-opened.db",
        "targets": [{"name": "t", "start_urls": ["https://data.example.gov/"]}],
        "notify": [{"name": "hook", "kind": "webhook", "url": "https://hooks.example/x"}],
        **extra,
    }
    path.write_text(json.dumps(config))
    return path


def test_allow_rules_and_thresholds_are_live(tmp_path: Path) -> None:
    running = load_settings(_write(tmp_path / "a.yaml"))
    rule = {"resource": "*/roster.csv", "reason": "published by law"}
    notify = [
        {"name": "hook", "kind": "webhook", "url": "https://hooks.example/x", "min_severity": "low"}
    ]

    new = load_reloaded(_write(tmp_path / "b.yaml", allow=[rule], notify=notify), running)

    assert [r.reason for r in new.settings.allow] == ["published by law"]
    assert new.router.recipients(Severity.LOW) == ["hook"]
    assert list(new.notifiers) == ["hook"]
    assert new.pending == ()
    assert new.settings.targets == running.targets


def test_other_changes_wait_for_a_restart(tmp_path: Path) -> None:
    running = load_settings(_write(tmp_path / "a.yaml"))
    targets = [{"name": "u", "start_urls": ["https://other.example.gov/"]}]

    new = load_reloaded(_write(tmp_path / "b.yaml", targets=targets, scan_workers=4), running)

    assert set(new.pending) == {"targets", "scan_workers"}
    assert new.settings.targets == running.targets  # kept until the restart
    assert new.settings.scan_workers == running.scan_workers


@pytest.mark.parametrize(
    "text",
    [
        "targets: [oops\n",  # not YAML
        json.dumps({"notify": [{"name": "x", "kind": "nope", "url": "https://h/x"}]}),
        json.dumps({"allow": [{"reason": "no field named"}]}),
        json.dumps({"notify": [{"name": "x", "kind": "webhook", "url": "${NOT_SET_ANYWHERE}"}]}),
    ],
)
def test_a_bad_file_is_refused(tmp_path: Path, text: str) -> None:
    running = load_settings(_write(tmp_path / "a.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)

    with pytest.raises(ConfigError):
        load_reloaded(bad, running)
