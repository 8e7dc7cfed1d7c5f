"""The DeclarativeWorkflow on the real dev server and OPA (repo policies), feature by feature."""

from __future__ import annotations

import asyncio
import copy
import time
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import SearchAttributeKey
from temporalio.exceptions import ApplicationError

from orchestrator.approvals.client import ApprovalAmbiguous
from orchestrator.declarative.model import DeclarativeResult, DeclarativeStatus
from orchestrator.declarative.parse import load_file
from orchestrator.vocabulary import APPROVAL_STATUS, POLICY_DECISION
from tests.declarative.support import act, approval, definition, par, seq, start
from tests.support import RunningWorker, decide, failure_of, listed, status_of, wait_for_pending

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).parents[2] / "examples" / "definitions"


async def run(worker: RunningWorker, document: dict[str, Any], **fields: Any) -> DeclarativeResult:
    handle = await start(worker.client, worker.settings, document, **fields)
    return await handle.result()


def echoed(data: Any, *args: Any) -> dict[str, Any]:
    """What the test activity Echo returns."""
    return {"data": data, "args": list(args)}


# --- data flow -------------------------------------------------------------------------


async def test_sequential_data_flow_passes_the_previous_result_first(
    worker: RunningWorker,
) -> None:
    result = await run(
        worker,
        definition(
            act("Echo", "a", resultName="one"),
            act("Echo", "b", resultName="two"),
            act("Echo", "c", "d", useDataFlow=False, resultName="three"),
            act("Echo", "e"),
        ),
    )
    one = echoed(None, "a")  # nothing flows into the first step
    two = echoed(one, "b")
    three = echoed("c", "d")  # useDataFlow: false: args fill the parameters from the first
    assert result.results == {"one": one, "two": two, "three": three}
    assert result.output == echoed(three, "e")
    assert result.completed_steps == 4
    assert [d.path for d in result.decisions] == [f"execution.blocks[{i}]" for i in range(4)]


async def test_parallel_hands_its_input_to_every_branch_and_passes_the_list_on(
    worker: RunningWorker,
) -> None:
    result = await run(
        worker,
        definition(
            act("Echo", "x"),
            par(act("Echo", "left"), seq(act("Echo", "r1"), act("Echo", "r2")), resultName="p"),
            act("Echo", "after"),
        ),
    )
    x = echoed(None, "x")
    branches = [echoed(x, "left"), echoed(echoed(x, "r1"), "r2")]
    assert result.results["p"] == branches
    assert result.output == echoed(branches, "after")


async def test_old_demo_definition_with_nested_parallel_runs_with_data_flow(
    worker: RunningWorker,
) -> None:
    document = load_file(EXAMPLES / "data-pipeline.yaml")
    # Name two blocks so the test can look inside; the rest is the file as written.
    observed = copy.deepcopy(document)
    inner = observed["execution"]["blocks"][3]
    inner["blocks"][1]["resultName"] = "transformed"
    inner["blocks"][3]["resultName"] = "branches"
    observed["execution"]["blocks"][4]["resultName"] = "final_report"
    result = await run(worker, observed, source="data-pipeline.yaml")

    transformed = result.results["transformed"]
    values = [record["value"] for record in transformed["records"]]
    assert transformed["applied"] == ["double", "sort"] and len(values) == 8
    assert values == sorted(values, reverse=True) and all(v % 2 == 0 for v in values)
    load, metrics, report_then_update = result.results["branches"]
    assert load["target"] == "warehouse" and load["count"] == 8 and load["written"] is False
    assert metrics["count"] == 8 and metrics["sum"] == sum(values)
    assert report_then_update["kind"] == "progress"  # the nested sequential's last step
    assert result.results["final_report"]["lines"] == [
        "branch 1: fields checksum, count, target, written",
        "branch 2: fields count, labels, max, mean, min, sum",
        "branch 3: fields delivered_to, kind, message, to, workflow_id",
    ]
    assert result.output["note"].startswith("demo activities hold no resources")
    assert result.completed_steps == 14
    assert result.summary.allowed == 14 and result.summary.denied == 0
    assert result.workflow_name == "DataProcessingPipeline"


async def test_older_flat_activities_list_runs_as_a_sequence(worker: RunningWorker) -> None:
    result = await run(worker, load_file(EXAMPLES / "legacy-flat.yaml"))
    assert [d.path for d in result.decisions] == [f"activities[{i}]" for i in range(4)]
    assert result.output["kind"] == "notification"
    assert result.output["to"] == ["sales@example.com"]
    assert result.completed_steps == 4


