"""The runs list and a run's page: decisions, every approval attempt, steps, links."""

from __future__ import annotations

import html
from typing import Any

from temporalio.client import WorkflowHandle

from orchestrator.declarative.model import DeclarativeStatus
from tests.console.conftest import Browser, article_of, csrf_of, result_of
from tests.console.test_deciding import decide, inbox_showing, start_deploy
from tests.declarative.support import act, approval, definition, par, start
from tests.support import RunningWorker, poll, status_of, wait_for_pending


async def test_run_page_shows_decisions_attempts_and_the_decide_form(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start_deploy(worker, terminate_after)
    path = f"/console/runs/{handle.id}"
    async with browser("alice") as alice, browser("bob") as bob, browser("carol") as carol:
        await inbox_showing(bob, handle.id)
        await decide(alice, handle.id, "approve")  # refused by policy
        await decide(bob, handle.id, "approve", "looks fine")
        page = await carol.get(path)
        assert page.status_code == 200, page.text
        text = html.unescape(page.text)
        assert '<dd class="stage">awaiting_approval</dd>' in text
        status = await status_of(handle)
        assert status.decision is not None
        # The start decision: action, outcome, reasons, decision id, revision, shadow.
        assert "workflow.start" in text and "approval_required" in text
        assert status.decision.decision_id in text
        assert status.decision.policy_revision in text
        for reason in status.decision.reasons:
            assert reason in text
        # Both approval attempts, the refused one with the policy's words.
        assert 'class="attempt refused"' in text and 'class="attempt accepted"' in text
        assert "alice cannot approve their own request: separation of duties." in text
        assert "looks fine" in text
        # Carol may decide from here; the form comes back to this page.
        article = article_of(page.text, handle.id)
        assert "1 of 2 approvals" in article and '<form class="decide"' in article
        assert 'name="back" value="run"' in article
        assert status.pending_approval is not None
        link = worker.settings.workflow_link(handle.id, status.pending_approval.run_id)
        assert f'<a class="temporal-ui" href="{link}">' in text
        assert '<section id="trace"' in text
        taken = await carol.post(
            f"{path}/decide",
            data={"csrf": csrf_of(page.text), "decision": "approve", "step": "", "back": "run"},
        )
        assert taken.status_code == 303 and taken.headers["location"] == path
        assert result_of((await carol.get(path)).text).startswith("Approved: 2 of 2 approvals")
    assert (await handle.result()).outcome == "completed"


async def test_unknown_run_is_a_page_saying_so(browser: Browser, worker: RunningWorker) -> None:
    async with browser("bob") as bob:
        missing = await bob.get("/console/runs/no-such-run-here")
        assert missing.status_code == 404 and "No workflow with id" in missing.text
        bad = await bob.get("/console/runs/%27%20OR%201%3D1")
        assert bad.status_code == 404


async def test_declarative_steps_wait_side_by_side_and_show_as_a_tree(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start(
        worker.client,
        worker.settings,
        definition(
            act("InitializeWorkflow"),
            par(approval(description="left"), approval(description="right")),
            name="console-two-approvals",
        ),
    )
    terminate_after.append(handle)
    waiting: DeclarativeStatus = await wait_for_pending(handle, 2)
    paths = sorted(entry.path for entry in waiting.pending_approvals)
    async with browser("bob") as bob:
        page = await inbox_showing(bob, handle.id)
        for step in paths:
            assert f'data-workflow-id="{handle.id}" data-step="{step}"' in page
        assert page.count(f'data-workflow-id="{handle.id}"') == 2
        polled = (await bob.get("/console/inbox.json")).json()
        assert {"workflow_id": handle.id, "step": paths[0]} in polled["items"]
        taken = await bob.post(
            f"/console/runs/{handle.id}/decide",
            data={"csrf": csrf_of(page), "decision": "approve", "step": paths[0]},
        )
        assert taken.status_code == 303
        assert (
            result_of((await bob.get("/console/")).text) == "Approved: 1 of 1 approvals; "
            "the quorum is met, policy is asked again and the work runs."
        )
        await poll(
            lambda: status_of(handle, DeclarativeStatus),
            lambda status: len(status.pending_approvals) == 1,
            "one approval left",
        )
        run = html.unescape((await bob.get(f"/console/runs/{handle.id}")).text)
    assert '<ul class="tree">' in run
    assert f'data-path="{paths[1]}" data-state="awaiting approval"' in run
    assert f'data-path="{paths[0]}" data-state="approval approved"' in run
    assert 'data-path="execution.blocks[0]"' in run and "InitializeWorkflow" in run


async def test_runs_list_filters_by_search_attributes_and_refuses_bad_values(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start_deploy(worker, terminate_after)
    async with browser("bob") as bob:
        await inbox_showing(bob, handle.id)
        listed = await bob.get(
            "/console/runs",
            params={"requester": "alice", "approval": "pending", "decision": "approval_required"},
        )
        assert listed.status_code == 200
        assert f'<tr class="run" data-workflow-id="{handle.id}">' in listed.text
        for label in ("Requester", "Policy decision", "Approval", "Definition"):
            assert f">{label}</label>" in listed.text
        others = await bob.get(
            "/console/runs", params={"requester": "carol", "approval": "pending"}
        )
        assert handle.id not in others.text
        for params in (
            {"requester": "alice' OR WorkflowId != '"},
            {"decision": "allow' OR '1'='1"},
            {"approval": "maybe"},
            {"definition": "x') OR ('1'='1"},
        ):
            refused = await bob.get("/console/runs", params=params)
            assert refused.status_code == 422, params
            assert "Filter refused" in refused.text
            assert handle.id not in refused.text
