"""deploy/systemd: the unit verifies and is hardened; its config and env example load."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from monitor.config import load_settings
from tests.deploy.tools import DEPLOY, is_placeholder, read_env_file, require_tool

if TYPE_CHECKING:
    import pytest

SYSTEMD = DEPLOY / "systemd"
UNIT = SYSTEMD / "leakmon.service"
INSTALLED_BINARY = "/opt/leakmon/bin/leakmon"
#: `systemd-analyze security` rates 0 (locked down) to 10 (exposed); the unit scores 1.2.
#: A change that weakens the sandbox past this fails here.
MAX_EXPOSURE = 2.0


def _directives(text: str) -> dict[str, list[str]]:
    """Return each ``Key=value`` of a unit file; keys may repeat (SystemCallFilter=)."""
    found: dict[str, list[str]] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";", "[")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not Key=value: {line!r}"
        found.setdefault(key.strip(), []).append(value.strip())
    return found


def _one(directives: dict[str, list[str]], key: str) -> str:
    values = directives.get(key, [])
    assert len(values) == 1, f"{key}= should be set once, found {values}"
    return values[0]


def _venv_leakmon() -> Path:
    binary = Path(sys.executable).with_name("leakmon")
    assert binary.is_file(), f"{binary} missing: install leakmon into the venv (pip install -e .)"
    return binary


def _unit_for_this_machine(tmp_path: Path) -> Path:
    """Copy the unit with ExecStart pointing at the venv's leakmon, which exists here.

    ``systemd-analyze verify`` checks that ExecStart's binary exists; /opt/leakmon does not on
    a development machine. Everything else is verified exactly as shipped.
    """
    text = UNIT.read_text(encoding="utf-8")
    assert text.count(INSTALLED_BINARY) == 1, f"expected ExecStart={INSTALLED_BINARY} once"
    copy = tmp_path / "leakmon.service"
    copy.write_text(text.replace(INSTALLED_BINARY, str(_venv_leakmon())), encoding="utf-8")
    return copy


def test_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    unit = _unit_for_this_machine(tmp_path)
    done = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify also reports on units this one pulls in (network-online.target): only lines
    # about our unit count, and an unknown or misspelt directive is such a line.
    ours = [line for line in done.stderr.splitlines() if "leakmon" in line]
    assert done.returncode == 0, done.stderr
    assert ours == [], "\n".join(ours)


def test_unit_exposure_stays_low(tmp_path: Path) -> None:
    analyze = require_tool("systemd-analyze")
    unit = _unit_for_this_machine(tmp_path)
    done = subprocess.run(
        [analyze, "security", "--offline=yes", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    match = re.search(r"Overall exposure level for leakmon\.service: ([0-9.]+)", done.stdout)
    assert match, done.stdout[-2000:]
    assert float(match.group(1)) <= MAX_EXPOSURE, done.stdout


def test_unit_is_hardened_as_the_issue_asks() -> None:
    d = _directives(UNIT.read_text(encoding="utf-8"))
    assert _one(d, "Type") == "exec"  # no sd_notify yet: /readyz is the readiness signal
    assert _one(d, "DynamicUser") == "yes"
    assert _one(d, "ProtectSystem") == "strict"
    assert _one(d, "StateDirectory") == "leakmon"
    assert _one(d, "NoNewPrivileges") == "yes"
    assert _one(d, "CapabilityBoundingSet") == ""
    assert _one(d, "PrivateTmp") == "yes"
    assert _one(d, "Restart") == "on-failure"
    assert set(_one(d, "RestrictAddressFamilies").split()) == {"AF_INET", "AF_INET6", "AF_UNIX"}
    filters = d["SystemCallFilter"]
    assert "@system-service" in filters
    # Scan workers cap their own memory with setrlimit, which is in @resources.
    denied = [f for f in filters if f.startswith("~")]
    assert not any("@resources" in f or "setrlimit" in f for f in denied), denied


def test_unit_runs_the_shipped_config_with_its_secrets_file() -> None:
    d = _directives(UNIT.read_text(encoding="utf-8"))
    assert _one(d, "ExecStart").split() == [
        INSTALLED_BINARY,
        "run",
        "--config",
        "/etc/leakmon/leakmon.yaml",
    ]
    assert _one(d, "EnvironmentFile") == "/etc/leakmon/leakmon.env"


def test_unit_gives_leakmon_time_to_stop() -> None:
    d = _directives(UNIT.read_text(encoding="utf-8"))
    stop = _one(d, "TimeoutStopSec")
    assert stop.endswith("s"), stop
    assert float(stop[:-1]) > 15  # leakmon stops within 15 s of SIGTERM


def test_shipped_config_loads_with_the_example_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    env = read_env_file(SYSTEMD / "leakmon.env.example")
    monkeypatch.delenv("LEAKMON_STORAGE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings(SYSTEMD / "leakmon.yaml")

    url = make_url(settings.storage.get_secret_value())
    assert url.get_backend_name() == "sqlite"
    database = PurePosixPath(url.database or "")
    # Absolute, and inside StateDirectory=leakmon (/var/lib/leakmon), the only writable place.
    assert database.is_absolute(), database
    assert database.parent == PurePosixPath("/var/lib/leakmon")
    assert settings.http.listen.startswith("127.0.0.1:")
    assert settings.scan.hash_key is not None  # LEAKMON_HASH_KEY reached the settings
    assert [n.url.get_secret_value() for n in settings.notify if n.url] == [
        env["LEAKMON_WEBHOOK_URL"]
    ]


def _uncommented(text: str, first: str) -> str:
    """Return ``text`` with the commented block that starts at line ``first`` uncommented."""
    lines, out, inside = text.splitlines(), [], False
    for line in lines:
        if line == f"# {first}" or (inside and line.startswith("#   ")):
            inside = True
            out.append(line[2:])
        else:
            inside = False
            out.append(line)
    return "\n".join(out) + "\n"


def test_commented_cluster_mode_loads_once_enabled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The `cluster:` block and the env lines it names, uncommented, are a valid cluster setup."""
    env_text = (SYSTEMD / "leakmon.env.example").read_text(encoding="utf-8")
    env_path = tmp_path / "leakmon.env"
    env_path.write_text(
        re.sub(r"^# (LEAKMON_(?:STORAGE|REDIS_URL)=)", r"\1", env_text, flags=re.M),
        encoding="utf-8",
    )
    env = read_env_file(env_path)
    assert {"LEAKMON_STORAGE", "LEAKMON_REDIS_URL"} <= set(env)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "leakmon.yaml"
    text = (SYSTEMD / "leakmon.yaml").read_text(encoding="utf-8")
    config.write_text(_uncommented(text, "cluster:"), encoding="utf-8")
    settings = load_settings(config)
    assert settings.cluster is not None
    assert settings.cluster.redis.get_secret_value() == env["LEAKMON_REDIS_URL"]
    assert settings.cluster.replica is None  # host name and pid: one unit per host
    assert make_url(settings.storage.get_secret_value()).drivername == "postgresql+psycopg"
    # As shipped, it stays single-process.
    assert load_settings(SYSTEMD / "leakmon.yaml").cluster is None