# --- named results and conditions ------------------------------------------------------


async def test_named_results_are_referenced_whole_by_path_and_in_text(
    worker: RunningWorker,
) -> None:
    result = await run(
        worker,
        definition(
            act("Constant", {"items": [10, 20], "name": "n"}, resultName="x"),
            act(
                "Echo",
                "${results.x}",
                "${results.x.items.1}",
                "total: ${results.x.items} for ${results.x.name}",
                "literal $${results.x}",
                {"nested": ["${results.x.name}"]},
                useDataFlow=False,
            ),
        ),
    )
    assert result.output == echoed(
        {"items": [10, 20], "name": "n"},
        20,
        "total: [10,20] for n",
        "literal ${results.x}",
        {"nested": ["n"]},
    )


async def test_conditions_run_or_skip_blocks_and_skipped_blocks_pass_their_input_on(
    worker: RunningWorker,
) -> None:
    result = await run(
        worker,
        definition(
            act("Constant", "green", resultName="light"),
            act("Echo", "go", when={"result": "light", "equals": "green"}, resultName="went"),
            act("Echo", "stop", when={"result": "light", "equals": "red"}, resultName="stopped"),
            act("Echo", "in", when={"result": "light", "in": ["amber", "green"]}, resultName="i"),
            act("Echo", "no", when={"not": {"exists": "stopped"}}, resultName="no"),
            act(
                "Echo",
                "all",
                when={"all": [{"exists": "went"}, {"result": "light", "notEquals": "red"}]},
                resultName="both",
            ),
            seq(
                act("Echo", "never"),
                when={"any": [{"exists": "stopped"}, {"result": "went.args.0", "equals": "x"}]},
            ),
            act("Echo", "last"),
        ),
    )
    assert set(result.results) == {"light", "went", "i", "no", "both"}
    assert result.skipped == ["execution.blocks[2]", "execution.blocks[6]"]
    assert result.results["went"] == echoed("green", "go")
    # The skipped block passed on what flowed into it.
    assert result.results["i"] == echoed(result.results["went"], "in")
    assert result.output == echoed(result.results["both"], "last")
    assert result.completed_steps == 6


async def test_a_reference_to_a_result_that_was_not_produced_fails_naming_the_step(
    worker: RunningWorker,
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act("Constant", 1, resultName="n"),
            act("Echo", when={"result": "n", "equals": 2}, resultName="maybe"),
            act("Echo", "${results.maybe}"),
        ),
    )
    error = await failure_of(handle)
    assert error.type == "MissingResult" and error.non_retryable
    assert "execution.blocks[2]" in error.message and "when: {exists: maybe}" in error.message


# --- timeouts, retries, parallelism ------------------------------------------------------


async def test_retry_policy_of_a_step_retries_until_it_succeeds(worker: RunningWorker) -> None:
    result = await run(
        worker,
        definition(
            act(
                "Flaky",
                2,
                retry={"maximumAttempts": 3, "initialIntervalSeconds": 0.1},
                resultName="flaky",
            )
        ),
    )
    assert result.results["flaky"] == {"attempt": 3}


async def test_a_step_out_of_attempts_fails_the_workflow_naming_it(worker: RunningWorker) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act("Echo"),
            act("Flaky", 5, retry={"maximumAttempts": 2, "initialIntervalSeconds": 0.1}),
        ),
    )
    error = await failure_of(handle)
    assert error.type == "StepFailed"
    assert "execution.blocks[1] (Flaky)" in error.message
    assert "attempt 2 fails on purpose" in error.message


async def test_step_timeout_applies_to_each_attempt(worker: RunningWorker) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(act("Sleep", 1.5, timeoutSeconds=0.5, retry={"maximumAttempts": 1})),
    )
    error = await failure_of(handle)
    assert error.type == "StepFailed"
    assert "timeout" in error.message.lower()


