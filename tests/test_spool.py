"""The daemon's spool folder: private, removed on stop, and a killed daemon's is swept at start."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from typing import TYPE_CHECKING

import pytest

from monitor.spool import Spool

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture(autouse=True)
def _keep_tmpdir(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # claim() repoints TMPDIR and tempfile.tempdir for the whole process: undo it.
    monkeypatch.setenv("TMPDIR", os.environ.get("TMPDIR", tempfile.gettempdir()))
    before = tempfile.tempdir
    yield
    tempfile.tempdir = before


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _left_behind(parent: Path, name: str) -> Path:
    folder = parent / name
    folder.mkdir()
    (folder / "leakmon-abc.csv").write_text("first_name,last_name\nJane,Doe\n")
    return folder


def test_claim_makes_a_private_folder_the_temporary_folder(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    path = spool.claim()
    assert stat.S_IMODE(path.stat().st_mode) == 0o700
    assert os.environ["TMPDIR"] == str(path)
    fd, name = tempfile.mkstemp(prefix="leakmon-")
    os.close(fd)
    assert os.path.dirname(name) == str(path)
    spool.release()
    assert not path.exists()


def test_a_killed_daemons_downloads_are_removed_at_start(tmp_path: Path) -> None:
    dead = _left_behind(tmp_path, f"leakmon-spool-{_dead_pid()}-0badc0de")
    Spool(tmp_path).claim()
    assert not dead.exists()


def test_a_previous_incarnation_with_this_pid_is_removed(tmp_path: Path) -> None:
    # A container restarts its process as pid 1 again: same pid, another token.
    old = _left_behind(tmp_path, f"leakmon-spool-{os.getpid()}-00000000")
    Spool(tmp_path).claim()
    assert not old.exists()


def test_a_running_daemons_folder_is_kept(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        kept = _left_behind(tmp_path, f"leakmon-spool-{live.pid}-12345678")
        Spool(tmp_path).claim()
        assert kept.exists()
    finally:
        live.kill()
        live.wait()


def test_folders_that_are_not_spools_are_left_alone(tmp_path: Path) -> None:
    other = _left_behind(tmp_path, "leakmon-spool-notapid")
    unrelated = _left_behind(tmp_path, "someone-else")
    Spool(tmp_path).claim()
    assert other.exists()
    assert unrelated.exists()


_DEEP_SCAN = """
import sys
from pathlib import Path
from monitor.config import ScanConfig
from monitor.isolation import IsolatedScanner
from monitor.spool import Spool

if __name__ == "__main__":
    deep = Path(sys.argv[1])
    Spool(deep).claim()
    file = deep / "counts.csv"
    file.write_text("county,applications\\nAlameda,12\\n")
    print(IsolatedScanner(ScanConfig()).scan(file).error)
"""


def test_scan_workers_start_under_a_deep_spool_path(tmp_path: Path) -> None:
    # A fresh process: multiprocessing picks its socket folder once per process.
    deep = tmp_path / ("d" * 60) / ("e" * 40)  # the spool then passes 108 bytes
    deep.mkdir(parents=True)
    script = tmp_path / "scan_deep.py"
    script.write_text(_DEEP_SCAN)
    done = subprocess.run(
        [sys.executable, str(script), str(deep)], capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "None", done.stdout + done.stderr
