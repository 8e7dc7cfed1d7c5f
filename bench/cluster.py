"""Governed throughput on the cluster stack beside the dev server, by worker processes.

`python -m bench.cluster [--smoke]` (`make bench-cluster`) starts each stack of its own on
free ports in a temporary folder, one after the other: the dev server on its SQLite file
(what `make up` runs), the dev server in memory, and the cluster (Temporal's four services
on PostgreSQL, 4 history shards, 4 matching partitions per task queue). On each it runs
the product's governed worker as 1, 2, 4 and 8 processes on one task queue and measures
workflows per second with a batch started at once (bench/run.py's `throughput`). Writes
bench/results/cluster-<date>.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import FULL, SMOKE, Bench, Sizes, machine, publish
from orchestrator.devstack import Binaries, LocalStack, Ports, StackLayout
from orchestrator.devstack.cluster import ClusterPorts, ClusterStack
from orchestrator.devstack.cluster.binaries import ClusterBinaries
from orchestrator.devstack.cluster.temporal import HISTORY_SHARDS

WORKER_COUNTS = (1, 2, 4, 8)
# Temporal's default (matching.numTaskqueueReadPartitions / WritePartitions).
MATCHING_PARTITIONS = 4
SERVERS = ("dev server, SQLite file", "dev server, in memory", "cluster, PostgreSQL")


@contextmanager
def running(server: str) -> Iterator[tuple[LocalStack, Path]]:
    folder = Path(tempfile.mkdtemp(prefix="orch-bench-"))
    folder.chmod(0o755)  # the cluster's PostgreSQL runs as its own user
    layout = StackLayout(root=folder)
    stack: LocalStack
    if server.startswith("cluster"):
        stack = ClusterStack(ClusterPorts.free(), layout, ClusterBinaries.locate())
    else:
        in_memory = server.endswith("in memory")
        stack = LocalStack(
            Ports.free(), layout, Binaries.locate(), False, temporal_in_memory=in_memory
        )
    try:
        stack.up()
        yield stack, folder
    finally:
        stack.down()
        shutil.rmtree(folder, ignore_errors=True)


async def scaling(stack: LocalStack, outbox: Path, sizes: Sizes) -> dict[str, float]:
    """Governed throughput on `stack` by worker processes (1, 2, 4, 8; 1, 2 when smoke)."""
    bench = await Bench.on(stack, outbox)
    counts = WORKER_COUNTS if sizes is FULL else (1, 2)
    return await bench.scaling(replace(sizes, worker_counts=counts))


async def measure(sizes: Sizes) -> dict[str, Any]:
    rates: dict[str, dict[str, float]] = {}
    for server in SERVERS:
        with running(server) as (stack, folder):
            rates[server] = await scaling(stack, folder / "outbox", sizes)
    return report_of(rates, sizes)


def report_of(rates: dict[str, dict[str, float]], sizes: Sizes) -> dict[str, Any]:
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "history_shards": HISTORY_SHARDS,
        "matching_partitions": MATCHING_PARTITIONS,
        "throughput_batch": sizes.throughput_batch,
        "governed_throughput_per_s": rates,
    }


def markdown(report: dict[str, Any]) -> str:
    rates = report["governed_throughput_per_s"]
    servers = list(rates)
    counts = list(next(iter(rates.values())))
    lines = [
        f"Cluster benchmark {report['date']} on {report['machine']}; cluster: "
        f"{report['history_shards']} history shards, {report['matching_partitions']} matching "
        f"partitions; batches of {report['throughput_batch']} governed workflows",
        "",
        "| worker processes | " + " | ".join(f"{s} (wf/s)" for s in servers) + " |",
        "|---|" + "---|" * len(servers),
    ]
    for count in counts:
        lines.append(f"| {count} | " + " | ".join(f"{rates[s][count]:.1f}" for s in servers) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster")
    parser.add_argument("--smoke", action="store_true", help="tiny counts: check the harness")
    args = parser.parse_args()
    report = asyncio.run(measure(SMOKE if args.smoke else FULL))
    name = "cluster-smoke" if args.smoke else datetime.now(UTC).strftime("cluster-%Y%m%d-%H%M")
    publish(name, report, markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
