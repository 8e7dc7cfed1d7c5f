"""Histories for the audit tests: the recorded ones (tests/histories), and copies of them
edited to hold what no recording has (a bound approval with a requirement and a shadow
result, a policy call that timed out or failed, a request JSON cannot carry).

Only temporalio and the recorded files: tests/audit/exports/ was made from these same
histories by the audit code as it was before the restructure of issue 14.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import ApplicationFailureInfo, Failure, TimeoutFailureInfo
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

HISTORIES = Path(__file__).parents[1] / "histories"
CONVERTER = DataConverter.default
POLICY_ACTIVITY = "policy.decide"


def load(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name, (HISTORIES / f"{name}.json").read_text())


def policy_events(events: list[HistoryEvent], index: int) -> tuple[HistoryEvent, HistoryEvent]:
    """The `index`-th policy.decide call's scheduled and completed events."""
    scheduled = [
        e
        for e in events
        if e.HasField("activity_task_scheduled_event_attributes")
        and e.activity_task_scheduled_event_attributes.activity_type.name == POLICY_ACTIVITY
    ][index]
    completed = next(
        e
        for e in events
        if e.HasField("activity_task_completed_event_attributes")
        and e.activity_task_completed_event_attributes.scheduled_event_id == scheduled.event_id
    )
    return scheduled, completed


def bob_credential(workflow_id: str = "") -> dict[str, Any]:
    """Bob's signed approval credential as a policy call's input carries it."""
    return {
        "subject": "bob",
        "issuer": "orchestrator-cli",
        "workflow_id": workflow_id,
        "digest": "sha256:abc",
        "nonce": "n-1",
        "issued_at": "2026-11-24T11:00:00Z",
        "signature": "SECRET-SIGNATURE",
    }


async def with_bound_approval(
    name: str, credential: dict[str, Any], answer: dict[str, Any], index: int = 2
) -> WorkflowHistory:
    """`name` with the `index`-th policy call's input given `credential` (and its digest)
    and its answer merged with `answer`."""
    history = load(name)
    events = list(history.events)
    scheduled, completed = policy_events(events, index)
    attrs = scheduled.activity_task_scheduled_event_attributes
    given = await CONVERTER.decode(list(attrs.input.payloads))
    given[0]["approval"] |= {"digest": credential["digest"], "credential": credential}
    attrs.input.ClearField("payloads")
    attrs.input.payloads.extend(await CONVERTER.encode(given))
    done = completed.activity_task_completed_event_attributes
    result = (await CONVERTER.decode(list(done.result.payloads)))[0]
    result |= answer
    done.result.ClearField("payloads")
    done.result.payloads.extend(await CONVERTER.encode([result]))
    return WorkflowHistory(history.workflow_id, events)


def _policy_call_ended(
    name: str, index: int, end: Callable[[HistoryEvent, int], None]
) -> WorkflowHistory:
    """`name` with the `index`-th policy call's completion replaced by the event `end`
    makes of a blank one (given the call's scheduled event id)."""
    history = load(name)
    events = list(history.events)
    scheduled, completed = policy_events(events, index)
    ended = HistoryEvent(event_id=completed.event_id, event_time=completed.event_time)
    end(ended, scheduled.event_id)
    events[events.index(completed)] = ended
    return WorkflowHistory(history.workflow_id, events)


def with_policy_timeout(name: str, index: int = 0) -> WorkflowHistory:
    """`name` with the `index`-th policy call out of budget while OPA is unreachable."""

    def timed_out(event: HistoryEvent, scheduled: int) -> None:
        attrs = event.activity_task_timed_out_event_attributes
        attrs.scheduled_event_id = scheduled
        attrs.failure.CopyFrom(
            Failure(
                message="activity ScheduleToClose timeout",
                timeout_failure_info=TimeoutFailureInfo(),
                cause=Failure(
                    message="OPA unreachable",
                    application_failure_info=ApplicationFailureInfo(type="OpaUnreachable"),
                ),
            )
        )

    return _policy_call_ended(name, index, timed_out)


def with_policy_failure(name: str, kind: str, index: int = 0) -> WorkflowHistory:
    """`name` with the `index`-th policy call failed for good with an error of `kind`."""

    def failed(event: HistoryEvent, scheduled: int) -> None:
        attrs = event.activity_task_failed_event_attributes
        attrs.scheduled_event_id = scheduled
        attrs.retry_state = RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
        attrs.failure.CopyFrom(
            Failure(
                message=f"{kind} raised", application_failure_info=ApplicationFailureInfo(type=kind)
            )
        )

    return _policy_call_ended(name, index, failed)


async def with_request(name: str, request: Any) -> WorkflowHistory:
    """`name` started with `request` as its input."""
    history = load(name)
    events = list(history.events)
    attrs = events[0].workflow_execution_started_event_attributes
    attrs.input.ClearField("payloads")
    attrs.input.payloads.extend(await CONVERTER.encode([request]))
    return WorkflowHistory(history.workflow_id, events)


def with_raw_input(name: str, data: bytes) -> WorkflowHistory:
    """`name` started with a JSON payload holding `data`, which need not decode."""
    history = load(name)
    events = list(history.events)
    attrs = events[0].workflow_execution_started_event_attributes
    attrs.input.ClearField("payloads")
    attrs.input.payloads.append(Payload(metadata={"encoding": b"json/plain"}, data=data))
    return WorkflowHistory(history.workflow_id, events)


async def pinned_histories() -> dict[str, WorkflowHistory]:
    """The histories tests/audit/exports/ pins, by name, in export order."""
    credential = bob_credential()
    answer = {
        "authenticated_approver": "bob",
        "approval": {
            "approver_roles": ["approver", "sre"],
            "quorum": 2,
            "exclude_requester": True,
            "deadline_seconds": 3600.0,
            "escalation": [{"after_seconds": 600.0, "action": "notify", "roles": ["sre"]}],
        },
        "shadow": {
            "decision_path": "orchestrator/candidate/decision",
            "policy_revision": "2026.12.01-1",
            "outcome": "deny",
            "agrees": False,
            "differences": ["outcome: allow -> deny"],
            "reasons_added": ["Bob may not approve his own change."],
            "reasons_removed": ["Approved by bob."],
            "error": "",
        },
    }
    poisoned = {
        "task": "report \udcff",
        "requester": "mallory",
        "parameters": {"amount": float("nan"), "limit": float("inf"), "fine": 1.5},
        "credential": {"subject": "mallory", "issuer": "mallory", "signature": "SECRET-START"},
    }
    named = {
        name: load(name)
        for name in (
            "governed_lowrisk_v1",
            "governed_denied_v5",
            "governed_approved_v5",
            "governed_rejected_v4",
            "declarative_release_v3",
            "declarative_check_policy_approval_v3",
        )
    }
    return named | {
        "bound_approval": await with_bound_approval("governed_approved_v3", credential, answer),
        "policy_timeout": with_policy_timeout("governed_lowrisk_v3"),
        "policy_error": with_policy_failure("governed_lowrisk_v2", "InvalidPolicyAnswer"),
        "policy_unreachable": with_policy_failure("governed_denied_v3", "OpaUnreachable"),
        "poisoned_request": await with_request("governed_lowrisk_v4", poisoned),
        "undecodable_request": with_raw_input("governed_denied_v4", b'{"task": [1, 2'),
    }