def test_env_example_holds_placeholders_only() -> None:
    env = read_env_file(SYSTEMD / "leakmon.env.example")
    assert {"LEAKMON_WEBHOOK_URL", "LEAKMON_WEBHOOK_SECRET", "LEAKMON_HASH_KEY"} <= set(env)
    secrets = {name: value for name, value in env.items() if name != "LEAKMON_CONFIG"}
    assert [name for name, value in secrets.items() if not is_placeholder(value)] == []


def test_env_example_names_the_config_the_unit_runs() -> None:
    """Commands run with the unit's environment read the same config as the daemon."""
    env = read_env_file(SYSTEMD / "leakmon.env.example")
    (exec_start,) = _directives(UNIT.read_text(encoding="utf-8"))["ExecStart"]
    assert exec_start.endswith(f"--config {env['LEAKMON_CONFIG']}")


def test_unit_lets_polars_check_the_cpu() -> None:
    """MemoryDenyWriteExecute=yes breaks polars' import-time CPU check in every scan worker."""
    d = _directives(UNIT.read_text(encoding="utf-8"))
    if d.get("MemoryDenyWriteExecute", ["no"])[-1] == "yes":
        assert "POLARS_SKIP_CPU_CHECK=1" in " ".join(d.get("Environment", [])), (
            "MemoryDenyWriteExecute=yes needs Environment=POLARS_SKIP_CPU_CHECK=1"
        )


def test_unit_keeps_caches_off_the_read_only_root() -> None:
    d = _directives(UNIT.read_text(encoding="utf-8"))
    assert _one(d, "CacheDirectory") == "leakmon"
    assert "XDG_CACHE_HOME=%C/leakmon" in d.get("Environment", [])
