"""Secrets are hidden wherever they sit in a URL, in every output that shows one."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from monitor.cluster.frontier import _redact as redis_shown
from monitor.redaction import redact_text, redact_url
from monitor.store.engine import redact as storage_shown

if TYPE_CHECKING:
    from pathlib import Path

CANARIES = ("PW1canary", "Q2canary", "F3canary", "T4canary", "K5canary", "tail6canary")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            "postgresql://app:PW1canary@db:5432/x?password=Q2canary&sslmode=require#F3canary",
            "postgresql://app:***@db:5432/x?password=***&sslmode=require#***",
        ),
        # an unencoded @ (and a /) in the password: hidden whole, up to the last @
        ("postgresql://app:pw@tail6canary/x@db/leakmon", "postgresql://app:***@db/leakmon"),
        ("redis://:PW1canary@cache:6379/0", "redis://***@cache:6379/0"),
        ("redis://cache:6379/0?password=Q2canary", "redis://cache:6379/0?password=***"),
        ("https://T4canary@api.example.org/hook", "https://***@api.example.org/hook"),
        (
            "https://h.example/f.csv?X-Amz-Signature=K5canary&access_token=T4canary&page=2",
            "https://h.example/f.csv?X-Amz-Signature=***&access_token=***&page=2",
        ),
        ("https://h.example/people/@me?q=1", "https://h.example/people/@me?q=1"),
        ("sqlite:////var/lib/leakmon/state.db", "sqlite:////var/lib/leakmon/state.db"),
        ("not a url ?password=Q2canary", "not a url ?password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_text_finds_urls_in_messages() -> None:
    text = redact_text("store postgresql://a:PW1canary@db/x failed; retry https://h/?key=K5canary")
    assert "PW1canary" not in text
    assert "K5canary" not in text
    assert "postgresql://a:***@db/x" in text


def test_store_and_cluster_messages_hide_query_and_at_sign_secrets() -> None:
    for shown in (
        storage_shown("postgresql://app:pw@tail6canary@db/x?password=Q2canary#F3canary"),
        redis_shown("redis://:pw@tail6canary@cache:6379/0?password=Q2canary"),
    ):
        assert not [c for c in CANARIES if c in shown], shown


def test_check_config_prints_no_url_secret(tmp_path: Path) -> None:
    config = tmp_path / "leakmon.yaml"
    config.write_text(
        "storage: 'postgresql://app:pw@tail6canary@127.0.0.1:5432/test"
        "?password=Q2canary&sslmode=disable#F3canary'\n"
        "targets:\n"
        "  - name: t\n"
        "    start_urls: ['https://user:PW1canary@data.example.gov/?token=T4canary']\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "monitor.cli", "check-config", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout + done.stderr
    assert "storage: postgresql://app:***@127.0.0.1:5432/test?password=***&sslmode=disable" in out
    assert "https://user:***@data.example.gov/?token=***" in out
    assert [c for c in CANARIES if c in out] == []
