"""Paths of the deploy/ files and the external tools their tests need (skip locally, fail in CI)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

#: How to get each external tool; scripts/check installs them for CI.
INSTALL_HINTS = {
    "systemd-analyze": "apt-get install systemd",
    "promtool": (
        "extract it from Debian's prometheus package into .venv/bin (see scripts/check); "
        "`apt-get install prometheus` also works but its postinst may start a Prometheus server"
    ),
    "prometheus": (
        "extract it from Debian's prometheus package into .venv/bin (see scripts/check); "
        "the tests run it on 127.0.0.1 with a temporary config"
    ),
    "kubectl": "install kubectl (only `kubectl kustomize` is used, offline)",
    "sqlite3": "apt-get install sqlite3",
    "redis-server": "apt-get install redis-server (only its binary is run, on 127.0.0.1)",
    "redis-cli": "apt-get install redis-tools",
}


def require_tool(name: str) -> str:
    """Return the path of an external tool, looking in PATH and then in .venv/bin.

    A missing tool skips the test with how to install it, except when ``CI`` is set: CI
    must run every deploy check, so there it fails instead.
    """
    found = shutil.which(name) or shutil.which(name, path=str(REPO / ".venv" / "bin"))
    if found:
        return found
    message = f"{name} not found in PATH or .venv/bin: {INSTALL_HINTS.get(name, 'install it')}"
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so deploy checks may not be skipped)")
    pytest.skip(message)


def read_env_file(path: Path) -> dict[str, str]:
    """Return the ``NAME=value`` lines of a systemd EnvironmentFile (comments skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path}: not NAME=value: {line!r}"
        values[name.strip()] = value.strip()
    return values


def is_placeholder(value: str) -> bool:
    """Say whether a shipped secret value is obviously not a real one."""
    return "REPLACE-ME" in value or ".invalid" in value
