"""After approval the gate is asked again: a requester who lost their role meanwhile is stopped."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from tests.support import RunningWorker, decide, private_opa, wait_for_stage

pytestmark = pytest.mark.integration


async def test_policy_change_during_the_wait_stops_an_approved_workflow(
    stack: LocalStack, client: Client, settings: Settings, tmp_path: Path
) -> None:
    async with private_opa(stack, tmp_path) as private:
        ours = replace(settings, opa=private.settings)
        opa = OpaClient(private.settings)
        async with RunningWorker.start(client, ours, opa) as worker:
            handle = await worker.start_governed(
                "Deploy the billing service to production",
                "alice",
                parameters={"environment": "production"},
            )
            await wait_for_stage(handle, "awaiting_approval")

            # alice leaves engineering while her request waits.
            directory = private.policies / "orchestrator" / "directory" / "data.yaml"
            directory.write_text(
                directory.read_text().replace("roles: [engineer]", "roles: [viewer]", 1)
            )
            probe = PolicyInput(
                WORKFLOW_START,
                WorkflowRef("GovernedWorkflow", "probe", "probe"),
                Requester("alice", authenticated=True, issuer="alice"),
                TaskSpec("Generate a report"),
            )
            # Until OPA decides with the edited directory (not while it reloads it).
            for _ in range(100):
                if "alice holds role(s) viewer" in " ".join((await opa.decide(probe)).reasons):
                    break
                await asyncio.sleep(0.1)

            # Production changes need two approvers (dual control).
            await decide(handle, "approve", "bob", "ok")
            await decide(handle, "approve", "carol", "ok")
            with pytest.raises(WorkflowFailureError) as caught:
                await handle.result()
        await opa.aclose()
    cause = caught.value.cause
    assert getattr(cause, "type", None) == "PolicyDenied"
    assert "after approval" in str(cause)
    assert "alice holds role(s) viewer" in str(cause)
