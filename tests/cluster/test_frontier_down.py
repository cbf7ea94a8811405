"""Redis out of reach: a replica still polls what it claims and fetches those files itself."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import pytest

from tests import synthetic
from tests.cluster.harness import Cluster
from tests.net import free_port, get

if TYPE_CHECKING:
    from pathlib import Path

pytestmark = pytest.mark.postgres


def test_a_leak_is_paged_without_the_frontier(tmp_path: Path) -> None:
    cluster = Cluster(
        tmp_path, every=3.0, lease=4.0, redis_url=f"redis://127.0.0.1:{free_port()}/0"
    )
    try:
        body = synthetic.ccw_applicants_csv(tmp_path / "leak", rows=40).read_bytes()
        cluster.portal.publish("permits.csv", body)
        replica = cluster.start("alone")
        pages = cluster.receiver.wait_for(1, timeout=60)
        assert pages, replica.log()
        assert pages[0].json()["resource_url"].endswith("/data/permits.csv")
        assert "frontier unavailable, fetching here" in replica.log_path.read_text()
        status, text = get(f"http://127.0.0.1:{replica.port}/readyz")
        assert status == 503
        assert json.loads(text)["frontier"] == "unreachable"
        time.sleep(4)  # a later poll: the file is unchanged now, not paged again
        assert len({p.json()["key"] for p in cluster.receiver.posts}) == len(cluster.receiver.posts)
    finally:
        cluster.close()
