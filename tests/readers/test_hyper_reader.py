"""Tableau Hyper extracts read with the real tableauhyperapi: alone, in a .twbx, in the worker.

These tests need the ``tableau`` extra; without it they skip locally and fail when CI is
set (scripts/check installs it). The package layout and workbook XML follow
tableau/document-api-python (see tests/readers/tableau_files.py and
tests/fixtures/SOURCES.md); the rows are synthetic (Faker, tests/synthetic.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from monitor.cli import main
from monitor.config import ScanConfig
from monitor.errors import CorruptFile, FileTooLarge, ReaderUnavailable
from monitor.isolation import WORKER_KILLED, IsolatedScanner
from monitor.models import ReadLimits
from monitor.readers import detect_kind, read_tables
from monitor.scan import scan_path
from tests.readers.tableau_files import hyperapi, twb_xml, write_hyper, zip_bytes
from tests.synthetic import CCW_COLUMNS, ccw_rows

# Internal extract names, as Tableau writes them, and the captions the workbook shows.
INTERNAL = [f"c{i}_{name}" for i, name in enumerate(CCW_COLUMNS)]
CAPTIONS = [
    (internal, name.replace("_", " ").title())
    for internal, name in zip(INTERNAL, CCW_COLUMNS, strict=True)
]


@pytest.fixture(scope="module")
def people_hyper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    hyperapi()
    path = tmp_path_factory.mktemp("hyper") / "people.hyper"
    return write_hyper(path, INTERNAL, ccw_rows(1_000, seed=7))


def _twbx(path: Path, hyper: Path) -> Path:
    path.write_bytes(
        zip_bytes(
            {
                "Applicants.twb": twb_xml("CCW Applicants", CAPTIONS),
                "Data/Extracts/people.hyper": hyper.read_bytes(),
            }
        )
    )
    return path


def test_reads_every_table_of_every_schema_in_chunks(tmp_path: Path) -> None:
    hapi = hyperapi()
    path = write_hyper(tmp_path / "two.hyper", ["name", "email"], ccw_rows(0), table="Empty")
    with (
        hapi.HyperProcess(
            telemetry=hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
            parameters={"log_config": "", "log_dir": str(tmp_path)},
        ) as hyper,
        hapi.Connection(hyper.endpoint, str(path)) as conn,
    ):
        conn.catalog.create_schema("Second")
        table = hapi.TableDefinition(
            hapi.TableName("Second", "People"),
            [hapi.TableDefinition.Column("n", hapi.SqlType.int())],
        )
        conn.catalog.create_table(table)
        conn.execute_command('INSERT INTO "Second"."People" SELECT generate_series(1, 25)')
    assert detect_kind(path) == "hyper"
    chunks = [
        (t.name, t.frame.columns, t.frame.height, t.row_offset)
        for t in read_tables(path, ReadLimits(chunk_rows=10))
    ]
    assert sorted(chunks, key=lambda c: (c[0], c[3])) == [  # tables in catalog order
        ("Extract.Empty", ["name", "email"], 0, 0),
        ("Second.People", ["n"], 10, 0),
        ("Second.People", ["n"], 10, 10),
        ("Second.People", ["n"], 5, 20),
    ]


def test_values_come_back_as_text(tmp_path: Path) -> None:
    path = write_hyper(
        tmp_path / "x.hyper", ["name", "dob"], [["Ada Example", "1980-05-17"], [None, None]]
    )
    (table,) = read_tables(path, ReadLimits())
    assert table.frame.rows() == [("Ada Example", "1980-05-17"), (None, None)]


def test_twbx_with_a_hyper_extract_of_people_is_found(tmp_path: Path, people_hyper: Path) -> None:
    twbx = _twbx(tmp_path / "Applicants.twbx", people_hyper)
    report = scan_path(twbx)
    assert report.error is None
    assert (report.kind, report.rows) == ("twbx", 1_000)
    extract = "Data/Extracts/people.hyper::Extract.Extract"
    assert report.table_names == ("Applicants.twb::CCW Applicants", extract)
    # The extract's columns carry the workbook's captions, not the internal names.
    (schema,) = [s for s in report.schemas if s.table == extract]
    assert [c.name for c in schema.columns] == [caption for _, caption in CAPTIONS]
    entities = {f.entity for f in report.findings if f.table == extract}
    assert {"EMAIL_ADDRESS", "PHONE_NUMBER", "PERSON"} <= entities, entities
    assert report.worst is not None
    assert str(report.worst) in ("high", "critical")


def test_twbx_served_as_twb_is_read_in_full(tmp_path: Path, people_hyper: Path) -> None:
    # Tableau Public's /workbooks/<name>.twb answers with the packaged workbook.
    served = _twbx(tmp_path / "Applicants.twb", people_hyper)
    report = scan_path(served, source="https://public.example/workbooks/Applicants.twb")
    assert (report.kind, report.rows, report.error) == ("twbx", 1_000, None)
    assert report.findings


def test_corrupt_hyper_is_a_clear_error(tmp_path: Path, people_hyper: Path) -> None:
    cut = tmp_path / "cut.hyper"
    cut.write_bytes(people_hyper.read_bytes()[: people_hyper.stat().st_size // 3])
    garbage = tmp_path / "garbage.hyper"
    garbage.write_bytes(b"Hyper\x08\x00\x00" + os.urandom(4096))
    for path in (cut, garbage):
        with pytest.raises(CorruptFile, match=rf"^{path.name}: Hyper cannot read the extract \("):
            list(read_tables(path, ReadLimits()))


def test_corrupt_hyper_in_a_twbx_fails_the_package_after_its_schema(tmp_path: Path) -> None:
    twbx = tmp_path / "bad.twbx"
    twbx.write_bytes(
        zip_bytes(
            {
                "Applicants.twb": twb_xml("CCW Applicants", CAPTIONS),
                "Data/Extracts/people.hyper": b"Hyper\x08\x00\x00" + bytes(8192),
            }
        )
    )
    report = scan_path(twbx)
    assert report.error is not None
    assert report.error.startswith("CorruptFile: bad.twbx: member 'Data/Extracts/people.hyper'")
    assert report.table_names == ("Applicants.twb::CCW Applicants",)


def test_row_and_table_limits_hold(tmp_path: Path, people_hyper: Path) -> None:
    with pytest.raises(FileTooLarge, match="more than 300 rows"):
        list(read_tables(people_hyper, ReadLimits(max_rows=300, chunk_rows=100)))
    with pytest.raises(FileTooLarge, match="extract has 1 tables, over the limit of 0"):
        list(read_tables(people_hyper, ReadLimits(max_sheets=0)))


def test_hyperd_runs_without_telemetry_and_leaves_no_logs(
    tmp_path: Path, people_hyper: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hapi = hyperapi()
    seen: list[dict[str, object]] = []
    real = hapi.HyperProcess

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(hapi, "HyperProcess", spy)
    monkeypatch.chdir(tmp_path)
    before = set(os.listdir(tmp_path))
    assert len(list(read_tables(people_hyper, ReadLimits()))) == 1
    (kwargs,) = seen
    assert kwargs["telemetry"] == hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU
    parameters = kwargs["parameters"]
    assert isinstance(parameters, dict)
    assert parameters["log_config"] == ""
    assert not os.path.exists(parameters["log_dir"])  # the temporary log directory is gone
    assert set(os.listdir(tmp_path)) == before  # nothing written to the working directory


def test_without_the_extra_the_scan_is_not_clean(
    tmp_path: Path,
    people_hyper: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    twbx = _twbx(tmp_path / "Applicants.twbx", people_hyper)
    monkeypatch.setitem(sys.modules, "tableauhyperapi", None)  # the import fails
    with pytest.raises(ReaderUnavailable, match=r"pip install 'leakmon\[tableau\]'"):
        list(read_tables(people_hyper, ReadLimits()))
    code = main(["scan", "--no-isolate", "--no-free-text", str(twbx), str(people_hyper)])
    out = capsys.readouterr().out
    assert code == 2, out
    assert "no personal data found" not in out
    assert out.count("error: ReaderUnavailable:") == 2
    assert "the tableau extra is not installed" in out


def _our_hyperds() -> set[int]:
    """Return the hyperd processes under this test process (others may run tests too)."""
    found = set()
    for proc in psutil.Process().children(recursive=True):
        try:
            cmdline = proc.cmdline()  # hyperd renames itself hyperdMain once started
            if cmdline and Path(cmdline[0]).name == "hyperd":
                found.add(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return found


def _alive(pids: set[int]) -> set[int]:
    return {
        pid for pid in pids if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
    }


@pytest.mark.timeout(180)
def test_hyperd_dies_with_a_worker_killed_by_its_time_limit(tmp_path: Path) -> None:
    hapi = hyperapi()
    big = write_hyper(tmp_path / "big.hyper", INTERNAL, ccw_rows(2_000, seed=3))
    with (
        hapi.HyperProcess(
            telemetry=hapi.Telemetry.DO_NOT_SEND_USAGE_DATA_TO_TABLEAU,
            parameters={"log_config": "", "log_dir": str(tmp_path)},
        ) as hyper,
        hapi.Connection(hyper.endpoint, str(big)) as conn,
    ):
        for _ in range(12):  # 2,000 rows doubled to 8,192,000: about 6 s of scanning, far over 2 s
            conn.execute_command(
                'INSERT INTO "Extract"."Extract" SELECT * FROM "Extract"."Extract"'
            )
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(_our_hyperds())
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    # The address-space cap raised for this test: reading 8 M rows can reach the default
    # 3 GiB within the 2 s (CI once saw "Cannot allocate memory" at 1.2 s), and this test
    # is about the time limit's kill, not the memory cap's.
    config = ScanConfig.model_validate(
        {
            "free_text_analysis": False,
            "limits": {"worker_timeout_s": 2.0, "worker_memory_mb": 16384},
        }
    )
    try:
        report = IsolatedScanner(config).scan(big)
    finally:
        done.set()
        watcher.join()
    assert report.error is not None
    assert report.error.startswith(f"{WORKER_KILLED}: scan worker exceeded the time limit"), (
        report.error
    )
    assert seen, "the worker never started hyperd: the test did not exercise the kill"
    deadline = time.monotonic() + 10
    while _alive(seen) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(seen), "hyperd outlived its killed scan worker"


def test_hyperd_without_room_in_the_worker_is_not_checked_not_corrupt(people_hyper: Path) -> None:
    # hyperd inherits the worker's address-space limit; 600 MiB is too little for it to start.
    code = (
        "import importlib, resource, sys\n"
        "from pathlib import Path\n"
        "from monitor.isolation import PRELOAD\n"
        "for name in PRELOAD:\n"  # as a scan worker has them, from its forkserver
        "    importlib.import_module(name)\n"
        "from monitor.models import ReadLimits\n"
        "from monitor.readers import read_tables\n"
        "from monitor.errors import ReaderUnavailable\n"
        "resource.setrlimit(resource.RLIMIT_AS, (600 * 1024**2, 600 * 1024**2))\n"
        "try:\n"
        "    tables = list(read_tables(Path(sys.argv[1]), ReadLimits()))\n"
        "    print('TABLES', len(tables))\n"
        "except ReaderUnavailable as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(people_hyper)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Never tables read as if whole. Mostly hyperd cannot start and says so; on some
    # hosts it starts and the next allocation fails instead (CI once: exit 1): that too
    # leaves the file unchecked, as an error, never as a result.
    assert "TABLES" not in done.stdout, done.stdout
    refused = "Hyper extract not checked: hyperd did not start" in done.stdout
    out_of_memory = done.returncode != 0 and (
        "Cannot allocate memory" in done.stderr or "MemoryError" in done.stderr
    )
    assert refused or out_of_memory, (done.returncode, done.stdout, done.stderr[-2000:])


def test_export_stops_one_row_past_max_rows(tmp_path: Path, people_hyper: Path) -> None:
    tables = []
    with pytest.raises(FileTooLarge, match="more than 999 rows"):
        tables.extend(read_tables(people_hyper, ReadLimits(max_rows=999)))
    assert sum(t.frame.height for t in tables) == 999
