"""The policy contract with OPA (see policies/README.md), as plain dataclasses.

Pure data with no I/O, so workflow code imports it freely inside the sandbox. Adding
an optional field keeps old workflow histories decodable.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The activity name workflows call and the worker serves.
POLICY_ACTIVITY = "policy.decide"

WORKFLOW_START = "workflow.start"
STEP_EXECUTE = "step.execute"
APPROVAL_DECIDE = "approval.decide"


@dataclass(frozen=True)
class WorkflowRef:
    type: str
    id: str
    run_id: str
    definition: str | None = None


@dataclass(frozen=True)
class Requester:
    id: str
    # What the caller asserted; policy grants on its own directory, never on these.
    roles: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TaskSpec:
    description: str
    kind: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StepSpec:
    activity: str
    path: str
    args: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ApprovalSpec:
    approver: str
    decision: str  # "approve" | "reject"
    comment: str = ""


@dataclass(frozen=True)
class PolicyInput:
    action: str
    workflow: WorkflowRef
    requester: Requester
    task: TaskSpec | None = None
    step: StepSpec | None = None
    approval: ApprovalSpec | None = None

    def to_opa(self) -> dict[str, Any]:
        """The `input` document, without the sections this action does not use."""
        return {key: value for key, value in asdict(self).items() if value is not None}


@dataclass(frozen=True)
class PolicyDecision:
    """OPA's answer plus the provenance an auditor needs to join OPA's decision log."""

    action: str
    allow: bool
    reasons: list[str]
    require_approval: bool
    risk: str
    decision_id: str
    policy_revision: str
    opa_version: str
    decision_path: str
    evaluated_ms: float = 0.0

    @property
    def outcome(self) -> str:
        if not self.allow:
            return "deny"
        return "approval_required" if self.require_approval else "allow"