async def test_parallel_branches_run_at_the_same_time(worker: RunningWorker) -> None:
    began = time.monotonic()
    handle = await start(
        worker.client,
        worker.settings,
        definition(par(act("Sleep", 1.0), act("Sleep", 1.0), act("Sleep", 1.0))),
    )
    await handle.result()
    elapsed = time.monotonic() - began
    history = await handle.fetch_history()
    sleeps: dict[int, dict[str, Any]] = {}
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            if attributes.activity_type.name == "Sleep":
                sleeps[event.event_id] = {}
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            scheduled = event.activity_task_started_event_attributes.scheduled_event_id
            if scheduled in sleeps:
                sleeps[scheduled]["started"] = event.event_time.ToDatetime()
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            scheduled = event.activity_task_completed_event_attributes.scheduled_event_id
            if scheduled in sleeps:
                sleeps[scheduled]["completed"] = event.event_time.ToDatetime()
    assert len(sleeps) == 3
    spans = list(sleeps.values())
    # Every branch started before any branch finished: they overlapped.
    assert max(s["started"] for s in spans) < min(s["completed"] for s in spans)
    assert elapsed < 2.8, f"three 1 s branches took {elapsed:.1f} s"


# --- policy per step ----------------------------------------------------------------------


async def test_a_denied_step_fails_the_workflow_with_its_path_and_reasons(
    worker: RunningWorker, client: Client
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(act("Echo", "fine"), act("Echo", {"note": "Forbidden: wipe it"}), act("Echo")),
    )
    error = await failure_of(handle)
    assert error.type == "PolicyDenied" and error.non_retryable
    assert "step execution.blocks[1] (Echo)" in error.message
    assert "forbidden" in error.message.lower()
    assert error.details[0]["decision_id"]
    status = await status_of(handle, DeclarativeStatus)
    assert status.stage == "denied"
    assert [(d.path, d.outcome) for d in status.decisions] == [
        ("execution.blocks[0]", "allow"),
        ("execution.blocks[1]", "deny"),
    ]
    assert status.summary.denials[0].reasons
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword("PolicyDecision")) == "deny"


async def test_drop_database_is_never_allowed(worker: RunningWorker) -> None:
    error = await failure_of(
        await start(worker.client, worker.settings, definition(act("DropDatabase", "customers")))
    )
    assert error.type == "PolicyDenied"
    assert "DropDatabase is never allowed" in error.message


async def test_unknown_requester_is_denied_at_the_first_step(worker: RunningWorker) -> None:
    handle = await start(worker.client, worker.settings, definition(act("Echo")), "mallory")
    error = await failure_of(handle)
    assert error.type == "PolicyDenied" and "mallory" in error.message


async def test_on_deny_skip_branch_stops_only_that_branch(
    worker: RunningWorker,
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            par(
                seq(
                    act("Echo", "a"),
                    act("Echo", "forbidden step", onDeny="skipBranch"),
                    act("Echo", "never reached", resultName="unreached"),
                ),
                act("Echo", "b"),
            ),
            act("Echo", "after"),
        ),
    )
    result = await handle.result()
    assert result.output == echoed([None, echoed(None, "b")], "after")
    [stopped] = result.stopped_branches
    assert stopped.branch == "execution.blocks[0].blocks[0]"
    assert stopped.step == "execution.blocks[0].blocks[0].blocks[1]"
    assert stopped.reasons and stopped.decision_id
    assert "unreached" not in result.results
    assert sorted(d.path for d in result.decisions) == [
        "execution.blocks[0].blocks[0].blocks[0]",
        "execution.blocks[0].blocks[0].blocks[1]",
        "execution.blocks[0].blocks[1]",
        "execution.blocks[1]",
    ]
    assert (result.summary.allowed, result.summary.denied) == (3, 1)
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword("PolicyDecision")) == "branch_denied"


async def test_check_policy_asks_opa_for_real_and_enforces_its_approval(
    worker: RunningWorker,
) -> None:
    """Like the old demo's CheckPolicy, it judges every argument, and what policy says
    needs approval waits for one (two people for production), then is decided again."""
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act("CheckPolicy", "Generate the weekly usage report", resultName="low"),
            act("CheckPolicy", "Deploy billing", {"environment": "production"}, resultName="hi"),
        ),
    )
    waiting = await wait_for_pending(handle)
    [pending] = waiting.pending_approvals
    assert pending.path == "execution.blocks[1]#approval"
    assert pending.view is not None and pending.view.quorum == 2
    # Visibility tells the truth while it waits: policy asked for people, not "allow".
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(POLICY_DECISION) == "approval_required"
    assert attributes.get(APPROVAL_STATUS) == "pending"
    await decide(handle, "approve", "bob", step=pending.path)
    await decide(handle, "approve", "carol", step=pending.path)
    result = await handle.result()
    low, high = result.results["low"], result.results["hi"]
    assert (low["allow"], low["risk"], low["require_approval"]) == (True, "low", False)
    assert (high["allow"], high["risk"], high["require_approval"]) == (True, "high", True)
    assert low["decision_id"] != high["decision_id"]
    # The second CheckPolicy is asked again after its approval, right before it returns.
    assert [d.action for d in result.decisions] == ["workflow.start"] * 3

    error = await failure_of(
        await start(
            worker.client, worker.settings, definition(act("CheckPolicy", "forbidden: drop it"))
        )
    )
    assert error.type == "PolicyDenied" and "execution.blocks[0] (CheckPolicy)" in error.message


