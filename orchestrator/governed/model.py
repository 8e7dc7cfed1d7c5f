"""Inputs and outputs of the governed workflow and its activities."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from orchestrator import values
from orchestrator.approvals import digest
from orchestrator.approvals.model import (
    ApprovalAttempt,
    ApprovalStatus,
    EscalationRecord,
    PendingApprovalView,
)
from orchestrator.policy.contract import Credential, PolicyDecision

DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 3600
MAX_APPROVAL_TIMEOUT_SECONDS = 30 * 24 * 3600
MIN_POLICY_BUDGET_SECONDS = 1
MAX_POLICY_BUDGET_SECONDS = 24 * 3600
MAX_TASK_LENGTH = 2000
MAX_PARAMETERS = 50
REQUESTER_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,63}$")
PARAMETER_NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")

# Where a governed run is (the `status` query's `stage`), in the order a run passes them;
# the last five end it.
Stage = Literal[
    "validating",
    "policy_check",
    "awaiting_approval",
    "running_agent",
    "cleanup",
    "completed",
    "denied",
    "rejected",
    "expired",
    "failed",
]


@dataclass(frozen=True)
class GovernedRequest:
    task: str
    requester: str
    parameters: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None
    approval_timeout_seconds: float = DEFAULT_APPROVAL_TIMEOUT_SECONDS
    # When OPA stays unavailable past the budget: wait (closed) or fail. Never open.
    on_policy_unavailable: str = "wait"
    policy_budget_seconds: float = 120.0
    # Who asks, proven: signed by the CLI's identity or the API (orchestrator/starts.py).
    # Policy refuses work whose requester no credential proves.
    credential: Credential | None = None

    def start_digest(self) -> str:
        """The digest a start credential signs: this task, asked by this requester."""
        # float(): the signer may hold 86400 where the worker decodes 86400.0, and the
        # canonical JSON of the two differs.
        options = {
            "approval_timeout_seconds": float(self.approval_timeout_seconds),
            "on_policy_unavailable": self.on_policy_unavailable,
            "policy_budget_seconds": float(self.policy_budget_seconds),
        }
        return digest.digest(
            digest.governed_start_subject(
                self.requester, self.task, self.kind, dict(self.parameters), options
            )
        )

    def problems(self) -> list[str]:
        """Everything wrong with this request, each naming the field; empty when valid."""
        found = []
        if not isinstance(self.task, str) or not self.task.strip():
            found.append("task: must be a non-empty description of the work")
        elif len(self.task) > MAX_TASK_LENGTH:
            found.append(f"task: {len(self.task)} characters, at most {MAX_TASK_LENGTH}")
        elif problem := values.text_problem(self.task):
            found.append(f"task: {problem}")
        if not isinstance(self.requester, str) or not REQUESTER_PATTERN.match(self.requester):
            found.append(
                "requester: must be a user id like 'alice' (lower case letters, digits, . _ @ -)"
            )
        if not isinstance(self.parameters, dict):
            found.append("parameters: must be an object of name -> value")
        else:
            if len(self.parameters) > MAX_PARAMETERS:
                found.append(f"parameters: {len(self.parameters)} given, at most {MAX_PARAMETERS}")
            for name, value in self.parameters.items():
                if not isinstance(name, str) or not PARAMETER_NAME_PATTERN.match(name):
                    # ascii(): a name that is not valid text must not break this message.
                    found.append(f"parameters.{name!a}: not a valid parameter name")
                elif not isinstance(value, str | int | float | bool) or value is None:
                    found.append(f"parameters.{name}: must be a string, number or boolean")
                elif isinstance(value, float) and not math.isfinite(value):
                    found.append(f"parameters.{name}: {value!r} is not a finite number")
                elif isinstance(value, str) and (problem := values.text_problem(value)):
                    found.append(f"parameters.{name}: {problem}")
        if self.kind is not None and (not isinstance(self.kind, str) or not self.kind.strip()):
            found.append("kind: must be a non-empty string when given")
        elif isinstance(self.kind, str) and (problem := values.text_problem(self.kind)):
            found.append(f"kind: {problem}")
        timeout = self.approval_timeout_seconds
        if (
            not isinstance(timeout, int | float)
            or isinstance(timeout, bool)
            or not 1 <= timeout <= MAX_APPROVAL_TIMEOUT_SECONDS
        ):
            found.append(
                f"approval_timeout_seconds: must be between 1 and {MAX_APPROVAL_TIMEOUT_SECONDS}"
            )
        found.extend(
            unavailability_problems(self.on_policy_unavailable, self.policy_budget_seconds)
        )
        return found


def unavailability_problems(mode: object, budget: object, where: str = "") -> list[str]:
    """What is wrong with a policy-unavailable setting; shared by requests and definitions."""
    found = []
    if mode not in ("wait", "fail"):
        hint = (
            "fail-open is not offered: policy unavailable never lets work through"
            if (isinstance(mode, str) and "open" in mode.lower()) or mode == "allow"
            else "expected wait or fail"
        )
        found.append(f"{where}on_policy_unavailable: {mode!r}: {hint}; choose wait or fail")
    if (
        not isinstance(budget, int | float)
        or isinstance(budget, bool)
        or not MIN_POLICY_BUDGET_SECONDS <= budget <= MAX_POLICY_BUDGET_SECONDS
    ):
        found.append(
            f"{where}policy_budget_seconds: must be between {MIN_POLICY_BUDGET_SECONDS:g} "
            f"and {MAX_POLICY_BUDGET_SECONDS:g}"
        )
    return found


@dataclass(frozen=True)
class AgentTaskInput:
    idempotency_key: str
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None


@dataclass(frozen=True)
class AgentTaskResult:
    idempotency_key: str
    summary: str
    steps_completed: int
    work_order: str  # where the agent's side effect landed


@dataclass(frozen=True)
class GovernedResult:
    workflow_id: str
    outcome: str  # completed
    requester: str
    decisions: list[PolicyDecision]
    approval: ApprovalAttempt | None
    agent: AgentTaskResult


@dataclass(frozen=True)
class GovernedStatus:
    """What the `status` query returns: where the workflow is and why."""

    stage: Stage
    requester: str
    approval_status: ApprovalStatus
    decision: PolicyDecision | None
    reasons: list[str]
    approval_deadline: str | None
    approver: str | None
    approval_attempts: list[ApprovalAttempt]
    trace_id: str | None = None
    # While an approval is pending: what to sign, who may approve, how many so far.
    pending_approval: PendingApprovalView | None = None
    escalations: list[EscalationRecord] = field(default_factory=list)
    decisions: list[PolicyDecision] = field(default_factory=list)
