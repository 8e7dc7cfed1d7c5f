"""The audit record of a workflow run, and the JSON document every output carries of it.

Who requested what and when, every policy decision (with OPA's decision id and the policy
revision, to join OPA's decision log), every approval attempt that reached the workflow
(accepted or refused, and why), each step's outcome, the trace id and the final result.
orchestrator/audit/history.py builds records from event histories; the policy's answers
are held in the policy contract's own types (PolicyDecision, ApprovalRequirement,
ShadowResult), with only what the audit adds around them declared here.

The documents (`record_document`, `decision_document`) fix the shape `audit ID --json`
prints and every exported entry is hashed over: spelled out field by field, so the
contract can gain fields without changing an export or the hash of an entry.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from orchestrator.policy.contract import (
    ApprovalRequirement,
    PolicyDecision,
    PolicyOutcome,
    ShadowResult,
)

# PolicyDecision.outcome, or error: the policy activity failed for good, so OPA never
# answered (unavailable, when the policy service stayed out of reach, is the contract's).
DecisionOutcome = Literal[PolicyOutcome, "error"]
StepOutcome = Literal["completed", "failed", "timed out"]
RunStatus = Literal[
    "running", "completed", "failed", "terminated", "timed out", "canceled", "continued as new"
]


@dataclass
class AuditDecision:
    """One policy decision of a run: OPA's answer, when and about whom, and the credential
    an approval presented (who and which key, never its signature)."""

    at: str
    subject: str  # the approver, the step path, or the workflow itself
    outcome: DecisionOutcome
    # What the workflow got; with no answer, a closed stand-in whose reasons say why.
    answer: PolicyDecision
    # approval.decide: the digest approved, and who the credential names.
    approval_digest: str = ""
    credential_subject: str = ""
    credential_issuer: str = ""
    credential_nonce: str = ""


@dataclass
class AuditApproval:
    """One `approve`/`reject` update that reached the workflow, and how it ended."""

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
    outcome: StepOutcome
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
    status: RunStatus = "running"
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


def decision_document(decision: AuditDecision) -> dict[str, Any]:
    """The decision as JSON values, in the layout audit records have always had."""
    answer = decision.answer
    return {
        "at": decision.at,
        "action": answer.action,
        "allow": answer.allow,
        "reasons": list(answer.reasons),
        "require_approval": answer.require_approval,
        "risk": answer.risk,
        "decision_id": answer.decision_id,
        "policy_revision": answer.policy_revision,
        "opa_version": answer.opa_version,
        "subject": decision.subject,
        "outcome": decision.outcome,
        "approval_digest": decision.approval_digest,
        "authenticated_approver": answer.authenticated_approver,
        "credential_subject": decision.credential_subject,
        "credential_issuer": decision.credential_issuer,
        "credential_nonce": decision.credential_nonce,
        "requirement": _requirement_document(answer.approval) if answer.approval else None,
        "shadow": _shadow_document(answer.shadow) if answer.shadow else None,
    }


def _requirement_document(requirement: ApprovalRequirement) -> dict[str, Any]:
    # The escalation chain is the workflow's business, not the audit's: it was never exported.
    return {
        "approver_roles": list(requirement.approver_roles),
        "quorum": requirement.quorum,
        "exclude_requester": requirement.exclude_requester,
        "deadline_seconds": requirement.deadline_seconds,
    }


def _shadow_document(shadow: ShadowResult) -> dict[str, Any]:
    return {
        "agrees": shadow.agrees,
        "outcome": shadow.outcome,
        "policy_revision": shadow.policy_revision,
        "differences": list(shadow.differences),
        "error": shadow.error,
        "reasons_added": list(shadow.reasons_added),
        "reasons_removed": list(shadow.reasons_removed),
    }


def record_document(record: AuditRecord) -> dict[str, Any]:
    """The whole record as `audit ID --json` prints it (before plain() makes it JSON-safe).

    The request and the result are passed as decoded, not copied: they come from history
    and may be nested deeper than a recursive copy survives (plain() stops at MAX_DEPTH).
    """
    return {
        "workflow_id": record.workflow_id,
        "run_id": record.run_id,
        "workflow_type": record.workflow_type,
        "started_at": record.started_at,
        "requester": record.requester,
        "request": record.request,
        "decisions": [decision_document(decision) for decision in record.decisions],
        "approvals": [asdict(approval) for approval in record.approvals],
        "steps": [asdict(step) for step in record.steps],
        "trace_id": record.trace_id,
        "status": record.status,
        "closed_at": record.closed_at,
        "result": record.result,
        "failure": dict(record.failure) if record.failure is not None else None,
    }
