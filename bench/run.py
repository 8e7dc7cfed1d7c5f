"""`make bench`: what governance and tracing cost, side by side with bare Temporal, in one run.

Starts its own stack on free ports, then measures, interleaving the variants so they
share the machine's state, and reports a Markdown table and JSON (bench/results/):

1. policy decision latency from this process over N decisions (bench/decisions.py): one
   pooled keep-alive client, the same with the shadow candidate in the same request, the
   candidate as a second concurrent request (the way before), a new client per call,
   and OPA's own evaluation and handler time (`?metrics=true`);
2. end-to-end latency (start -> result) and throughput of the governed workflow vs the
   same workflow with the gate removed ("ungoverned", bench/ungoverned.py: the honest
   baseline every governance ratio is against), vs a no-op policy activity (the gate's
   activity kept, OPA skipped), vs a bare workflow with as many activities; on the
   dev server's SQLite file (as `make up` runs it) and again in memory;
3. the governed workflow with tracing on vs off;
4. governed throughput with 1, 2 and 4 worker processes.

`--smoke` runs every part with tiny counts, to keep the harness working (tests use it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from bench.bare import BARE_WORKFLOW
from bench.decisions import percentiles, policy_latency
from bench.ungoverned import UNGOVERNED_WORKFLOW
from orchestrator import starts
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.devstack import Binaries, LocalStack, Ports, StackLayout
from orchestrator.governed.model import GovernedRequest
from orchestrator.policy.identity import IdentityKey, Keyring

RESULTS = Path(__file__).parent / "results"
TASK = "Generate the weekly usage report"


@dataclass(frozen=True)
class Sizes:
    decisions: int
    rounds: int  # interleaved rounds of sequential end-to-end runs per variant
    per_round: int
    throughput_batch: int
    worker_counts: tuple[int, ...]


FULL = Sizes(decisions=2000, rounds=10, per_round=10, throughput_batch=200, worker_counts=(1, 2, 4))
SMOKE = Sizes(decisions=20, rounds=1, per_round=1, throughput_batch=4, worker_counts=(1, 2))


@contextmanager
def worker_processes(variant: str, env: dict[str, str], count: int = 1) -> Iterator[None]:
    procs = []
    try:
        for _ in range(count):
            proc = subprocess.Popen(
                [sys.executable, "-m", "bench.workers", variant],
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
            )
            procs.append(proc)
            assert proc.stdout is not None
            first = proc.stdout.readline().strip()
            if first != "ready":
                raise RuntimeError(f"bench worker {variant} did not start: {first!r}")
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


Runner = Callable[[], Awaitable[Any]]


def governed_runner(client: Client, queue: str, key: IdentityKey) -> Runner:
    async def run() -> Any:
        workflow_id = f"bench-{uuid.uuid4().hex}"
        request = GovernedRequest(task=TASK, requester="alice")
        handle = await starts.start(client, request, key, workflow_id, task_queue=queue)
        return await handle.result()

    return run


def ungoverned_runner(client: Client, queue: str) -> Runner:
    async def run() -> Any:
        return await client.execute_workflow(
            UNGOVERNED_WORKFLOW,
            GovernedRequest(task=TASK, requester="alice"),
            id=f"bench-{uuid.uuid4().hex}",
            task_queue=queue,
        )

    return run


def bare_runner(client: Client, queue: str) -> Runner:
    async def run() -> Any:
        return await client.execute_workflow(
            BARE_WORKFLOW, 3, id=f"bench-{uuid.uuid4().hex}", task_queue=queue
        )

    return run


async def latency_ms(run: Runner) -> float:
    started = time.perf_counter()
    await run()
    return (time.perf_counter() - started) * 1000


async def throughput(run: Runner, batch: int) -> float:
    """Workflows per second with `batch` started at once."""
    started = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(batch)))
    return batch / (time.perf_counter() - started)


async def compare(runners: dict[str, Runner], sizes: Sizes) -> dict[str, dict[str, float]]:
    """Interleaved rounds: each variant in turn, so drift hits all of them alike."""
    latencies: dict[str, list[float]] = {name: [] for name in runners}
    rates: dict[str, list[float]] = {name: [] for name in runners}
    for run in runners.values():  # warm-up: connections, caches, sticky queues
        await run()
    for _ in range(sizes.rounds):
        for name, run in runners.items():
            for _ in range(sizes.per_round):
                latencies[name].append(await latency_ms(run))
    for _ in range(3 if sizes is FULL else 1):
        for name, run in runners.items():
            rates[name].append(await throughput(run, sizes.throughput_batch))
    return {
        name: {
            "latency_median_ms": statistics.median(latencies[name]),
            "latency_p95_ms": percentiles(latencies[name])["p95"],
            "throughput_median_per_s": statistics.median(rates[name]),
            "runs": len(latencies[name]),
        }
        for name in runners
    }


class Bench:
    """One stack's client, keys and worker environment."""

    def __init__(self, stack: LocalStack, client: Client, outbox: Path) -> None:
        settings = Settings.from_env(stack.client_env())
        self.stack = stack
        self.client = client
        self.alice = Keyring.load(settings.identity_keys_file).key("alice")
        self.base = {
            **stack.client_env(),
            "ORCH_AGENT_OUTBOX": str(outbox),
            "ORCH_METRICS_PORT": "0",
        }

    @classmethod
    async def on(cls, stack: LocalStack, outbox: Path) -> Bench:
        settings = Settings.from_env(stack.client_env())
        return cls(stack, await connect(settings.temporal), outbox)

    def env(self, queue: str, tracing: bool = False) -> dict[str, str]:
        return {
            **self.base,
            "TEMPORAL_TASK_QUEUE": queue,
            "OTEL_SDK_DISABLED": "false" if tracing else "true",
        }

    async def variants(self, sizes: Sizes) -> dict[str, dict[str, float]]:
        """Governed vs the gate removed vs a no-op gate vs bare Temporal, interleaved."""
        queues = {
            name: f"bench-{name}-{uuid.uuid4().hex[:6]}"
            for name in ("governed", "ungoverned", "noop-policy", "bare")
        }
        with (
            worker_processes("governed", self.env(queues["governed"])),
            worker_processes("ungoverned", self.env(queues["ungoverned"])),
            worker_processes("noop-policy", self.env(queues["noop-policy"])),
            worker_processes("bare", self.env(queues["bare"])),
        ):
            return await compare(
                {
                    "governed": governed_runner(self.client, queues["governed"], self.alice),
                    "ungoverned": ungoverned_runner(self.client, queues["ungoverned"]),
                    "noop-policy": governed_runner(self.client, queues["noop-policy"], self.alice),
                    "bare": bare_runner(self.client, queues["bare"]),
                },
                sizes,
            )

    async def tracing(self, sizes: Sizes) -> dict[str, dict[str, float]]:
        off, on = (f"bench-{name}-{uuid.uuid4().hex[:6]}" for name in ("untraced", "traced"))
        with (
            worker_processes("governed", self.env(off)),
            worker_processes("governed", self.env(on, tracing=True)),
        ):
            return await compare(
                {
                    "tracing off": governed_runner(self.client, off, self.alice),
                    "tracing on": governed_runner(self.client, on, self.alice),
                },
                sizes,
            )

    async def scaling(self, sizes: Sizes) -> dict[str, float]:
        """Governed throughput with 1, 2, 4 ... worker processes on one queue."""
        rates = {}
        for count in sizes.worker_counts:
            queue = f"bench-scale{count}-{uuid.uuid4().hex[:6]}"
            with worker_processes("governed", self.env(queue), count):
                run = governed_runner(self.client, queue, self.alice)
                await run()
                samples = [await throughput(run, sizes.throughput_batch) for _ in range(2)]
                rates[str(count)] = statistics.median(samples)
        return rates