async def test_check_policy_judges_every_argument_at_any_depth(worker: RunningWorker) -> None:
    """The old demo judged every argument; ours sent only the first string and object."""
    for arguments in (
        ("Generate a report", "forbidden: drop the customer database"),
        ("Generate a report", {"options": {"note": "forbidden: wipe it"}}),
        ("Generate a report", {"forbidden": True}),
        ("Generate a report", [["deep", ["forbidden"]]]),
    ):
        error = await failure_of(
            await start(worker.client, worker.settings, definition(act("CheckPolicy", *arguments)))
        )
        assert error.type == "PolicyDenied", arguments


async def test_a_risky_step_waits_for_the_approval_the_governed_path_needs(
    worker: RunningWorker,
) -> None:
    """Reproduced: this step used to complete without any approval, where a governed run
    of the same task needs two people (dual control, production)."""
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act(
                "ExecuteAgentTask",
                "Deploy the billing service to production",
                {"environment": "production"},
                resultName="deployed",
            )
        ),
    )
    [pending] = (await wait_for_pending(handle)).pending_approvals
    assert pending.path == "execution.blocks[0]#approval"
    assert pending.view is not None and pending.view.quorum == 2
    refused = await asyncio.gather(
        decide(handle, "approve", "alice", step=pending.path), return_exceptions=True
    )
    assert isinstance(refused[0], WorkflowUpdateFailedError)  # separation of duties
    await decide(handle, "approve", "bob", step=pending.path)
    await decide(handle, "approve", "carol", step=pending.path)
    result = await handle.result()
    assert result.results["deployed"]["task"] == "Deploy the billing service to production"
    assert [d.outcome for d in result.decisions] == ["approval_required", "approval_required"]


# --- approvals ------------------------------------------------------------------------------


async def test_approval_step_refuses_the_requester_and_a_viewer_then_bob_approves(
    worker: RunningWorker,
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act("Echo", "before"),
            approval(description="Ship it", timeoutSeconds=600, resultName="ok"),
            act("Echo", "after"),
        ),
    )
    waiting = await wait_for_pending(handle)
    assert waiting.stage == "awaiting_approval" and waiting.approval_status == "pending"
    [pending] = waiting.pending_approvals
    assert (pending.path, pending.description) == ("execution.blocks[1]", "Ship it")
    assert pending.deadline

    for who in ("alice", "dave"):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await decide(handle, "approve", who)
        assert isinstance(refused.value.cause, ApplicationError)
        assert refused.value.cause.type == "ApprovalRefused"
    receipt = await decide(handle, "approve", "bob", "fine")
    assert (receipt.decision, receipt.approver) == ("approve", "bob")

    result = await handle.result()
    [record] = result.approvals
    assert (record.path, record.status, record.approver) == (
        "execution.blocks[1]",
        "approved",
        "bob",
    )
    assert [(a.approver, a.accepted) for a in record.attempts] == [
        ("alice", False),
        ("dave", False),
        ("bob", True),
    ]
    assert result.results["ok"]["approver"] == "bob"
    # The approval passes on what flowed into it.
    assert result.output == echoed(echoed(None, "before"), "after")
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword("ApprovalStatus")) == "approved"


async def test_rejected_approval_fails_the_workflow_naming_the_step(worker: RunningWorker) -> None:
    handle = await start(worker.client, worker.settings, definition(approval()), "erin")
    await wait_for_pending(handle)
    await decide(handle, "reject", "carol", "not now")
    error = await failure_of(handle)
    assert error.type == "ApprovalRejected"
    assert "execution.blocks[0]" in error.message and "carol" in error.message
    assert (await status_of(handle, DeclarativeStatus)).stage == "rejected"


async def test_approval_deadline_expires(worker: RunningWorker) -> None:
    handle = await start(worker.client, worker.settings, definition(approval(timeoutSeconds=1)))
    error = await failure_of(handle)
    assert error.type == "ApprovalExpired"
    assert (await status_of(handle, DeclarativeStatus)).approval_status == "expired"


