"""The baseline: a plain workflow running N no-op activities, Temporal and nothing else.

Kept in a module of its own with nothing but temporalio imports: the workflow sandbox
re-imports a workflow's module, and this one must cost what bare Temporal costs.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

BARE_WORKFLOW = "BareWorkflow"


@activity.defn(name="bench.noop")
async def noop(step: str) -> str:
    return step


@workflow.defn(name=BARE_WORKFLOW)
class BareWorkflow:
    @workflow.run
    async def run(self, steps: int) -> int:
        for step in range(steps):
            await workflow.execute_activity(
                noop, str(step), start_to_close_timeout=timedelta(seconds=10)
            )
        return steps
