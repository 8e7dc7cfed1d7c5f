"""Policy decision latency from one process, side by side in one run (part of `make bench`).

Interleaved per decision, so each way shares the machine's state: the pooled keep-alive
client asking the enforcing rule alone; the same with the shadow candidate in the one
paired request the policy activity makes (policies/orchestrator/paired); the candidate
the way it was asked before, as a second concurrent request; a new client per call; and
OPA's own time for the decision (`?metrics=true`): its Rego evaluation, and its whole
server handler (parsing the input, evaluating, encoding the answer).

`python -m bench.decisions [N]` measures against its own OPA on a free port.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from orchestrator.config import OpaSettings
from orchestrator.devstack import Binaries
from orchestrator.devstack.services import REPO_ROOT
from orchestrator.policy.client import OpaClient, new_http_client
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.shadow import ShadowEvaluator, decide_with_shadow

TASK = "Generate the weekly usage report"
SHADOW_PATH = "shadow/main/decision"


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "n": len(ordered)}


def decision_input(number: int) -> PolicyInput:
    return PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", f"bench-{number}", "run"),
        # As the policy activity hands it to OPA once the start credential verified.
        Requester("alice", authenticated=True, issuer="alice"),
        TaskSpec(TASK),
    )


def elapsed_ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


async def policy_latency(opa_url: str, count: int, sample_rate: float = 1.0) -> dict[str, Any]:
    """Milliseconds per decision from this process, and OPA's own time for it."""
    settings = OpaSettings(url=opa_url)
    samples: dict[str, list[float]] = {
        "pooled": [],
        "pooled_with_shadow": [],
        "pooled_with_shadow_two_requests": [],
        "new_client_per_call": [],
    }
    pooled = OpaClient(settings)
    candidate = ShadowEvaluator(pooled, SHADOW_PATH, sample_rate)
    for number in range(count):
        started = time.perf_counter()
        await pooled.decide(decision_input(number))
        samples["pooled"].append(elapsed_ms(started))

        started = time.perf_counter()
        _, answer = await decide_with_shadow(pooled, candidate, decision_input(number))
        assert answer is None or not isinstance(answer, str), answer
        samples["pooled_with_shadow"].append(elapsed_ms(started))

        started = time.perf_counter()
        answer, _ = await asyncio.gather(
            candidate.ask(decision_input(number)), pooled.decide(decision_input(number))
        )
        assert answer is not None and not isinstance(answer, str), answer
        samples["pooled_with_shadow_two_requests"].append(elapsed_ms(started))

        started = time.perf_counter()
        fresh = OpaClient(settings)
        await fresh.decide(decision_input(number))
        await fresh.aclose()
        samples["new_client_per_call"].append(elapsed_ms(started))
    await pooled.aclose()
    report: dict[str, Any] = {name: percentiles(values) for name, values in samples.items()}
    report.update(await opa_own_time(settings, min(count, 1000)))
    report["shadow_sample_rate"] = sample_rate
    return report


async def opa_own_time(settings: OpaSettings, count: int) -> dict[str, Any]:
    """OPA's Rego evaluation and whole handler time for the enforcing decision."""
    evaluation, handler = [], []
    async with new_http_client(settings) as http:
        for number in range(count):
            answer = await http.post(
                f"/v1/data/{settings.decision_path}",
                params={"metrics": "true"},
                json={"input": decision_input(number).to_opa()},
            )
            metrics = answer.json()["metrics"]
            evaluation.append(metrics["timer_rego_query_eval_ns"] / 1e6)
            handler.append(metrics["timer_server_handler_ns"] / 1e6)
    return {"opa_eval": percentiles(evaluation), "opa_handler": percentiles(handler)}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_for(url: str) -> None:
    async with new_http_client(OpaSettings(url=url)) as http:
        for _ in range(100):
            try:
                if (await http.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:  # not listening yet
                pass
            await asyncio.sleep(0.1)
    raise SystemExit(f"OPA at {url} did not become healthy")


def main(count: int) -> dict[str, Any]:
    """Start an OPA of our own with policies/ loaded, measure, stop it."""
    opa = Binaries.locate().opa
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(opa), "run", "--server", f"--addr=127.0.0.1:{port}", "--log-level=error"]
    with tempfile.TemporaryDirectory() as folder, Path(folder, "opa.log").open("w") as log:
        server = subprocess.Popen(
            [*command, str(REPO_ROOT / "policies")], stdout=log, stderr=subprocess.STDOUT
        )
        try:
            asyncio.run(wait_for(url))
            return asyncio.run(policy_latency(url, count))
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    decisions = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    print(json.dumps(main(decisions), indent=2))
