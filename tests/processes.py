"""Stopping the real daemon processes that tests start."""

from __future__ import annotations

import signal
import subprocess

__all__ = ["stop_process"]


def stop_process(proc: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM a process and wait; SIGKILL it if it is still there after ``grace`` seconds.

    The daemon stops within 15 s of SIGTERM; the grace only matters when a test has
    broken it, and then the kill keeps the run from hanging.
    """
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
