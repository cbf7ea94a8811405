"""The ``leakmon scan`` contract other tools depend on: JSON shape and exit codes."""

from __future__ import annotations

import functools
import http.server
import json
import threading
from typing import TYPE_CHECKING

import pytest

from monitor.cli import main
from tests import synthetic

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

FINDING_KEYS = {
    "file",
    "table",
    "column",
    "entity",
    "severity",
    "score",
    "matched",
    "scanned",
    "evidence",
    "reason",
}


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    code = main(["scan", "--format", "json", "--no-isolate", *args])
    return code, json.loads(capsys.readouterr().out)


def test_json_output_follows_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leak = synthetic.headerless_people_csv(tmp_path, rows=200)
    code, doc = _json(capsys, str(leak))
    assert code == 1
    assert set(doc) == {"files", "findings"}
    assert doc["files"][0]["file"] == str(leak)
    assert doc["findings"]
    for finding in doc["findings"]:
        assert set(finding) >= FINDING_KEYS
        assert finding["severity"] in ("low", "medium", "high", "critical")
        assert 0 <= finding["score"] <= 1


def test_exit_zero_for_clean_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, str(synthetic.clean_aggregate_csv(tmp_path)))
    assert code == 0
    assert doc["findings"] == []


def test_fail_on_sets_the_threshold(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = synthetic.redacted_dob_csv(tmp_path)  # a name column (high) and a redacted header (low)
    assert _json(capsys, "--fail-on", "critical", str(path))[0] == 0
    assert _json(capsys, "--fail-on", "high", str(path))[0] == 1


def test_unreadable_file_exits_two_and_others_are_still_scanned(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 this is not a real workbook")
    clean = synthetic.clean_aggregate_csv(tmp_path)
    code, doc = _json(capsys, str(broken), str(clean))
    assert code == 2
    errors = {f["file"]: f["error"] for f in doc["files"]}
    assert "broken.xlsx" in errors[str(broken)]
    assert errors[str(clean)] is None


def test_missing_file_is_a_read_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, str(tmp_path / "nope.csv"))
    assert code == 2
    assert doc["files"][0]["error"] == "no such file"


def test_usage_error_exits_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--format", "xml", "x.csv"]) == 2


def test_directories_are_scanned_recursively(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    synthetic.clean_aggregate_csv(tmp_path / "a")
    synthetic.headerless_people_csv(tmp_path / "a" / "b", rows=100)
    code, doc = _json(capsys, str(tmp_path))
    assert code == 1
    assert len(doc["files"]) == 2


def test_text_report_groups_by_file_and_masks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = synthetic.headerless_people_csv(tmp_path, rows=100)
    assert main(["scan", "--no-isolate", str(path)]) == 1
    out = capsys.readouterr().out
    assert "CRITICAL" in out
    assert "\033[" not in out  # no colour when stdout is not a terminal
    first_row = path.read_text().splitlines()[0].split(",")
    assert not any(cell in out for cell in first_row if len(cell) > 3)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[str]:
    """Serve tmp_path over HTTP on 127.0.0.1 only."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_scans_a_url(tmp_path: Path, portal: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = synthetic.headerless_people_csv(tmp_path, rows=100)
    url = f"{portal}/{path.name}"
    code, doc = _json(capsys, url)
    assert code == 1
    assert doc["findings"][0]["file"] == url


def test_unreachable_url_is_a_read_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, doc = _json(capsys, "http://127.0.0.1:9/missing.csv")
    assert code == 2
    assert "FetchError" in doc["files"][0]["error"]


def test_isolated_worker_reports_the_same_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = synthetic.headerless_people_csv(tmp_path, rows=100)
    assert main(["scan", "--format", "json", "--isolate", str(path)]) == 1
    isolated = json.loads(capsys.readouterr().out)["findings"]
    assert main(["scan", "--format", "json", "--no-isolate", str(path)]) == 1
    inline = json.loads(capsys.readouterr().out)["findings"]
    strip = lambda fs: [(f["column"], f["entity"], f["severity"]) for f in fs]  # noqa: E731
    assert strip(isolated) == strip(inline)


def test_worker_over_its_memory_limit_is_reported_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "leakmon.yaml"
    config.write_text("scan:\n  limits:\n    worker_memory_mb: 200\n")
    path = synthetic.headerless_people_csv(tmp_path, rows=100)
    code = main(["scan", "--format", "json", "--isolate", "--config", str(config), str(path)])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2
    assert "memory" in doc["files"][0]["error"] or "died" in doc["files"][0]["error"]


def test_bad_config_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "leakmon.yaml"
    config.write_text("scan:\n  limits:\n    max_rowz: 5\n")
    assert main(["scan", "--config", str(config), str(tmp_path)]) == 2
    assert "limits.max_rowz" in capsys.readouterr().err


def test_demo_shows_a_clean_file_and_a_critical_leak(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--offline"]) == 0
    out = capsys.readouterr().out
    assert "ccw_permits_export.csv" in out
    assert "CRITICAL" in out
    assert "no personal data found" in out


def test_lists_readers(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "readers"]) == 0
    out = capsys.readouterr().out
    for kind in ("csv", "spreadsheet", "json", "ndjson", "zip", "pdf", "html"):
        assert kind in out
