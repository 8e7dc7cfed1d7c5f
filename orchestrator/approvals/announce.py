"""Telling people an approval opened: the `approval.requested` activity.

Workflow code. The gate announces an approval before it takes decisions (gate.py
`open`). Delivery is bounded (RETRY_WITHIN): a webhook that is down delays the opening by
at most that, and its failure never fails the approval, because the activity logged the
request on its first attempt and history keeps the failure.

Why not announce while the approval already waits: on the dev server (1.32), an update
that arrived while the workflow task recording the announcement's result was in flight
sometimes stayed undelivered until the run closed, so a second approver raced by the
first heard "workflow execution already completed" instead of "already decided".
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

from orchestrator.approvals.model import ApprovalRequestedNotice
from orchestrator.vocabulary import APPROVAL_REQUESTED_ACTIVITY

# Telling people is retried, boundedly: escalation steps use the same policy.
NOTICE_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=10)
RETRY_WITHIN = timedelta(seconds=30)


async def announce(notice: ApprovalRequestedNotice) -> str:
    """Where the request went ("log", "log+webhook"), or "undelivered"."""
    try:
        channel: str = await workflow.execute_activity(
            APPROVAL_REQUESTED_ACTIVITY,
            notice,
            result_type=str,
            start_to_close_timeout=timedelta(seconds=10),
            schedule_to_close_timeout=RETRY_WITHIN,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=5)),
            summary="approval requested",
        )
    except ActivityError:
        return "undelivered"
    return channel
