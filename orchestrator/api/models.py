"""Request and response bodies of the HTTP API; the OpenAPI schema is generated from these."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

from orchestrator.governed.model import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    MAX_APPROVAL_TIMEOUT_SECONDS,
    MAX_PARAMETERS,
    MAX_TASK_LENGTH,
)

MAX_COMMENT_LENGTH = 2000
MAX_VALUE_LENGTH = 1000

# The control characters a governed task and its parameters may not hold (C0 except tab,
# newline and carriage return, DEL, C1: orchestrator/values.py), as a JSON Schema
# pattern, so the published schema says what the workflow's own validation refuses.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
NO_CONTROL_PATTERN = rf"^[^{_CONTROL}]*$"
# ... and at least one character that is not white space.
TASK_PATTERN = rf"^[^{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"

ParameterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]{0,63}$")]
ParameterValue = (
    Annotated[str, StringConstraints(max_length=MAX_VALUE_LENGTH, pattern=NO_CONTROL_PATTERN)]
    | StrictBool
    | StrictInt
    # Strict: a long string of digits must not slip past max_length as a float.
    | Annotated[StrictFloat, Field(allow_inf_nan=False)]
)
Parameters = Annotated[
    dict[ParameterName, ParameterValue],
    Field(max_length=MAX_PARAMETERS, json_schema_extra={"additionalProperties": False}),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StartWorkflow(_Body):
    """A governed task; the requester is the caller (the token's identity)."""

    task: str = Field(
        min_length=1,
        max_length=MAX_TASK_LENGTH,
        pattern=TASK_PATTERN,
        description="What the agent should do; policy reads it.",
        examples=["Deploy the billing service to production"],
    )
    parameters: Parameters = Field(
        default_factory=dict,
        description="Task parameters: name -> string, number or boolean.",
        examples=[{"environment": "production"}],
    )
    kind: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        description="Task kind, e.g. deploy or report (policy uses it).",
    )
    approval_timeout_seconds: float = Field(
        default=DEFAULT_APPROVAL_TIMEOUT_SECONDS,
        ge=1,
        le=MAX_APPROVAL_TIMEOUT_SECONDS,
        allow_inf_nan=False,
        description="How long an approval may wait.",
    )


class EventBody(RootModel[Parameters]):
    """The event's fields (flat: name -> string, number or boolean)."""


class Decision(_Body):
    comment: str = Field(default="", max_length=MAX_COMMENT_LENGTH, description="Why.")
    step: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Declarative workflows waiting for several approvals: the step's path "
        "(e.g. execution.blocks[2]); omit it when one approval is pending. Governed "
        "workflows have no steps: a step there is refused (422).",
    )


class DefinitionRun(_Body):
    """A declarative workflow definition, inline (the format of examples/definitions/README.md)."""

    definition: dict[str, Any] = Field(
        description="The definition document, as JSON.",
        examples=[
            {
                "workflowName": "nightly-report",
                "execution": {
                    "type": "sequential",
                    "blocks": [
                        {"type": "activity", "activityName": "InitializeWorkflow"},
                        {"type": "activity", "activityName": "GenerateReport"},
                    ],
                },
            }
        ],
    )


class Started(BaseModel):
    workflow_id: str
    run_id: str | None = Field(description="First run; null when unknown for a duplicate.")
    duplicate: bool = Field(
        description="True when the Idempotency-Key had already started this workflow."
    )
    trace_id: str | None = Field(description="The trace the start belongs to (hex).")
    status_url: str
    temporal_ui: str


class Receipt(BaseModel):
    workflow_id: str
    decision: str
    approver: str
    decision_id: str
    reasons: list[str]
    # Distinct approvals so far and how many the policy's requirement needs.
    approvals: int = 1
    quorum: int = 1


class WorkflowStatus(BaseModel):
    workflow_id: str
    run_id: str | None
    workflow_type: str
    execution_status: str
    started_at: str | None
    closed_at: str | None
    requester: str | None
    policy_decision: str | None
    approval_status: str | None
    trace_id: str | None
    detail: dict[str, Any] | None = Field(
        description="The workflow's own `status` query (stage, decision, approval attempts); "
        "null when it could not be asked (no worker, not a governed workflow)."
    )
    temporal_ui: str


class NextEscalation(BaseModel):
    action: str = Field(description="notify, widen or reject")
    roles: list[str]
    at: str = Field(description="When it is due (ISO 8601).")


class WaitingApproval(BaseModel):
    """One approval a run waits for, and what the caller may do about it."""

    step: str | None = Field(description="The step path (declarative runs); null otherwise.")
    subject: str = Field(description="The task, or the step's description.")
    requester: str
    roles: list[str] = Field(description="Who may approve: one of these roles.")
    quorum: int = Field(description="How many distinct approvers it needs.")
    approved_by: list[str]
    progress: str = Field(description='e.g. "1 of 2 approvals"')
    exclude_requester: bool = Field(description="Separation of duties: not the requester.")
    deadline: str | None
    next_escalation: NextEscalation | None
    reasons: list[str] = Field(description="Why policy asks for this approval.")
    parameters: dict[str, Any]
    digest: str = Field(description="What an approval is bound to.")
    policy_revision: str
    you_may: list[str] = Field(description="What the caller may decide: approve, reject.")
    refusal: list[str] = Field(description="Why not, in the policy's words.")


class PendingApproval(BaseModel):
    workflow_id: str
    workflow_type: str
    requester: str | None
    started_at: str
    trace_id: str | None
    status_url: str
    approvals: list[WaitingApproval] = Field(default_factory=list)
    unanswered: str | None = Field(
        default=None, description="Why what it waits for cannot be told now, if so."
    )


class PendingApprovals(BaseModel):
    items: list[PendingApproval]


class Health(BaseModel):
    status: str
    temporal: str | None = None


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable, machine-readable: unauthorized, validation_error, ...")
    message: str
    field: str | None = Field(default=None, description="The input at fault, e.g. body.task.")
    reasons: list[str] | None = Field(default=None, description="The policy's reasons.")
    decision_id: str | None = Field(default=None, description="OPA's decision id.")
    workflow_id: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail
