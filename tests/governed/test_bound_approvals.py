"""Approvals as policy requires them, bound to what is approved and to who signed.

On the dev server (Updates run there): a quorum of two distinct approvers, the same
approver refused a second time, unsigned and mismatched credentials refused before they
reach history, a credential used once, a forged one refused by the worker, and a policy
change between approval and execution that stops the work.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError

from orchestrator import digest
from orchestrator.approval import ApprovalReceipt, ApprovalRequest
from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from orchestrator.governed.model import GovernedStatus
from orchestrator.identity import IdentityKey, Keyring, sign
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

PAYMENT = "Pay the supplier invoice"


def keyring() -> Keyring:
    return Keyring.load(Path(os.environ["ORCH_IDENTITY_KEYS_FILE"]))


async def refusal(update: Any) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await update
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    return cause


async def send(
    handle: WorkflowHandle[Any, Any], request: ApprovalRequest, kind: str = "approve"
) -> ApprovalReceipt:
    receipt: ApprovalReceipt = await handle.execute_update(
        kind, request, result_type=ApprovalReceipt
    )
    return receipt


async def pending_digest(handle: WorkflowHandle[Any, Any]) -> str:
    status = await handle.query("status", result_type=GovernedStatus)
    assert status.pending_approval is not None
    return status.pending_approval.digest


async def test_quorum_of_two_refuses_the_same_approver_twice(
    client: Client, settings: Settings
) -> None:
    async with RunningWorker.start(client, settings) as worker:
        handle = await worker.start_governed(PAYMENT, "alice", kind="payment")
        await wait_for_stage(handle, "awaiting_approval")
        status = await handle.query("status", result_type=GovernedStatus)
        assert status.pending_approval is not None
        assert status.pending_approval.quorum == 2
        assert status.pending_approval.approver_roles == ["approver", "security"]

        first = await decide(handle, "approve", "bob", "first of two")
        assert (first.approvals, first.quorum) == (1, 2)
        again = await refusal(decide(handle, "approve", "bob", "me again"))
        assert again.type == "ApprovalRefused"
        assert "bob already approved: this approval needs distinct approvers." in again.message
        assert (await handle.query("status", result_type=GovernedStatus)).stage == (
            "awaiting_approval"
        )

        second = await decide(handle, "approve", "carol", "second of two")
        assert (second.approvals, second.quorum) == (2, 2)
        result = await handle.result()
        final = await handle.query("status", result_type=GovernedStatus)
    assert result.outcome == "completed"
    accepted = [a for a in final.approval_attempts if a.accepted]
    assert [(a.approver, a.issuer) for a in accepted] == [("bob", "bob"), ("carol", "carol")]
    assert {a.digest for a in accepted} == {
        digest.digest(digest.task_subject(handle.id, PAYMENT, "payment", {}))
    }


async def test_unsigned_mismatched_and_reused_credentials_are_refused(
    client: Client, settings: Settings
) -> None:
    keys = keyring()
    async with RunningWorker.start(client, settings) as worker:
        handle = await worker.start_governed(
            "Deploy the billing service", "alice", parameters={"replicas": 3}
        )
        await wait_for_stage(handle, "awaiting_approval")
        current = await pending_digest(handle)

        # A name typed into the payload proves nothing.
        unsigned = await refusal(send(handle, ApprovalRequest(approver="bob")))
        assert unsigned.type == "ApprovalUnauthenticated"

        # Signed for other parameters than those waiting: the digest does not match.
        stale = digest.digest(
            digest.task_subject(handle.id, "Deploy the billing service", None, {"replicas": 30})
        )
        assert stale != current
        changed = await refusal(
            send(handle, ApprovalRequest(credential=sign(keys.key("bob"), "bob", handle.id, stale)))
        )
        assert changed.type == "ApprovalDigestMismatch"
        assert "the request changed since it was shown" in changed.message

        # alice's key cannot speak for bob: the worker's verification fails, OPA refuses.
        forged = sign(
            IdentityKey("alice", keys.key("alice").secret, True), "bob", handle.id, current
        )
        refused = await refusal(send(handle, ApprovalRequest(credential=forged)))
        assert refused.type == "ApprovalRefused"
        assert "not authenticated (the key 'alice' may not sign for 'bob')" in refused.message

        # The same credential twice: used once, refused the second time.
        credential = sign(keys.key("carol"), "carol", handle.id, current)
        receipt = await send(handle, ApprovalRequest(credential=credential), kind="reject")
        assert receipt.approver == "carol"
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        status = await handle.query("status", result_type=GovernedStatus)
    assert status.stage == "rejected"


async def test_policy_change_between_approval_and_execution_blocks_the_work(
    stack: LocalStack, client: Client, settings: Settings, tmp_path: Path
) -> None:
    async with private_opa(stack, tmp_path) as private:
        ours = replace(settings, opa=private.settings)
        opa = OpaClient(private.settings)
        async with RunningWorker.start(client, ours, opa) as worker:
            handle = await worker.start_governed(PAYMENT, "alice", kind="payment")
            await wait_for_stage(handle, "awaiting_approval")
            await decide(handle, "approve", "bob", "first")

            # Dual control becomes three people, under a new revision, while it waits.
            settings_file = private.policies / "orchestrator" / "settings" / "data.yaml"
            manifest = private.policies / ".manifest"
            text = settings_file.read_text()
            old_revision = text.split('policy_version: "', 1)[1].split('"', 1)[0]
            settings_file.write_text(
                text.replace(f'"{old_revision}"', '"test-quorum-3"').replace(
                    "    quorum: 2\n", "    quorum: 3\n"
                )
            )
            manifest.write_text(manifest.read_text().replace(old_revision, "test-quorum-3"))
            await until_revision(opa, "test-quorum-3")

            await decide(handle, "approve", "carol", "second")
            with pytest.raises(WorkflowFailureError) as caught:
                await handle.result()
            result_status = await handle.query("status", result_type=GovernedStatus)
            history = await handle.fetch_history()
        await opa.aclose()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "PolicyChangedSinceApproval"
    assert "quorum: 2 -> 3" in cause.message and "test-quorum-3" in cause.message
    assert result_status.stage == "denied"
    # The work did not run: no agent activity was ever scheduled.
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert "agent.execute" not in scheduled


async def until_revision(opa: OpaClient, revision: str) -> None:
    """OPA reloads the edited bundle (--watch) within a moment; wait until it decides with it."""

    probe = PolicyInput(
        WORKFLOW_START,
        WorkflowRef("GovernedWorkflow", "probe", "probe"),
        Requester("alice"),
        TaskSpec("x"),
    )
    for _ in range(100):
        if (await opa.decide(probe)).policy_revision == revision:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"OPA never loaded revision {revision}")
