"""Fixtures for the cluster tests: a real two-node Ray cluster on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from _loopback import LoopbackCluster


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[LoopbackCluster]:
    """A head and one worker node (1 CPU each), token authentication on; only this
    cluster's processes are stopped afterwards."""
    cluster = LoopbackCluster(cpus_per_node=1)
    try:
        cluster.start_head()
        cluster.add_worker("worker1")
        yield cluster
    finally:
        cluster.stop()