async def test_two_pending_approvals_are_told_apart_by_step(worker: RunningWorker) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(par(approval(description="left"), approval(description="right"))),
    )
    status = await wait_for_pending(handle, 2)
    paths = [p.path for p in status.pending_approvals]
    assert paths == ["execution.blocks[0].blocks[0]", "execution.blocks[0].blocks[1]"]
    # What is signed names one step's digest, so the client asks which before signing.
    with pytest.raises(ApprovalAmbiguous, match="2 approvals are pending"):
        await decide(handle, "approve", "bob")
    await decide(handle, "approve", "bob", step=paths[1])
    await decide(handle, "approve", "carol", step=paths[0])
    result = await handle.result()
    assert {(a.path, a.approver) for a in result.approvals} == {
        (paths[0], "carol"),
        (paths[1], "bob"),
    }


async def test_old_request_human_approval_is_a_governed_approval(worker: RunningWorker) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        {
            "workflowName": "old-approval",
            "activities": [
                {"activityName": "ExtractData", "args": ["crm"]},
                {"activityName": "RequestHumanApproval", "args": ["Please approve the load"]},
                {"activityName": "LoadData", "args": ["warehouse"]},
            ],
        },
    )
    status = await wait_for_pending(handle)
    assert status.pending_approvals[0].description == "Please approve the load"
    assert [d.activity for d in status.decisions] == ["ExtractData"]  # no activity for it
    await decide(handle, "approve", "bob")
    result = await handle.result()
    assert result.output["count"] == 5  # ExtractData's records flowed through the approval


# --- validation in the workflow, status, search attributes, continue-as-new -----------------


async def test_an_invalid_definition_started_directly_fails_before_any_step(
    worker: RunningWorker,
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(act("NoSuchActivity"), act("FetchRecords", 1), seq()),
    )
    error = await failure_of(handle)
    assert error.type == "InvalidDefinition" and error.non_retryable
    problems = error.details[0]
    assert [p["path"] for p in problems] == [
        "execution.blocks[0].activityName",
        "execution.blocks[1].args[0]",
        "execution.blocks[2].blocks",
    ]
    history = await handle.fetch_history()
    assert not [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert (await status_of(handle, DeclarativeStatus)).stage == "invalid"


async def test_status_shows_running_steps_and_search_attributes_are_set(
    worker: RunningWorker, client: Client
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(act("Echo"), act("Sleep", 1.5), name="status-check"),
        "erin",
    )
    for _ in range(100):
        status = await status_of(handle, DeclarativeStatus)
        if status.running == ["execution.blocks[1]"]:
            break
        await asyncio.sleep(0.05)
    assert status.running == ["execution.blocks[1]"]
    assert (status.stage, status.total_steps, status.workflow_name) == (
        "running",
        2,
        "status-check",
    )
    assert status.completed_steps == 1
    await handle.result()
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(SearchAttributeKey.for_keyword("Requester")) == "erin"
    assert attributes.get(SearchAttributeKey.for_keyword("WorkflowDefinition")) == "status-check"
    assert attributes.get(SearchAttributeKey.for_keyword("PolicyDecision")) == "allow"
    assert attributes.get(SearchAttributeKey.for_keyword("ApprovalStatus")) == "none"
    query = f"WorkflowDefinition = 'status-check' AND WorkflowId = '{handle.id}'"
    assert await listed(client, query) == [handle.id]


async def test_continue_as_new_carries_cursor_flow_results_and_decisions(
    worker: RunningWorker,
) -> None:
    document = definition(
        act("Constant", 7, resultName="seven"),
        seq(
            act("Echo", "a"),
            act("Echo", "b"),
            seq(act("Echo", "c"), act("Echo", "d"), resultName="inner"),
            act("Echo", "${results.seven}"),
        ),
        act("Echo", "${results.inner.args.0}"),
        act("Echo", "end"),
    )
    result = await run(worker, document, steps_per_run=2)
    a = echoed(7, "a")
    d = echoed(echoed(echoed(a, "b"), "c"), "d")
    assert result.results["inner"] == d
    assert result.output == echoed(echoed(echoed(d, 7), "d"), "end")
    assert result.runs == 4
    assert result.completed_steps == 8
    assert result.summary.allowed == 8 and len(result.summary.earlier_runs) == 3
    assert len(result.decisions) == 2  # the last run's; earlier ones are in earlier runs
