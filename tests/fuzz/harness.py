"""Run one generated file through the real scan path and classify what happened.

An outcome is fine when ``scan_path`` returns a ``FileReport`` (with or without
an error naming a ``ReaderError`` subclass). Anything else is a crash: an
exception that would reach ``scan_file``'s last-resort catch (a reader bug),
or a scan that runs past the deadline (a hang).
"""

from __future__ import annotations

import contextlib
import faulthandler
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.config import LimitsConfig, ScanConfig
from monitor.errors import ReaderError
from monitor.scan import scan_path

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from types import FrameType

    from tests.fuzz.strategies import Case

#: Limits small enough that a mutated file cannot make one input take minutes.
CONFIG = ScanConfig(
    limits=LimitsConfig(
        max_rows=200_000, max_columns=2_000, max_uncompressed_mb=64, max_pdf_pages=20
    ),
    free_text_analysis=False,
)
#: Written next to the scan folder before each input, so a native hang leaves it behind.
CURRENT_CASE = "current-case"
READER_ERRORS = {cls.__name__ for cls in (ReaderError, *ReaderError.__subclasses__())}


class Hang(Exception):
    """One input ran past the deadline."""


@dataclass
class Tally:
    """How many inputs ran and how they ended, per reader kind."""

    inputs: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def line(self, name: str) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.errors.items()))
        return (
            f"fuzz {name}: {self.inputs} inputs in {self.seconds:.1f} s, 0 crashes "
            f"(reader errors: {errors or 'none'})"
        )


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise ``Hang`` in the main thread once ``seconds`` have passed.

    A loop inside native code (calamine, polars, lxml) never returns to Python, so
    the alarm cannot interrupt it: at twice the deadline faulthandler dumps every
    thread's stack and ends the process, and the run fails loudly. The input is
    then in ``/tmp/leakmon-fuzz-*/current-case``, written before each scan.
    """

    def _alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"no outcome within {seconds} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    # sys.__stderr__: pytest's capsys replaces sys.stderr with an object that has no fd.
    faulthandler.dump_traceback_later(seconds * 2, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_case(case: Case, folder: Path, tally: Tally, seconds: float = 20.0) -> None:
    """Scan one case; raise ``AssertionError`` (a crash) unless it ends in a report."""
    path = folder / (case.name or "file")
    path.write_bytes(case.data)
    (folder / CURRENT_CASE).write_text(repr(case))
    started = time.monotonic()
    try:
        with deadline(seconds):
            report = scan_path(path, CONFIG, media_type=case.media_type)
    finally:
        tally.inputs += 1
        tally.seconds += time.monotonic() - started
        path.unlink(missing_ok=True)
    if report.error is not None:
        name = report.error.split(":")[0]
        assert name in READER_ERRORS, f"report error is not a ReaderError: {report.error}"
        tally.errors[name] = tally.errors.get(name, 0) + 1
