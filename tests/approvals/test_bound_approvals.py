"""Approvals as policy requires them, bound to what is approved and to who signed.

On the dev server (Updates run there): a quorum of two distinct approvers, the same
approver refused a second time, unsigned and mismatched credentials refused before they
reach history, a credential used once, a forged one refused by the worker, and a policy
change between approval and execution that stops the work.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
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
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError

from orchestrator.approvals import digest
from orchestrator.approvals.model import ApprovalReceipt, ApprovalRequest
from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from orchestrator.governed.model import GovernedRequest, GovernedStatus
from orchestrator.governed.workflow import WORKFLOW_NAME
from orchestrator.policy.client import OpaClient
from orchestrator.policy.contract import (
    WORKFLOW_START,
    PolicyInput,
    Requester,
    TaskSpec,
    WorkflowRef,
)
from orchestrator.policy.identity import IdentityKey, Keyring, sign
from tests.support import BIN, RunningWorker, decide, private_opa, signed, wait_for_stage

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
        run = handle.result_run_id or ""

        # A name typed into the payload proves nothing.
        unsigned = await refusal(send(handle, ApprovalRequest(approver="bob")))
        assert unsigned.type == "ApprovalUnauthenticated"

        # Signed for other parameters than those waiting: the digest does not match.
        stale = digest.digest(
            digest.task_subject(handle.id, "Deploy the billing service", None, {"replicas": 30})
        )
        assert stale != current
        changed = await refusal(
            send(
                handle,
                ApprovalRequest(
                    credential=sign(keys.key("bob"), "bob", handle.id, stale, run_id=run)
                ),
            )
        )
        assert changed.type == "ApprovalDigestMismatch"
        assert "the request changed since it was shown" in changed.message

        # alice's key cannot speak for bob: the worker's verification fails, OPA refuses.
        forged = sign(
            IdentityKey("alice", keys.key("alice").secret, True),
            "bob",
            handle.id,
            current,
            run_id=run,
        )
        refused = await refusal(send(handle, ApprovalRequest(credential=forged)))
        assert refused.type == "ApprovalRefused"
        assert "not authenticated (the key 'alice' may not sign for 'bob')" in refused.message

        # The same credential twice: used once, refused the second time.
        # Signed without this run (as for another run): refused before history.
        no_run = sign(keys.key("carol"), "carol", handle.id, current)
        other_run = await refusal(send(handle, ApprovalRequest(credential=no_run)))
        assert other_run.type == "ApprovalUnauthenticated"
        assert "not this run" in other_run.message

        credential = sign(keys.key("carol"), "carol", handle.id, current, run_id=run)
        receipt = await send(handle, ApprovalRequest(credential=credential), kind="reject")
        assert receipt.approver == "carol"
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        status = await handle.query("status", result_type=GovernedStatus)
    assert status.stage == "rejected"


def credentials_in_history(history: Any) -> list[ApprovalRequest]:
    """What an attacker reads with `temporal workflow show -o json`: the accepted updates'
    signed credentials, as plain data in history."""
    converter = DataConverter.default.payload_converter
    found = []
    for event in history.events:
        if event.HasField("workflow_execution_update_accepted_event_attributes"):
            accepted = event.workflow_execution_update_accepted_event_attributes
            payload = accepted.accepted_request.input.args.payloads[0]
            found.append(converter.from_payload(payload, ApprovalRequest))
    return found


async def test_credentials_from_a_finished_run_cannot_approve_a_new_run_or_a_reset(
    stack: LocalStack, client: Client, settings: Settings
) -> None:
    """The reproduced attack: a production run completes with bob's and carol's approvals;
    a new run under the same id, and a reset of it, must not accept the old credentials
    lifted from history, even within their 15 minutes."""
    async with RunningWorker.start(client, settings) as worker:
        first = await worker.start_governed(
            "Deploy the billing service to production",
            "alice",
            parameters={"environment": "production"},
        )
        await wait_for_stage(first, "awaiting_approval")
        await decide(first, "approve", "bob")
        await decide(first, "approve", "carol")
        assert (await first.result()).outcome == "completed"
        lifted = credentials_in_history(await first.fetch_history())
        assert [request.credential.subject for request in lifted if request.credential] == [
            "bob",
            "carol",
        ]

        # The same task under the same id, signed by alice again: a new run.
        again = await client.start_workflow(
            WORKFLOW_NAME,
            signed(
                GovernedRequest(
                    task="Deploy the billing service to production",
                    requester="alice",
                    parameters={"environment": "production"},
                ),
                first.id,
            ),
            id=first.id,
            task_queue=settings.temporal.task_queue,
        )
        await wait_for_stage(again, "awaiting_approval")
        for request in lifted:
            replayed = await refusal(send(again, request))
            assert replayed.type == "ApprovalUnauthenticated"
            assert "not this run" in replayed.message
        status = await again.query("status", result_type=GovernedStatus)
        assert (status.stage, status.pending_approval and status.pending_approval.approved_by) == (
            "awaiting_approval",
            [],
        )

        # A reset to the first workflow task starts a new run of the same history.
        reset = await asyncio.to_thread(
            subprocess.run,
            [
                str(BIN / "temporal"),
                "workflow",
                "reset",
                "--address",
                stack.temporal_address,
                "--workflow-id",
                first.id,
                "--type",
                "FirstWorkflowTask",
                "--reason",
                "replay attack test",
                "--yes",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert reset.returncode == 0, reset.stderr
        after_reset = client.get_workflow_handle(first.id)
        await wait_for_stage(after_reset, "awaiting_approval")
        for request in [*lifted, *credentials_in_history(await again.fetch_history())]:
            replayed = await refusal(send(after_reset, request))
            assert replayed.type == "ApprovalUnauthenticated"
        await after_reset.terminate("test over")


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

            # Dual control becomes three people, under a new revision, while it waits. The
            # revision's one home is the bundle's .manifest: bumped last, so OPA deciding
            # with it has the new quorum too.
            settings_file = private.policies / "orchestrator" / "settings" / "data.yaml"
            text = settings_file.read_text()
            settings_file.write_text(text.replace("    quorum: 2\n", "    quorum: 3\n"))
            manifest = private.policies / ".manifest"
            bumped = json.loads(manifest.read_text()) | {"revision": "test-quorum-3"}
            manifest.write_text(json.dumps(bumped))
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
        Requester("alice", authenticated=True, issuer="alice"),
        TaskSpec("x"),
    )
    for _ in range(100):
        if (await opa.decide(probe)).policy_revision.partition("+")[0] == revision:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"OPA never loaded revision {revision}")
