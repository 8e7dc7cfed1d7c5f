"""The audit record of a workflow, rebuilt from its event history alone (no side store).

Who requested what and when, every policy decision (with OPA's decision id and the policy
revision, to join OPA's decision log), every approval attempt that reached the workflow
(accepted or refused, and why), each step's outcome, the trace id and the final result.
An approval refused by the update validator never enters history, by Temporal's design;
one refused by policy does, through its policy decision and the update's failure.

Fields added after the first recorded histories default to empty, so every old history
still builds a record; orchestrator/audit/chain.py turns records into a verifiable stream.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from orchestrator.policy.contract import POLICY_ACTIVITY

# Failure types of the policy activity that mean "OPA could not answer" (policy/client.py).
UNAVAILABLE_TYPES = frozenset(
    {"PolicyUnavailable", "OpaUnreachable", "OpaTimeout", "OpaServerError"}
)


@dataclass
class AuditRequirement:
    """Who may approve and how many, as policy decided (PolicyDecision.approval)."""

    approver_roles: list[str]
    quorum: int = 1
    exclude_requester: bool = True
    deadline_seconds: float | None = None


@dataclass
class AuditShadow:
    """What the candidate policy would have said: evidence for a policy change."""

    agrees: bool
    outcome: str
    policy_revision: str
    differences: list[str] = field(default_factory=list)
    error: str = ""
    # The reasons only one side gave: which rules would change the answer.
    reasons_added: list[str] = field(default_factory=list)
    reasons_removed: list[str] = field(default_factory=list)


@dataclass
class AuditDecision:
    at: str
    action: str
    allow: bool
    reasons: list[str]
    require_approval: bool
    risk: str
    decision_id: str
    policy_revision: str
    opa_version: str
    subject: str  # the approver, the step path, or the workflow itself
    # allow | deny | approval_required | unavailable (OPA never answered) | error
    outcome: str = ""
    # approval.decide: the digest approved, and who the credential proved (never its signature).
    approval_digest: str = ""
    authenticated_approver: str = ""
    credential_subject: str = ""
    credential_issuer: str = ""
    credential_nonce: str = ""
    requirement: AuditRequirement | None = None
    shadow: AuditShadow | None = None


@dataclass
class AuditApproval:
    at: str
    update: str  # approve | reject
    approver: str
    comment: str
    accepted: bool | None = None  # None while the update is still running
    outcome: str = ""
    # What the caller said it approves; the policy decision says whether it was proven.
    digest: str = ""
    credential_subject: str = ""
    credential_issuer: str = ""


@dataclass
class AuditStep:
    at: str
    activity: str
    outcome: str  # completed | failed | timed out | canceled | scheduled
    detail: str = ""


@dataclass
class AuditRecord:
    workflow_id: str
    run_id: str
    workflow_type: str
    started_at: str
    requester: str
    request: dict[str, Any]
    decisions: list[AuditDecision] = field(default_factory=list)
    approvals: list[AuditApproval] = field(default_factory=list)
    steps: list[AuditStep] = field(default_factory=list)
    trace_id: str | None = None
    status: str = "running"
    closed_at: str | None = None
    result: Any = None
    failure: dict[str, str] | None = None


@dataclass
class UnreadableRun:
    """A run whose history could not be read into a record (Temporal refused it, or its
    payloads do not decode): exported as such, so no run is left out silently."""

    workflow_id: str
    run_id: str
    workflow_type: str
    started_at: str
    error: str


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
                outcome = "unavailable" if unavailable else "error"
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
        elif kind == "workflow_execution_update_accepted_event_attributes":
            accepted = event.workflow_execution_update_accepted_event_attributes.accepted_request
            argument = await decode.first(accepted.input.args.payloads)
            argument = argument if isinstance(argument, dict) else {}
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
            if "TraceId" in fields.indexed_fields:
                record.trace_id = str(await decode.first([fields.indexed_fields["TraceId"]]))
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


def _subject(given: Any) -> str:
    given = _dict(given)
    if isinstance(given.get("approval"), dict):
        return f"approver {given['approval'].get('approver', '?')}"
    if isinstance(given.get("step"), dict):
        return f"step {given['step'].get('path', '?')} ({given['step'].get('activity', '?')})"
    return "workflow"


def _outcome(result: dict[str, Any]) -> str:
    """PolicyDecision.outcome, from the decoded dict (histories carry no class)."""
    if result.get("unavailable"):
        return "unavailable"
    if not result.get("allow"):
        return "deny"
    return "approval_required" if result.get("require_approval") else "allow"


def _decision(at: str, result: dict[str, Any], given: Any) -> AuditDecision:
    approval = _dict(_dict(given).get("approval"))
    credential = _dict(approval.get("credential"))
    requirement = _dict(result.get("approval"))
    shadow = _dict(result.get("shadow"))
    return AuditDecision(
        at=at,
        action=str(result.get("action", "")),
        allow=bool(result.get("allow")),
        reasons=[str(r) for r in result.get("reasons", [])],
        require_approval=bool(result.get("require_approval")),
        risk=str(result.get("risk", "")),
        decision_id=str(result.get("decision_id", "")),
        policy_revision=str(result.get("policy_revision", "")),
        opa_version=str(result.get("opa_version", "")),
        subject=_subject(given),
        outcome=_outcome(result),
        approval_digest=str(approval.get("digest") or ""),
        authenticated_approver=str(result.get("authenticated_approver") or ""),
        # Subject, issuer and nonce identify the credential; the signature stays out.
        credential_subject=str(credential.get("subject") or ""),
        credential_issuer=str(credential.get("issuer") or ""),
        credential_nonce=str(credential.get("nonce") or ""),
        requirement=AuditRequirement(
            approver_roles=[str(role) for role in requirement.get("approver_roles") or []],
            quorum=int(requirement.get("quorum") or 1),
            exclude_requester=bool(requirement.get("exclude_requester", True)),
            deadline_seconds=requirement.get("deadline_seconds"),
        )
        if requirement
        else None,
        shadow=AuditShadow(
            agrees=bool(shadow.get("agrees")),
            outcome=str(shadow.get("outcome", "")),
            policy_revision=str(shadow.get("policy_revision", "")),
            differences=[str(d) for d in shadow.get("differences") or []],
            error=str(shadow.get("error") or ""),
            reasons_added=[str(r) for r in shadow.get("reasons_added") or []],
            reasons_removed=[str(r) for r in shadow.get("reasons_removed") or []],
        )
        if shadow
        else None,
    )


def _no_decision(at: str, given: Any, outcome: str, detail: str) -> AuditDecision:
    """The gate asked and got no answer: recorded as a decision so the gap shows, failing closed."""
    approval = _dict(_dict(given).get("approval"))
    return AuditDecision(
        at=at,
        action=str(_dict(given).get("action", "")),
        allow=False,
        reasons=[detail] if detail else [],
        require_approval=False,
        risk="",
        decision_id="",
        policy_revision="",
        opa_version="",
        subject=_subject(given),
        outcome=outcome,
        approval_digest=str(approval.get("digest") or ""),
    )


def _summary(result: Any, limit: int = 160) -> str:
    if isinstance(result, dict) and "summary" in result:
        text = str(result["summary"])
    elif result is None:
        text = ""
    else:
        text = str(result)
    return text if len(text) <= limit else text[: limit - 3] + "..."
