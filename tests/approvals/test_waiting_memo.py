"""What waits for approval is kept in the run's memo, as visibility lists it (the console's
inbox reads nothing else): opened, counted, and emptied once decided; for a governed run
and for each waiting step of a declarative run."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from orchestrator.approvals.memo import MEMO_KEY
from orchestrator.config import Settings
from orchestrator.vocabulary import APPROVAL_STATUS
from tests.declarative.support import approval, definition
from tests.declarative.support import start as start_declarative
from tests.support import RunningWorker, decide, poll, wait_for_stage

pytestmark = pytest.mark.integration

DEPLOY = "Deploy the billing service to production"


async def listed_memo(client: Client, handle: WorkflowHandle[Any, Any]) -> list[dict[str, Any]]:
    """The memo's entries as a visibility list returns them (not describe: the inbox lists)."""
    async for execution in client.list_workflows(f"WorkflowId = '{handle.id}'"):
        value = await execution.memo_value(MEMO_KEY, None)
        return value if isinstance(value, list) else []
    return []


async def current_details_of(handle: WorkflowHandle[Any, Any]) -> str:
    """What the Temporal UI reads: the run's metadata query."""
    metadata = await handle.query("__temporal_workflow_metadata")
    return str(getattr(metadata, "current_details", None) or _field(metadata))


def _field(metadata: Any) -> str:
    return metadata.get("currentDetails", "") if isinstance(metadata, dict) else ""


async def memo_becomes(
    client: Client, handle: WorkflowHandle[Any, Any], check: Any, what: str
) -> list[dict[str, Any]]:
    return await poll(lambda: listed_memo(client, handle), check, what, 20)


async def test_a_governed_runs_memo_says_what_waits_and_who_approved(
    client: Client, settings: Settings
) -> None:
    async with RunningWorker.start(client, settings) as worker:
        handle = await worker.start_governed(
            DEPLOY, "alice", parameters={"environment": "production"}
        )
        await wait_for_stage(handle, "awaiting_approval")
        [waiting] = await memo_becomes(client, handle, lambda m: len(m) == 1, "one entry")
        assert waiting["subject"] == DEPLOY and waiting["requester"] == "alice"
        assert waiting["quorum"] == 2 and waiting["approved_by"] == []
        assert waiting["parameters"] == {"environment": "production"}
        assert waiting["digest"].startswith("sha256:") and waiting["reasons"]
        assert waiting["policy_revision"] and waiting["exclude_requester"] is True
        assert waiting["step"] == "" and waiting["run_id"] == (await handle.describe()).run_id
        # The Temporal UI's "current details" of the run say the same in a line.
        details = await current_details_of(handle)
        assert details.startswith("**Waiting for approval**: " + DEPLOY)
        assert "0 of 2 approvals (approver, security)" in details

        await decide(handle, "approve", "bob", "first of two")
        [counted] = await memo_becomes(
            client, handle, lambda m: m and m[0]["approved_by"] == ["bob"], "bob counted"
        )
        assert counted["quorum"] == 2

        await decide(handle, "approve", "carol", "second of two")
        await handle.result()
        assert await listed_memo(client, handle) == []
        assert await current_details_of(handle) == ""
        described = await handle.describe()
        assert described.typed_search_attributes.get(APPROVAL_STATUS) == "approved"


async def test_a_declarative_runs_memo_lists_each_waiting_step(
    client: Client, settings: Settings
) -> None:
    source = definition(
        approval(description="First look"), approval(description="Second look"), name="memo-steps"
    )
    async with RunningWorker.start(client, settings) as worker:
        handle = await start_declarative(worker.client, settings, source, "alice")
        [first] = await memo_becomes(client, handle, lambda m: len(m) == 1, "first step")
        assert first["subject"] == "First look"
        assert first["definition"] == "memo-steps" and first["requester"] == "alice"
        assert first["kind"] == "approval"
        await decide(handle, "approve", "bob", step=first["step"])
        [second] = await memo_becomes(
            client, handle, lambda m: m and m[0]["step"] != first["step"], "second step"
        )
        await decide(handle, "approve", "bob", step=second["step"])
        await handle.result()
        assert await listed_memo(client, handle) == []
