"""Workflow-side helpers for asking the policy gate. Deterministic: safe inside workflows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from orchestrator.policy.contract import POLICY_ACTIVITY, PolicyDecision, PolicyInput

# OPA down, slow or failing keeps the workflow waiting here with growing back-off; it
# never proceeds. Errors a retry cannot heal are raised non-retryable by the activity.
POLICY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
POLICY_TIMEOUT = timedelta(seconds=10)


async def decide(policy_input: PolicyInput) -> PolicyDecision:
    """Ask OPA through the policy activity; the result stays in history as the audit record."""
    decision: PolicyDecision = await workflow.execute_activity(
        POLICY_ACTIVITY,
        policy_input,
        result_type=PolicyDecision,
        start_to_close_timeout=POLICY_TIMEOUT,
        retry_policy=POLICY_RETRY,
        summary=f"policy: {policy_input.action}",
    )
    return decision


def denied(decision: PolicyDecision, subject: str) -> ApplicationError:
    """The error that fails a workflow whose gate said no; readable in the UI and the CLI."""
    reasons = "; ".join(decision.reasons) or "no reason given"
    return ApplicationError(
        f"Policy denied {subject}: {reasons}",
        {
            "reasons": decision.reasons,
            "decision_id": decision.decision_id,
            "policy_revision": decision.policy_revision,
            "action": decision.action,
        },
        type="PolicyDenied",
        non_retryable=True,
    )
