"""The candidate in policies/shadow/ beside the enforcing policy, on the real stack.

A scripted run with a known number of disagreements: the report must count them exactly,
and the enforcing policy alone must decide what ran.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from temporalio.client import WorkflowFailureError

from orchestrator.audit import shadow_report
from orchestrator.audit.records import AuditRecord
from orchestrator.audit.runs import governed_records, started_since
from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.support import RunningWorker, decide, run_orchestrator, wait_for_stage

pytestmark = pytest.mark.integration

REPORT = "Generate the monthly expense report"
# Between the candidate's threshold (5,000) and the enforcing one (10,000).
BETWEEN_THRESHOLDS = {"amount": 7000}


async def test_shadow_report_counts_the_disagreements_of_a_scripted_run(
    stack: LocalStack, settings: Settings, worker: RunningWorker
) -> None:
    # Only runs started from here on are read back, not the whole session's.
    began = started_since(2)
    # Two runs the candidate would stop for approval: enforced, they run straight away.
    changed = [await worker.start_governed(REPORT, parameters=BETWEEN_THRESHOLDS) for _ in "ab"]
    for handle in changed:
        result = await asyncio.wait_for(handle.result(), 60)
        assert [d.outcome for d in result.decisions] == ["allow"]
    # Two runs both policies allow alike, and one both stop for approval (then rejected).
    alike = [await worker.start_governed(REPORT, parameters={"amount": 100}) for _ in "ab"]
    for handle in alike:
        await asyncio.wait_for(handle.result(), 60)
    large = await worker.start_governed(REPORT, parameters={"amount": 20000})
    await wait_for_stage(large, "awaiting_approval")
    await decide(large, "reject", "carol", "not this month")
    with pytest.raises(WorkflowFailureError):
        await asyncio.wait_for(large.result(), 60)

    ours = {handle.id for handle in [*changed, *alike, large]}
    records = [r for r in await records_listing(worker, began, ours) if r.workflow_id in ours]
    report = shadow_report.summarise(records)

    # 5 starts + 1 approval decision, each answered by both policies.
    assert (report.workflow_runs, report.decisions, report.evaluated) == (5, 6, 6)
    assert (report.agreed, report.disagreed, report.errors) == (4, 2, 0)
    assert report.changes == {"outcome: allow -> approval_required": 2, "risk: low -> high": 2}
    assert report.by_action == {"workflow.start": 2}
    # Above the candidate's threshold is also dual control: the candidate says so too.
    assert report.reasons_added == {
        "Approval required: the amount 7000 is above 5000.": 2,
        "Needs 2 distinct approvers (amounts above the threshold need two approvers) within 8h.": 2,
    }
    assert sorted(w.workflow_id for w in report.workflows) == sorted(h.id for h in changed)
    assert set(report.candidate_revisions) == {
        f"{records[0].decisions[0].answer.policy_revision}+amount-threshold-5000"
    }

    # The operator's view of the same run, through the CLI.
    shown = await run_orchestrator(stack, settings, "policy", "shadow-report", "--since", "1m")
    assert shown.returncode == 0, shown.stderr
    assert "would change" in shown.stdout
    for handle in changed:
        assert handle.id in shown.stdout
    as_json = await run_orchestrator(
        stack, settings, "policy", "shadow-report", "--since", "1m", "--json"
    )
    listed = {w["workflow_id"] for w in json.loads(as_json.stdout)["workflows"]}
    assert {handle.id for handle in changed} <= listed
    assert not listed & {handle.id for handle in [*alike, large]}


async def records_listing(
    worker: RunningWorker, since: str | None, ids: set[str]
) -> list[AuditRecord]:
    """The audit records, once visibility lists every one of `ids` (it lags a little)."""
    for _ in range(100):
        records = await governed_records(worker.client, since)
        if ids <= {record.workflow_id for record in records}:
            return records
        await asyncio.sleep(0.1)
    raise AssertionError(f"visibility never listed all of {ids}")