async def run_bench(stack: LocalStack, sizes: Sizes, outbox: Path) -> dict[str, Any]:
    """The parts measured on the stack `make up` runs: Temporal on its SQLite file."""
    bench = await Bench.on(stack, outbox)
    return {
        "policy_latency_ms": await policy_latency(stack.opa_url, sizes.decisions),
        "variants": await bench.variants(sizes),
        "tracing": await bench.tracing(sizes),
    }


async def run_bench_in_memory(stack: LocalStack, sizes: Sizes, outbox: Path) -> dict[str, Any]:
    """The parts measured with Temporal in memory, where SQLite writes do not bound them."""
    bench = await Bench.on(stack, outbox)
    return {
        "variants_in_memory": await bench.variants(sizes),
        "throughput_by_workers_per_s": await bench.scaling(sizes),
    }


def ratios(report: dict[str, Any]) -> dict[str, float]:
    """Every governance ratio against the gate removed, per server mode, plus the rest."""
    traced = report["tracing"]
    policy = report["policy_latency_ms"]
    found = {
        "decision with shadow / without, p50": policy["pooled_with_shadow"]["p50"]
        / policy["pooled"]["p50"],
        "decision with shadow as a second request / without, p50": policy[
            "pooled_with_shadow_two_requests"
        ]["p50"]
        / policy["pooled"]["p50"],
        "pooled decision p50 / OPA handler p50": policy["pooled"]["p50"]
        / policy["opa_handler"]["p50"],
        "pooled decision p50 / OPA evaluation p50": policy["pooled"]["p50"]
        / policy["opa_eval"]["p50"],
        "tracing on / off throughput (file)": traced["tracing on"]["throughput_median_per_s"]
        / traced["tracing off"]["throughput_median_per_s"],
        "tracing on / off latency (file)": traced["tracing on"]["latency_median_ms"]
        / traced["tracing off"]["latency_median_ms"],
    }
    for mode, key in (("file", "variants"), ("memory", "variants_in_memory")):
        variants = report[key]
        base = variants["ungoverned"]
        for name in ("governed", "noop-policy", "bare"):
            row = variants[name]
            found[f"{name} / ungoverned latency ({mode})"] = (
                row["latency_median_ms"] / base["latency_median_ms"]
            )
            found[f"{name} / ungoverned throughput ({mode})"] = (
                row["throughput_median_per_s"] / base["throughput_median_per_s"]
            )
    return found


