"""A run's audit record, read from its event history alone (no side store).

An approval refused by the update validator never enters history, by Temporal's design;
one refused by policy does, through its policy decision and the update's failure.

Histories are input from anyone with a Temporal client, and the oldest recorded ones
predate most fields: values are read leniently from the decoded payloads into the policy
contract's types (what a field lacks takes the contract's default), and a history that
cannot be read at all becomes an UnreadableRun (`read_run`), never an error.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from orchestrator.audit.records import (
    AuditApproval,
    AuditDecision,
    AuditRecord,
    AuditStep,
    DecisionOutcome,
    UnreadableRun,
)
from orchestrator.policy.contract import (
    ApprovalRequirement,
    Asked,
    PolicyDecision,
    ShadowOutcome,
    ShadowResult,
)
from orchestrator.vocabulary import POLICY_ACTIVITY, TRACE_ID

# The marker the SDK's core records a local activity's outcome with.
LOCAL_ACTIVITY_MARKER = "core_local_activity"

# Failure types of the policy activity that mean "OPA could not answer" (policy/client.py).
UNAVAILABLE_TYPES = frozenset(
    {"PolicyUnavailable", "OpaUnreachable", "OpaTimeout", "OpaServerError"}
)


async def read_run(
    history: WorkflowHistory, converter: DataConverter
) -> AuditRecord | UnreadableRun:
    """The run's audit record, or what made it unreadable.

    Anyone with a Temporal client can start these workflows with any input, so a history
    may hold payloads that do not decode (a 5,000-deep document exhausts recursion) or
    that the record cannot be built from: whatever fails, it fails for this run only.
    """
    try:
        return await build_audit(history, converter)
    except Exception as error:
        events = list(history.events)
        first = events[0] if events else None
        return UnreadableRun(
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            workflow_type=(
                str(first.workflow_execution_started_event_attributes.workflow_type.name)
                if first
                else ""
            ),
            started_at=_time(first) if first else "",
            error=_error_text(error),
        )


def _error_text(error: BaseException, limit: int = 300) -> str:
    """The error and its root cause: the SDK's "could not be converted" hides why."""
    root = error
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    text = f"{type(error).__name__}: {error}"
    if root is not error:
        text += f" ({type(root).__name__}: {root})"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _time(event: HistoryEvent) -> str:
    moment: datetime = event.event_time.ToDatetime()
    return moment.isoformat(timespec="milliseconds") + "Z"


def _failure(failure: Failure) -> dict[str, str]:
    """The innermost failure's type and message: what a person needs to know."""
    while failure.HasField("cause") and not failure.HasField("application_failure_info"):
        failure = failure.cause
    kind = failure.application_failure_info.type or failure.WhichOneof("failure_info") or "error"
    return {"type": kind, "message": failure.message}


class _Decoder:
    def __init__(self, converter: DataConverter) -> None:
        self.converter = converter

    async def first(self, payloads: Sequence[Payload]) -> Any:
        values = await self.converter.decode(list(payloads)) if payloads else []
        return values[0] if values else None


