"""Approval deadlines on the time-skipping test server: a day passes in a moment.

The Java test server does not run Updates the way the dev server does, so approving is
covered on the dev server (test_governed_workflow.py); here nobody decides in time.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from orchestrator.config import Settings
from orchestrator.governed.model import GovernedRequest
from orchestrator.vocabulary import SEARCH_ATTRIBUTES
from tests.support import RunningWorker, start_signed, status_of

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registered_env(time_skipping_env: WorkflowEnvironment) -> WorkflowEnvironment:
    """The test server learns the workflows' search attributes as the dev server does."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest

    await time_skipping_env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            search_attributes={
                name: IndexedValueType.Value(f"INDEXED_VALUE_TYPE_{kind.upper()}")
                for name, kind in SEARCH_ATTRIBUTES.items()
            }
        )
    )
    return time_skipping_env


async def test_unanswered_approval_expires_with_its_reason(
    registered_env: WorkflowEnvironment, settings: Settings
) -> None:
    client = registered_env.client
    async with RunningWorker.start(client, settings):
        workflow_id = f"expiry-{uuid.uuid4().hex[:8]}"
        handle = await start_signed(
            client,
            settings,
            GovernedRequest(
                task="Deploy the billing service to production",
                requester="alice",
                parameters={"environment": "production"},
                approval_timeout_seconds=24 * 3600,
            ),
            workflow_id,
            now=await registered_env.get_current_time(),
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        status = await status_of(handle)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ApprovalExpired"
    # The policy's dual-control deadline (8 h) is sooner than the request's day.
    assert "8:00:00" in cause.message and "a deadline never approves" in cause.message
    assert (status.stage, status.approval_status) == ("expired", "expired")
    assert [step.action for step in status.escalations] == ["notify", "widen", "reject"]


async def test_escalation_runs_on_the_policy_timeline_then_rejects(
    registered_env: WorkflowEnvironment, settings: Settings
) -> None:
    """Standard requirement (policies/orchestrator/settings): notify approvers at 1 h,
    widen to operators at 4 h, notify everyone at 12 h, reject at the 24 h deadline."""
    client = registered_env.client
    async with RunningWorker.start(client, settings):
        workflow_id = f"escalation-{uuid.uuid4().hex[:8]}"
        # Signed at the server's time: earlier tests skipped it a day or more ahead.
        handle = await start_signed(
            client,
            settings,
            GovernedRequest(task="Deploy the billing service", requester="alice"),
            workflow_id,
            now=await registered_env.get_current_time(),
        )
        with pytest.raises(WorkflowFailureError) as caught:
            await handle.result()
        status = await status_of(handle)
        history = await handle.fetch_history()
    assert getattr(caught.value.cause, "type", None) == "ApprovalExpired", caught.value.cause
    assert status.approval_attempts == []  # nobody tried
    started = history.events[0].event_time.ToDatetime(tzinfo=UTC)
    timeline = [
        (
            step.action,
            step.roles,
            round((datetime.fromisoformat(step.at) - started).total_seconds() / 3600, 1),
        )
        for step in status.escalations
    ]
    assert timeline == [
        ("notify", ["approver"], 1.0),
        ("widen", ["operator"], 4.0),
        ("notify", ["approver", "operator", "security"], 12.0),
        ("reject", [], 24.0),
    ]
    # Each step is an event in history (the approval.escalate activity), not just state.
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled.count("approval.escalate") == 4
