"""Workflow-side helpers for asking the policy gate. Deterministic: safe inside workflows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState, TimeoutError

from orchestrator.policy.compare import differences
from orchestrator.policy.contract import PolicyDecision, PolicyInput
from orchestrator.vocabulary import POLICY_ACTIVITY

WAIT = "wait"
FAIL = "fail"
FAILURE_MODES = (WAIT, FAIL)
DEFAULT_BUDGET_SECONDS = 120.0


@dataclass(frozen=True)
class Unavailability:
    """What to do when the policy service stays unavailable past `budget_seconds`.

    wait (the default) records a `policy unavailable` decision and keeps asking: the work
    waits, closed. fail records it and fails the workflow. Fail-open does not exist.
    """

    mode: str = WAIT
    budget_seconds: float = DEFAULT_BUDGET_SECONDS


# OPA down, slow or failing keeps the workflow waiting here with growing back-off; it
# never proceeds. Errors a retry cannot heal are raised non-retryable by the activity.
POLICY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
POLICY_TIMEOUT = timedelta(seconds=10)

# Since this patch a decision is first asked as a local activity, in the worker that runs
# the workflow task: no activity task to dispatch and no workflow task to deliver its
# result, which was a third of a short run's latency (make bench). Its marker in history
# keeps the decision as the activity's completion did. One attempt only: when it fails in
# any way, the gate asks again through the regular activity, unchanged, whose back-off,
# budget and failure record serve the rare case and keep a long outage out of the
# workflow task (a local activity retrying would hold it open, heartbeating, for hours).
LOCAL_DECISIONS = "policy-local-activity"
ONE_ATTEMPT = RetryPolicy(maximum_attempts=1)


async def decide(
    policy_input: PolicyInput,
    unavailability: Unavailability | None = None,
    on_unavailable: Callable[[PolicyDecision], None] | None = None,
) -> PolicyDecision:
    """Ask OPA through the policy activity; the result stays in history as the audit record.

    Asked first as a local activity (LOCAL_DECISIONS), then, only if that fails, as the
    regular activity with back-off and budget.

    Without `unavailability` the gate waits for OPA however long it takes. With it, each
    budget spent without an answer is reported to `on_unavailable` as its own decision
    (outcome `unavailable`), then the gate waits again or fails, as the mode says.
    """
    summary = f"policy: {policy_input.action}"
    if workflow.patched(LOCAL_DECISIONS):
        try:
            local: PolicyDecision = await workflow.execute_local_activity(
                POLICY_ACTIVITY,
                policy_input,
                result_type=PolicyDecision,
                start_to_close_timeout=POLICY_TIMEOUT,
                retry_policy=ONE_ATTEMPT,
                summary=summary,
            )
            return local
        except (ActivityError, ApplicationError, TimeoutError):
            # The SDK raises a local activity's non-retryable failure bare, its other
            # failures wrapped: either way, asked again below, which fails the same way
            # as before this patch when the error cannot heal.
            pass
    budget = timedelta(seconds=unavailability.budget_seconds) if unavailability else None
    while True:
        try:
            decision: PolicyDecision = await workflow.execute_activity(
                POLICY_ACTIVITY,
                policy_input,
                result_type=PolicyDecision,
                start_to_close_timeout=POLICY_TIMEOUT,
                schedule_to_close_timeout=budget,
                retry_policy=POLICY_RETRY,
                summary=summary,
            )
            return decision
        except ActivityError as error:
            # Out of budget: either a timeout, or the server gave up retrying because the
            # next attempt would end after it (retry state TIMEOUT, last failure attached).
            out_of_budget = (
                isinstance(error.cause, TimeoutError) or error.retry_state == RetryState.TIMEOUT
            )
            if unavailability is None or not out_of_budget:
                raise
            unavailable = unavailable_decision(policy_input.action, unavailability, error)
            if on_unavailable:
                on_unavailable(unavailable)
            if unavailability.mode == FAIL:
                raise ApplicationError(
                    unavailable.reasons[0],
                    {"action": policy_input.action, "budget_seconds": budget_seconds(budget)},
                    type="PolicyUnavailable",
                    non_retryable=True,
                ) from None


def budget_seconds(budget: timedelta | None) -> float:
    return budget.total_seconds() if budget else 0.0


def unavailable_decision(
    action: str, unavailability: Unavailability, error: ActivityError
) -> PolicyDecision:
    """The record of a budget spent without an answer: never an allow."""
    # The last failed attempt's error: the cause itself, or the timeout's own cause.
    last = error.cause
    if isinstance(last, TimeoutError) and last.cause:
        last = last.cause
    then = "the workflow fails" if unavailability.mode == FAIL else "the work keeps waiting"
    return PolicyDecision.not_from_opa(
        action,
        allow=False,
        reasons=[
            f"The policy service gave no decision within {unavailability.budget_seconds:g}s "
            f"({last}); {then}."
        ],
        risk="unknown",
        unavailable=True,
    )


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


def changed_since_approval(approved: PolicyDecision, now: PolicyDecision) -> str:
    """How the decision before running differs from the one that required the approval.

    "" when it does not: same outcome and same requirement, whatever the revision or
    risk; also when the work no longer needs an approval at all (nothing left to cover).
    """
    if now.outcome == "allow":
        return ""
    return "; ".join(differences(approved, now, risk=False))