async def build_audit(history: WorkflowHistory, converter: DataConverter) -> AuditRecord:
    decode = _Decoder(converter)
    events = list(history.events)
    started = events[0].workflow_execution_started_event_attributes
    request = await decode.first(started.input.payloads) or {}
    record = AuditRecord(
        workflow_id=history.workflow_id,
        run_id=history.run_id,
        workflow_type=started.workflow_type.name,
        started_at=_time(events[0]),
        requester=str(request.get("requester", "")) if isinstance(request, dict) else "",
        request=_without_signature(request) if isinstance(request, dict) else {"input": request},
    )
    scheduled: dict[int, tuple[str, Any]] = {}
    approvals: dict[str, AuditApproval] = {}
    for event in events[1:]:
        kind = event.WhichOneof("attributes")
        at = _time(event)
        if kind == "activity_task_scheduled_event_attributes":
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (
                attrs.activity_type.name,
                await decode.first(attrs.input.payloads),
            )
        elif kind == "activity_task_completed_event_attributes":
            attrs_done = event.activity_task_completed_event_attributes
            name, given = scheduled.get(attrs_done.scheduled_event_id, ("?", None))
            result = await decode.first(attrs_done.result.payloads)
            if name == POLICY_ACTIVITY and isinstance(result, dict):
                record.decisions.append(_decision(at, result, given))
            else:
                record.steps.append(AuditStep(at, name, "completed", _summary(result)))
        elif kind == "activity_task_failed_event_attributes":
            attrs_failed = event.activity_task_failed_event_attributes
            name, given = scheduled.get(attrs_failed.scheduled_event_id, ("?", None))
            failure = _failure(attrs_failed.failure)
            detail = f"{failure['type']}: {failure['message']}"
            if name == POLICY_ACTIVITY:
                # History keeps only an activity's last attempt: a failure here means the
                # retry budget is spent (or the error could not heal), so the gate got no answer.
                unavailable = (
                    failure["type"] in UNAVAILABLE_TYPES
                    or attrs_failed.retry_state != RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE
                )
                outcome: DecisionOutcome = "unavailable" if unavailable else "error"
                record.decisions.append(_no_decision(at, given, outcome, detail))
            else:
                record.steps.append(AuditStep(at, name, "failed", detail))
        elif kind == "activity_task_timed_out_event_attributes":
            attrs_timeout = event.activity_task_timed_out_event_attributes
            name, given = scheduled.get(attrs_timeout.scheduled_event_id, ("?", None))
            message = attrs_timeout.failure.message
            if name == POLICY_ACTIVITY:
                # The policy budget (schedule-to-close) ran out; its cause, when there is
                # one, is the last attempt's error (OPA unreachable, slow, failing).
                last = _failure(attrs_timeout.failure)
                if attrs_timeout.failure.HasField("cause"):
                    message = f"{message} ({last['type']}: {last['message']})"
                record.decisions.append(_no_decision(at, given, "unavailable", message))
            else:
                record.steps.append(AuditStep(at, name, "timed out", message))
        elif kind == "marker_recorded_event_attributes":
            local = await _local_decision(event, decode, at)
            if local is not None:
                record.decisions.append(local)
        elif kind == "workflow_execution_update_accepted_event_attributes":
            accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
            argument = _dict(await decode.first(accepted.input.args.payloads))
            credential = _dict(argument.get("credential"))
            approval = AuditApproval(
                at=at,
                update=accepted.input.name,
                # Bound approvals name the approver and the digest in the signed credential.
                approver=str(argument.get("approver") or credential.get("subject") or ""),
                comment=str(argument.get("comment", "")),
                digest=str(argument.get("digest") or credential.get("digest") or ""),
                credential_subject=str(credential.get("subject") or ""),
                credential_issuer=str(credential.get("issuer") or ""),
            )
            approvals[accepted.meta.update_id] = approval
            record.approvals.append(approval)
        elif kind == "workflow_execution_update_completed_event_attributes":
            completed = event.workflow_execution_update_completed_event_attributes
            pending = approvals.get(completed.meta.update_id)
            if pending is not None:
                if completed.outcome.HasField("failure"):
                    pending.accepted = False
                    pending.outcome = _failure(completed.outcome.failure)["message"]
                else:
                    pending.accepted = True
                    pending.outcome = "accepted"
        elif kind == "upsert_workflow_search_attributes_event_attributes":
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            if TRACE_ID.name in fields.indexed_fields:
                record.trace_id = str(await decode.first([fields.indexed_fields[TRACE_ID.name]]))
        elif kind == "workflow_execution_completed_event_attributes":
            record.status, record.closed_at = "completed", at
            record.result = await decode.first(
                event.workflow_execution_completed_event_attributes.result.payloads
            )
        elif kind == "workflow_execution_failed_event_attributes":
            record.status, record.closed_at = "failed", at
            record.failure = _failure(event.workflow_execution_failed_event_attributes.failure)
        elif kind == "workflow_execution_terminated_event_attributes":
            record.status, record.closed_at = "terminated", at
            terminated = event.workflow_execution_terminated_event_attributes
            record.failure = {"type": "Terminated", "message": terminated.reason}
        elif kind == "workflow_execution_timed_out_event_attributes":
            record.status, record.closed_at = "timed out", at
        elif kind == "workflow_execution_canceled_event_attributes":
            record.status, record.closed_at = "canceled", at
        elif kind == "workflow_execution_continued_as_new_event_attributes":
            record.status, record.closed_at = "continued as new", at
    return record


async def _local_decision(event: HistoryEvent, decode: _Decoder, at: str) -> AuditDecision | None:
    """The policy decision a local activity's marker holds (decisions are local activities
    since the gate's LOCAL_DECISIONS patch), else None.

    A failed one is left out: the gate then asks again through the regular activity,
    which records the answer or the failure as before. Other local activities (checking
    a definition) were never audit steps, and exports made before must stay the same.
    """
    marker = event.marker_recorded_event_attributes
    if marker.marker_name != LOCAL_ACTIVITY_MARKER or marker.HasField("failure"):
        return None
    if "data" not in marker.details or "result" not in marker.details:
        return None
    # Core writes this part itself, as plain JSON, whatever data converter is in use.
    data = marker.details["data"].payloads
    name = _dict(json.loads(data[0].data)).get("activity_type") if data else None
    if name != POLICY_ACTIVITY:
        return None
    result = await decode.first(marker.details["result"].payloads)
    return _decision(at, result, None) if isinstance(result, dict) else None


