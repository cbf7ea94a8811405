"""Log lines: JSON with RFC 3339 milliseconds and context fields, throttled repeats, quiet
third parties, and scan workers that log (and fail) in JSON too."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
from typing import TYPE_CHECKING, Any

import pytest

from monitor import logs

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def lines(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Configure JSON logging to a buffer; yield a function returning the lines written."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, sys.excepthook, threading.excepthook
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)

    def read() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line]

    logs.configure_logging(logging.INFO, json_lines=True)
    yield read
    root.handlers[:], root.level, sys.excepthook, threading.excepthook = saved
    logging.captureWarnings(False)
    for name in ("LEAKMON_LOG_FORMAT", "LEAKMON_LOG_LEVEL"):
        os.environ.pop(name, None)  # set by configure_logging, not by monkeypatch


def test_json_lines_carry_rfc3339_milliseconds_and_context_fields(lines: Any) -> None:
    log = logging.getLogger("monitor.test")
    log.info("target=city poll complete in 0.2 s: 5 requests")
    log.warning("could not check https://data.example.gov/x.csv (CorruptFile: damaged)")
    log.info("delivered opened alert target=city key=0123456789abcdef seq=1 via notifier 'ops'")
    log.info("scanned", extra={"target": "city", "resource": "https://d.example/y.csv"})
    poll, check, sent, explicit = lines()
    for line in (poll, check, sent, explicit):
        assert RFC3339_MS.match(line["time"]), line["time"]
        assert line["logger"] == "monitor.test"
    assert poll["target"] == "city"
    assert poll["message"] == "poll complete in 0.2 s: 5 requests"
    assert check["resource"] == "https://data.example.gov/x.csv"
    assert sent["incident"] == "0123456789abcdef"
    assert "target=" not in sent["message"]
    assert "key=" not in sent["message"]
    assert explicit["target"] == "city"
    assert explicit["resource"] == "https://d.example/y.csv"


def test_extras_that_are_objects_are_dropped(lines: Any) -> None:
    logging.getLogger("scrapy.core").warning("x", extra={"crawler": object(), "n": 3})
    (line,) = lines()
    assert "crawler" not in line
    assert line["n"] == 3


def test_scrapy_disabled_notes_and_alembic_steps_are_quiet(lines: Any) -> None:
    logging.getLogger("scrapy.middleware").warning(
        "Disabled %s: %s", "monitor.crawl.probe.HeadersProbe", "switched off"
    )
    logging.getLogger("alembic.runtime.migration").info("Running upgrade 0001 -> 0002")
    logging.getLogger("scrapy.core.engine").error("Spider error processing")
    assert [line["message"] for line in lines()] == ["Spider error processing"]


def test_a_database_librarys_traceback_is_one_warning_line(lines: Any) -> None:
    # What SQLAlchemy logs when PostgreSQL goes away under a streamed query.
    try:
        raise OSError("consuming input failed: server closed the connection\nunexpectedly")
    except OSError:
        logging.getLogger("sqlalchemy.pool.impl.QueuePool").error(
            "Error closing cursor", exc_info=True
        )
    (line,) = lines()
    assert line["message"] == (
        "Error closing cursor: OSError: consuming input failed: server closed the connection"
    )
    assert line["level"] == "WARNING"
    assert "exc_info" not in line
    assert "Traceback" not in json.dumps(line)


def test_a_repeated_error_is_written_once_per_window_with_its_count() -> None:
    now = [0.0]
    throttle = logs._Throttle(window=600, clock=lambda: now[0])

    def record(message: str, level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord("scrapy.core", level, __file__, 1, message, None, None)

    assert throttle.filter(record("Error downloading https://a/x.csv"))
    for _ in range(5):
        now[0] += 60
        assert not throttle.filter(record("Error downloading https://a/x.csv"))
    assert throttle.filter(record("Error downloading https://a/other.csv"))  # another error
    assert throttle.filter(record("same text", logging.INFO))  # info lines are never held
    assert throttle.filter(record("same text", logging.INFO))
    now[0] += 301
    again = record("Error downloading https://a/x.csv")
    assert throttle.filter(again)
    assert again.repeated == 5  # type: ignore[attr-defined]


def test_uncaught_exception_in_a_thread_is_one_json_line(lines: Any) -> None:
    def boom() -> None:
        raise RuntimeError("bug in a thread")

    thread = threading.Thread(target=boom, name="worker-x")
    thread.start()
    thread.join()
    (line,) = lines()
    assert line["level"] == "CRITICAL"
    assert "RuntimeError: bug in a thread" in line["exc_info"]


def _run(code: str, tmp_path: Path) -> list[str]:
    script = tmp_path / "run.py"
    # The forkserver re-imports the main module: the code runs only under the main guard.
    body = textwrap.indent(textwrap.dedent(code), "    ")
    script.write_text(f"if __name__ == '__main__':\n{body}")
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_scan_worker_lines_are_json(tmp_path: Path) -> None:
    broken = tmp_path / "roster.xlsx"
    broken.write_bytes(b"PK\x03\x04 not a workbook")
    err = _run(
        f"""
        import logging
        from monitor.config import ScanConfig
        from monitor.isolation import IsolatedScanner
        from monitor.logs import configure_logging
        configure_logging(logging.INFO, json_lines=True)
        report = IsolatedScanner(ScanConfig()).scan(
            __import__("pathlib").Path({str(broken)!r}), source="https://d.example/roster.xlsx"
        )
        assert report.error, report
        """,
        tmp_path,
    )
    assert err, "the worker logged nothing about the broken file"
    parsed = [json.loads(line) for line in err]  # every line, the worker's included
    assert any(line.get("resource") == "https://d.example/roster.xlsx" for line in parsed)


def test_a_failing_worker_writes_its_traceback_as_json(tmp_path: Path) -> None:
    err = _run(
        f"""
        import logging, multiprocessing as mp, pathlib
        from monitor.isolation.worker import _serve
        from monitor.logs import configure_logging
        configure_logging(logging.INFO, json_lines=True)
        parent, child = mp.Pipe(duplex=True)
        proc = mp.get_context("forkserver").Process(target=_serve, args=(child, "not a ScanConfig"))
        proc.start()
        parent.send((pathlib.Path({str(tmp_path)!r}), "https://d/x", None))
        proc.join(60)
        assert proc.exitcode == 1, proc.exitcode
        """,
        tmp_path,
    )
    parsed = [json.loads(line) for line in err]
    (failure,) = [line for line in parsed if "scan worker failed" in line["message"]]
    assert "Traceback" in failure["exc_info"]
    assert failure["resource"] == "https://d/x"
