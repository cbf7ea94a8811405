"""The daemon's private folder for downloaded bodies and scan scratch files.

A downloaded file is other people's data at rest. The daemon deletes each one once
it is scanned, but a daemon killed with SIGKILL (or a scan worker killed by its
limits) cannot. So every daemon spools into a folder of its own,
``$TMPDIR/leakmon-spool-<pid>-<token>`` (mode 0700), points ``TMPDIR`` at it so that
its scan workers' scratch files land there too, removes it when it stops, and at
start removes the folders of daemons that are no longer running. A folder whose
pid is this process's but whose token is not is a previous incarnation's (a
container restarted as pid 1 again): it is removed as well.
"""

from __future__ import annotations

import logging
import multiprocessing.util
import os
import secrets
import shutil
import tempfile
from pathlib import Path

__all__ = ["Spool"]

logger = logging.getLogger(__name__)

_PREFIX = "leakmon-spool-"


class Spool:
    """This process's spool folder (create it with ``claim``, remove it with ``release``).

    Args:
        parent: where spool folders live; the system temporary folder by default.
    """

    def __init__(self, parent: Path | None = None) -> None:
        self.parent = parent or Path(tempfile.gettempdir())
        self.path = self.parent / f"{_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"

    def claim(self) -> Path:
        """Remove dead daemons' folders, create this one, and make it the temporary folder."""
        removed = self.sweep()
        if removed:
            logger.warning(
                "removed %d spool folder(s) left by leakmon processes that were killed"
                " (downloaded files they had not scanned)",
                removed,
            )
        self.path.mkdir(mode=0o700)
        # multiprocessing keeps the forkserver's socket in a folder it makes once; make it
        # now, where it was, or a deep spool path passes the 108-byte AF_UNIX path limit.
        multiprocessing.util.get_temp_dir()
        os.environ["TMPDIR"] = str(self.path)  # inherited by the scan forkserver
        tempfile.tempdir = str(self.path)
        return self.path

    def release(self) -> None:
        """Remove this process's folder and everything left in it."""
        shutil.rmtree(self.path, ignore_errors=True)

    def sweep(self) -> int:
        """Remove the spool folders of processes that no longer run; return how many."""
        removed = 0
        for folder in self.parent.glob(f"{_PREFIX}*"):
            if folder == self.path or not folder.is_dir() or folder.is_symlink():
                continue
            if _alive(_pid_of(folder.name)):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        return removed


def _pid_of(name: str) -> int | None:
    head = name[len(_PREFIX) :].split("-", 1)[0]
    return int(head) if head.isdigit() else None


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True  # not ours to judge: leave it
    if pid == os.getpid():
        return False  # our pid, another token: a previous incarnation of this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True
