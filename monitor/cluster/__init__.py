"""Cluster mode: replicas share one crawl frontier (Redis) and one store (PostgreSQL).

The only package that imports ``redis``. ``Frontier`` is the shared queue of file
downloads; ``Cluster`` joins it to the store's poll leases and locks, behind the
seam the crawler talks to (``monitor.crawl.ClusterSeam``).
"""

from __future__ import annotations

from monitor.cluster.cluster import Cluster, default_replica_name
from monitor.cluster.frontier import Frontier, Taken

__all__ = ["Cluster", "Frontier", "Taken", "default_replica_name"]
