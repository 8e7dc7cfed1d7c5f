"""A step whose policy decision requires approval waits for it, and is asked again before
it runs: an approval given under one policy revision does not cover another's answer.

The shipped policy requires approval only for risky steps, so these tests run their own
OPA with one rule added: loading data, even into a plain warehouse, needs an approval.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    STEP_EXECUTE,
    PolicyInput,
    Requester,
    StepSpec,
    WorkflowRef,
)
from tests.declarative.support import act, definition, start
from tests.support import (
    PrivateOpa,
    RunningWorker,
    decide,
    failure_of,
    private_opa,
    wait_for_pending,
)

pytestmark = pytest.mark.integration

LOAD_NEEDS_APPROVAL = """

# Added by tests/declarative/test_policy_required_approval.py.
_require_approval if {
	_action == "step.execute"
	count(_deny) == 0
	input.step.activity == "LoadData"
}
"""
PIPELINE = definition(act("ExtractData", "crm"), act("LoadData", "warehouse"))
LOAD = PolicyInput(
    STEP_EXECUTE,
    WorkflowRef("DeclarativeWorkflow", "probe", "probe"),
    # Probes go straight to OPA: the requester as the worker hands it on once verified.
    Requester("alice", authenticated=True, issuer="alice"),
    step=StepSpec("LoadData", "execution.blocks[1]", ["warehouse"]),
)


@pytest.fixture
async def gated(
    stack: LocalStack, client: Client, settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[RunningWorker, PrivateOpa, OpaClient]]:
    async with private_opa(stack, tmp_path) as private:
        main = private.policies / "orchestrator" / "main" / "main.rego"
        main.write_text(main.read_text() + LOAD_NEEDS_APPROVAL)
        opa = OpaClient(private.settings)
        await until(opa, lambda decision: decision.require_approval)
        async with RunningWorker.start(client, replace(settings, opa=private.settings)) as worker:
            yield worker, private, opa
        await opa.aclose()


async def until(opa: OpaClient, check: object) -> None:
    """Wait for OPA (--watch) to load an edited policy."""
    for _ in range(100):
        if callable(check) and check(await opa.decide(LOAD)):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("OPA never loaded the edited policy")


async def test_the_step_waits_for_approval_then_runs_after_a_second_decision(
    gated: tuple[RunningWorker, PrivateOpa, OpaClient],
) -> None:
    worker, _, _ = gated
    handle = await start(worker.client, worker.settings, PIPELINE)
    status = await wait_for_pending(handle)
    assert [p.path for p in status.pending_approvals] == ["execution.blocks[1]#approval"]
    await decide(handle, "approve", "bob", "load it")
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.completed_steps == 3  # extract, the approval, load
    loads = [d for d in result.decisions if d.activity == "LoadData"]
    # Asked before the approval and again right before the step ran.
    assert [d.outcome for d in loads] == ["approval_required", "approval_required"]


async def test_a_new_requirement_while_waiting_stops_the_approved_step(
    gated: tuple[RunningWorker, PrivateOpa, OpaClient],
) -> None:
    worker, private, opa = gated
    handle = await start(worker.client, worker.settings, PIPELINE)
    await wait_for_pending(handle)

    # While the approval waits, the standard requirement becomes two approvers.
    settings_file = private.policies / "orchestrator" / "settings" / "data.yaml"
    text = settings_file.read_text()
    standard = text.index("  standard:")
    settings_file.write_text(text[:standard] + text[standard:].replace("quorum: 1", "quorum: 2", 1))
    await until(
        opa, lambda decision: decision.approval is not None and decision.approval.quorum == 2
    )

    await decide(handle, "approve", "bob", "approved under quorum 1")
    error = await failure_of(handle)
    assert error.type == "PolicyChangedSinceApproval"
    assert "quorum: 1 -> 2" in error.message
    assert "execution.blocks[1] (LoadData)" in error.message
