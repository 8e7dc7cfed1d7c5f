"""Worker processes for the benchmark: the real one and its two baselines.

`python -m bench.workers VARIANT` with the usual TEMPORAL_*/OPA_* variables:

- governed: the product's worker (policy activity asks OPA over HTTP).
- noop-policy: the same GovernedWorkflow, with `policy.decide` answering "allow" at once
  without OPA: what the governed workflow costs minus the policy call itself.
- ungoverned: the governed workflow with the gate removed (bench/ungoverned.py): the
  honest baseline of what governance costs.
- bare: a plain workflow with the same number of activities (three no-ops): Temporal alone.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from temporalio import activity
from temporalio.worker import Worker

from bench.bare import BareWorkflow, noop
from bench.ungoverned import UngovernedWorkflow
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.governed.activities import AgentActivities, Outbox
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import PolicyDecision, PolicyInput
from orchestrator.vocabulary import POLICY_ACTIVITY
from orchestrator.worker import WORKFLOWS, build_worker
from telemetry.tracing import setup_tracing


@activity.defn(name=POLICY_ACTIVITY)
async def allow_without_asking(policy_input: PolicyInput) -> PolicyDecision:
    return PolicyDecision.not_from_opa(policy_input.action, allow=True, reasons=[], risk="low")


async def serve(variant: str) -> None:
    settings = Settings.from_env()
    tracing = setup_tracing(f"bench-worker-{variant}")
    client = await connect(settings.temporal)
    opa = OpaClient(settings.opa)
    queue = settings.temporal.task_queue
    if variant == "governed":
        worker = build_worker(client, settings, opa)
    elif variant == "noop-policy":
        agent = AgentActivities(Outbox(settings.agent_outbox))
        worker = Worker(
            client,
            task_queue=queue,
            workflows=WORKFLOWS,
            activities=[allow_without_asking, agent.execute, agent.cleanup],
        )
    elif variant == "ungoverned":
        agent = AgentActivities(Outbox(settings.agent_outbox))
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[UngovernedWorkflow],
            activities=[agent.execute, agent.cleanup],
        )
    elif variant == "bare":
        worker = Worker(client, task_queue=queue, workflows=[BareWorkflow], activities=[noop])
    else:
        raise SystemExit(f"unknown variant {variant!r}: governed, noop-policy, ungoverned or bare")
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stopping.set)
    async with worker:
        print("ready", flush=True)
        await stopping.wait()
    await opa.aclose()
    tracing.shutdown()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