def _without_signature(request: dict[str, Any]) -> dict[str, Any]:
    """The request with its start credential's signature left out.

    Subject, issuer, nonce and target say who vouched for the start; the signature is
    what the worker checks. A schedule's credential stands for every run of the
    schedule, so a signature copied out of an export could start more runs.
    """
    credential = request.get("credential")
    if not isinstance(credential, dict) or "signature" not in credential:
        return request
    return {**request, "credential": {k: v for k, v in credential.items() if k != "signature"}}


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value or []]


def _answer(result: dict[str, Any]) -> PolicyDecision:
    """The policy activity's result (a decoded dict: histories carry no class) as the
    contract's PolicyDecision, read as leniently as the audit always has."""
    requirement = _dict(result.get("approval"))
    shadow = _dict(result.get("shadow"))
    return PolicyDecision(
        action=str(result.get("action", "")),
        allow=bool(result.get("allow")),
        reasons=[str(reason) for reason in result.get("reasons", [])],
        require_approval=bool(result.get("require_approval")),
        risk=str(result.get("risk", "")),
        decision_id=str(result.get("decision_id", "")),
        policy_revision=str(result.get("policy_revision", "")),
        opa_version=str(result.get("opa_version", "")),
        decision_path=str(result.get("decision_path", "")),
        approval=ApprovalRequirement(
            approver_roles=_strings(requirement.get("approver_roles")),
            quorum=int(requirement.get("quorum") or 1),
            exclude_requester=bool(requirement.get("exclude_requester", True)),
            # As recorded (an int stays an int, so the exported entry hashes the same).
            deadline_seconds=requirement.get(
                "deadline_seconds", ApprovalRequirement.deadline_seconds
            ),
        )
        if requirement
        else None,
        shadow=ShadowResult(
            decision_path=str(shadow.get("decision_path", "")),
            policy_revision=str(shadow.get("policy_revision", "")),
            # As recorded: a worker only ever wrote a ShadowOutcome here.
            outcome=cast(ShadowOutcome, str(shadow.get("outcome", ""))),
            agrees=bool(shadow.get("agrees")),
            differences=_strings(shadow.get("differences")),
            reasons_added=_strings(shadow.get("reasons_added")),
            reasons_removed=_strings(shadow.get("reasons_removed")),
            error=str(shadow.get("error") or ""),
        )
        if shadow
        else None,
        authenticated_approver=str(result.get("authenticated_approver") or ""),
        requester_issuer=str(result.get("requester_issuer") or ""),
        unavailable=bool(result.get("unavailable")),
        asked=Asked.of_recorded(result["asked"]) if isinstance(result.get("asked"), dict) else None,
    )


def _decision(at: str, result: dict[str, Any], given: Any) -> AuditDecision:
    answer = _answer(result)
    # What was asked: from the input the activity was scheduled with, or (local
    # activities, whose marker keeps no input) from the copy the decision carries.
    asked = answer.asked or Asked.of_document(given)
    return AuditDecision(
        at=at,
        subject=asked.subject,
        outcome=answer.outcome,
        answer=answer,
        approval_digest=asked.approval_digest,
        # Subject, issuer and nonce identify the credential; the signature stays out.
        credential_subject=asked.credential_subject,
        credential_issuer=asked.credential_issuer,
        credential_nonce=asked.credential_nonce,
    )


def _no_decision(at: str, given: Any, outcome: DecisionOutcome, detail: str) -> AuditDecision:
    """The gate asked and got no answer: recorded as a decision so the gap shows, failing closed."""
    answer = PolicyDecision.not_from_opa(
        str(_dict(given).get("action", "")),
        allow=False,
        reasons=[detail] if detail else [],
        risk="",
        unavailable=outcome == "unavailable",
    )
    asked = Asked.of_document(given)
    return AuditDecision(
        at=at,
        subject=asked.subject,
        outcome=outcome,
        answer=answer,
        approval_digest=asked.approval_digest,
    )


def _summary(result: Any, limit: int = 160) -> str:
    if isinstance(result, dict) and "summary" in result:
        text = str(result["summary"])
    elif result is None:
        text = ""
    else:
        text = str(result)
    return text if len(text) <= limit else text[: limit - 3] + "..."
