"""Cluster fixtures: the real Redis at 127.0.0.1:6379, one key prefix per test."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING

import pytest
import redis

from tests.cluster.harness import REDIS_URL, drop_redis_keys

if TYPE_CHECKING:
    from collections.abc import Iterator

START = 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save ""'


@pytest.fixture(scope="session")
def redis_url() -> str:
    """Return the test Redis URL; fail in CI, skip elsewhere, when it does not answer."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis is not reachable at {REDIS_URL} ({exc}); start it with: {START}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    """Return a key prefix of this test's own; its keys are deleted afterwards."""
    name = f"leakmon-test-{secrets.token_hex(6)}"
    yield name
    drop_redis_keys(name)
