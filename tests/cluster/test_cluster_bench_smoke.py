"""`make bench-cluster`'s harness still works (tiny counts on the session's cluster).
Timings are not asserted: speed is judged by the benchmark, not by tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cluster import SERVERS, markdown, report_of, scaling
from bench.run import SMOKE
from orchestrator.devstack.cluster import ClusterStack

pytestmark = pytest.mark.integration


async def test_cluster_bench_smoke_reports_every_server(
    cluster: ClusterStack, tmp_path: Path
) -> None:
    rates = await scaling(cluster, tmp_path / "outbox", SMOKE)
    assert set(rates) == {"1", "2"} and all(rate > 0 for rate in rates.values())
    table = markdown(report_of(dict.fromkeys(SERVERS, rates), SMOKE))
    assert "| worker processes | dev server, SQLite file (wf/s) |" in table
    assert "4 history shards, 4 matching partitions" in table
