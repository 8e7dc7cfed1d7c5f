"""The honest baseline: the governed workflow with the gate removed.

Everything GovernedWorkflow does when policy allows without approval, minus governance:
the same input, the same search attributes in one upsert, the agent task and its cleanup
as the same activities with the same options, the same result. No policy activity, no
approval path, no re-check. `make bench` puts every governance figure against this.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from orchestrator.governed.model import AgentTaskInput, AgentTaskResult, GovernedRequest
    from orchestrator.governed.workflow import AGENT_RETRY
    from orchestrator.vocabulary import (
        AGENT_CLEANUP_ACTIVITY,
        AGENT_EXECUTE_ACTIVITY,
        APPROVAL_STATUS,
        POLICY_DECISION,
        REQUESTER,
    )

UNGOVERNED_WORKFLOW = "UngovernedWorkflow"


@workflow.defn(name=UNGOVERNED_WORKFLOW)
class UngovernedWorkflow:
    @workflow.run
    async def run(self, request: GovernedRequest) -> AgentTaskResult:
        workflow.upsert_search_attributes(
            [
                REQUESTER.value_set(request.requester),
                APPROVAL_STATUS.value_set("none"),
                POLICY_DECISION.value_set("allow"),
            ]
        )
        info = workflow.info()
        key = f"{info.workflow_id}/{info.run_id}/agent-task"
        try:
            result: AgentTaskResult = await workflow.execute_activity(
                AGENT_EXECUTE_ACTIVITY,
                AgentTaskInput(key, request.task, dict(request.parameters), request.kind),
                result_type=AgentTaskResult,
                start_to_close_timeout=timedelta(minutes=10),
                heartbeat_timeout=timedelta(seconds=30),
                retry_policy=AGENT_RETRY,
                summary="agent task",
            )
            return result
        finally:
            await workflow.execute_activity(
                AGENT_CLEANUP_ACTIVITY,
                key,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=AGENT_RETRY,
                summary="cleanup",
            )
