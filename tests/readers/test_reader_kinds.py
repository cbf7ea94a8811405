"""The daemon knows the reader kinds by name, without loading the parsers its workers use."""

from __future__ import annotations

import subprocess
import sys

from monitor.models import READER_KINDS
from monitor.readers import REGISTRY


def test_the_named_reader_kinds_are_exactly_the_built_in_readers() -> None:
    # No plugin is loaded in the tests: the registry holds the built-ins only.
    assert sorted(READER_KINDS) == sorted(REGISTRY)


def test_the_daemon_process_does_not_import_the_parsers() -> None:
    code = (
        "import sys, monitor.daemon, monitor.cli\n"
        "print(','.join(m for m in ('polars', 'pdfminer', 'numpy', 'presidio_analyzer')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    # Each is tens of MB in the daemon's RSS; only scan workers need them.
    assert done.stdout.strip() == ""
