"""The real ``leakmon run``'s stderr (the ``daemon`` fixture): what journald or Loki receives.

Every line is one JSON object with an RFC 3339 millisecond timestamp, scan workers'
lines included (the fixture's portal serves a broken workbook, read in a worker); one
start line says version, config, storage (redacted) and targets; a clean start writes
no third-party INFO or WARNING (alembic's migration steps, Scrapy's "Disabled ..." notes).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from monitor import __version__

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _lines(daemon: dict[str, Any]) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 90
    while True:
        text = daemon["log"].read_text(encoding="utf-8")
        # The broken workbook's worker line says it could not be read: wait for it.
        if "roster.xlsx" in text or time.monotonic() > deadline:
            break
        time.sleep(1)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        assert line.startswith("{"), f"line {number} is not JSON: {line[:300]}"
        out.append(json.loads(line))
    return out


def test_every_line_is_json_with_millisecond_timestamps(daemon: dict[str, Any]) -> None:
    lines = _lines(daemon)
    assert any("roster.xlsx" in json.dumps(line) for line in lines)
    for line in lines:
        assert RFC3339_MS.match(line["time"]), line
        assert {"level", "logger", "message"} <= set(line)


def test_one_start_line_with_version_config_storage_and_targets(daemon: dict[str, Any]) -> None:
    starts = [line for line in _lines(daemon) if line["message"].endswith(" starting")]
    assert len(starts) == 1, starts
    (start,) = starts
    assert start["version"] == __version__
    assert start["config"] == str(daemon["config"])
    assert start["storage"].startswith("sqlite:///")
    assert start["targets"] == ["standin", "quiet"]
    assert start["notifiers"] == ["hook"]


def test_no_third_party_noise_on_a_clean_start(daemon: dict[str, Any]) -> None:
    noise = [
        line
        for line in _lines(daemon)
        if not line["logger"].startswith(("monitor", "spiders"))
        and line["level"] in ("INFO", "WARNING")
    ]
    assert noise == []


def test_context_is_in_fields_not_in_the_message(daemon: dict[str, Any]) -> None:
    lines = _lines(daemon)
    polls = [line for line in lines if line["message"].startswith("poll ")]
    assert polls
    assert {line["target"] for line in polls} <= {"standin", "quiet"}
    assert not [line for line in lines if "target=" in line["message"]]
