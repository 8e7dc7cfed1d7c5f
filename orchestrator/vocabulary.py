"""The names the product shares with Temporal, its UI and its operators, declared once.

Workflow, update, query and activity names (recorded in every history: renaming one
breaks the replay of running workflows), search attributes (workflows upsert them, the
CLI, API and schedules read them, the dev stack registers them), the error type ->
outcome map every starter reports with, and the trace id as every log line and answer
prints it. Pure and sandbox-safe.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

# Workflow types, and what their runs answer to. Never rename: histories record them.
GOVERNED_WORKFLOW = "GovernedWorkflow"
DECLARATIVE_WORKFLOW = "DeclarativeWorkflow"
AUDIT_CHECKPOINT_WORKFLOW = "AuditCheckpointWorkflow"
APPROVE_UPDATE = "approve"
REJECT_UPDATE = "reject"
STATUS_QUERY = "status"

# Activity types.
POLICY_ACTIVITY = "policy.decide"
ESCALATE_ACTIVITY = "approval.escalate"
APPROVAL_REQUESTED_ACTIVITY = "approval.requested"
VALIDATE_ACTIVITY = "declarative.validate"
AGENT_EXECUTE_ACTIVITY = "agent.execute"
AGENT_CLEANUP_ACTIVITY = "agent.cleanup"
AUDIT_CHECKPOINT_ACTIVITY = "audit.checkpoint"

# Stored in clear by Temporal: ids and outcomes only, never task data.
REQUESTER = SearchAttributeKey.for_keyword("Requester")
POLICY_DECISION = SearchAttributeKey.for_keyword("PolicyDecision")
APPROVAL_STATUS = SearchAttributeKey.for_keyword("ApprovalStatus")
TRACE_ID = SearchAttributeKey.for_keyword("TraceId")
WORKFLOW_DEFINITION = SearchAttributeKey.for_keyword("WorkflowDefinition")

# What a server must register (name -> indexed type) before these workflows run.
SEARCH_ATTRIBUTES: dict[str, str] = {
    key.name: "Keyword"
    for key in (APPROVAL_STATUS, POLICY_DECISION, REQUESTER, TRACE_ID, WORKFLOW_DEFINITION)
}

# A failed run's ApplicationError type, as the outcome a person reads; any other is
# "failed". Governed and declarative runs share it.
OUTCOME_BY_ERROR_TYPE: dict[str, str] = {
    "PolicyDenied": "denied",
    "PolicyChangedSinceApproval": "denied",
    "ApprovalRejected": "rejected",
    "ApprovalExpired": "expired",
    "InvalidRequest": "invalid",
    "InvalidDefinition": "invalid",
}


def trace_id_text(trace_id: int) -> str:
    """A W3C trace id as Jaeger, logs and the TraceId attribute spell it: 32 hex digits."""
    return format(trace_id, "032x")