def markdown(report: dict[str, Any]) -> str:
    lines = [f"Benchmark {report['date']} on {report['machine']}", ""]
    policy = report["policy_latency_ms"]
    lines += ["| policy decision (ms) | p50 | p95 | p99 | n |", "|---|---|---|---|---|"]
    for name, row in policy.items():
        if isinstance(row, dict):
            lines.append(
                f"| {name} | {row['p50']:.3f} | {row['p95']:.3f} | {row['p99']:.3f} | {row['n']} |"
            )
    lines += [
        "",
        f"Shadow sample rate {policy['shadow_sample_rate']:g} (OPA_SHADOW_SAMPLE_RATE).",
        "",
        "| workflow variant | server | median latency (ms) | p95 (ms) | throughput (wf/s) |",
        "|---|---|---|---|---|",
    ]
    sections = (
        ("variants", "SQLite file"),
        ("variants_in_memory", "in memory"),
        ("tracing", "SQLite file"),
    )
    for section, server in sections:
        for name, row in report[section].items():
            lines.append(
                f"| {name} | {server} | {row['latency_median_ms']:.1f} | "
                f"{row['latency_p95_ms']:.1f} | {row['throughput_median_per_s']:.1f} |"
            )
    lines += [
        "",
        "| worker processes (in memory) | governed throughput (wf/s) |",
        "|---|---|",
    ]
    for count, rate in report["throughput_by_workers_per_s"].items():
        lines.append(f"| {count} | {rate:.1f} |")
    lines += ["", "| ratio | value |", "|---|---|"]
    for name, value in report["ratios"].items():
        lines.append(f"| {name} | {value:.3f} |")
    return "\n".join(lines)


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    python = platform.python_version()
    return f"{platform.machine()}, {os.cpu_count()} cores, {memory:.0f} GiB, Python {python}"


async def main_async(smoke: bool) -> dict[str, Any]:
    sizes = SMOKE if smoke else FULL
    report: dict[str, Any] = {}
    for in_memory, part in ((False, run_bench), (True, run_bench_in_memory)):
        with tempfile.TemporaryDirectory() as folder:
            stack = LocalStack(
                Ports.free(),
                StackLayout(Path(folder)),
                Binaries.locate(),
                False,
                temporal_in_memory=in_memory,
            )
            stack.up()
            try:
                report |= await part(stack, sizes, Path(folder) / "outbox")
            finally:
                stack.down()
    report["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report["machine"] = machine()
    report["sizes"] = asdict(sizes)
    report["ratios"] = ratios(report)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--smoke", action="store_true", help="tiny counts: check the harness")
    args = parser.parse_args()
    report = asyncio.run(main_async(args.smoke))
    name = "smoke" if args.smoke else datetime.now(UTC).strftime("%Y%m%d-%H%M")
    publish(name, report, markdown(report))
    return 0


def publish(name: str, report: dict[str, Any], table: str) -> None:
    """bench/results/<name>.json and .md, and the table on stdout."""
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(report, indent=2))
    (RESULTS / f"{name}.md").write_text(table + "\n")
    print(table)


if __name__ == "__main__":
    sys.exit(main())
