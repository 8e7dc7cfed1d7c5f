"""The inbox and deciding from it, against the real stack and a worker: alice asks for a
production deploy (two approvers), bob and carol approve, alice may not."""

from __future__ import annotations

import re
from typing import Any

import httpx
from temporalio.client import WorkflowHandle

from orchestrator.governed.model import GovernedStatus
from tests.console.conftest import Browser, article_of, csrf_of, result_of
from tests.support import RunningWorker, poll, status_of, wait_for_stage

DEPLOY = "Deploy the billing service to production"


async def start_deploy(
    worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> WorkflowHandle[Any, Any]:
    handle = await worker.start_governed(DEPLOY, "alice", parameters={"environment": "production"})
    terminate_after.append(handle)
    await wait_for_stage(handle, "awaiting_approval")
    return handle


async def inbox_showing(http: httpx.AsyncClient, workflow_id: str) -> str:
    """The inbox page once it lists `workflow_id` (visibility lags the workflow a little)."""
    page = await poll(
        lambda: http.get("/console/"),
        lambda page: f'data-workflow-id="{workflow_id}"' in page.text,
        f"the inbox listing {workflow_id}",
        15,
    )
    assert page.status_code == 200
    return page.text


async def decide(
    http: httpx.AsyncClient, workflow_id: str, decision: str, comment: str = ""
) -> httpx.Response:
    """Post the decide form with the CSRF token the viewer's own page carries."""
    page = await http.get("/console/runs")
    return await http.post(
        f"/console/runs/{workflow_id}/decide",
        data={"csrf": csrf_of(page.text), "decision": decision, "comment": comment, "step": ""},
    )


async def test_two_approvers_decide_from_the_inbox_and_alice_is_refused_by_policy(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start_deploy(worker, terminate_after)
    workflow_id = handle.id

    async with browser("bob") as bob, browser("carol") as carol, browser("alice") as alice:
        # Bob sees what waits, why, and what it needs.
        article = article_of(await inbox_showing(bob, workflow_id), workflow_id)
        assert 'data-step=""' in article
        assert DEPLOY in article and "alice" in article
        assert "0 of 2 approvals" in article
        assert re.search(r'<ul class="reasons">\s*<li>', article), article
        assert "environment" in article and "production" in article
        status: GovernedStatus = await status_of(handle)
        assert status.pending_approval is not None
        assert status.pending_approval.digest in article
        assert status.decision is not None and status.decision.policy_revision in article
        assert "approver, security" in article  # who may approve
        assert "the requester may not decide" in article
        assert '<form class="decide" method="post"' in article
        assert 'value="approve"' in article and 'value="reject"' in article

        # Alice may not decide her own request: told why, in the policy's words, no form.
        own = article_of(await inbox_showing(alice, workflow_id), workflow_id)
        assert '<p class="may-not">' in own
        assert "alice cannot approve their own request: separation of duties." in own
        assert '<form class="decide"' not in own
        # Posting anyway is refused by the workflow's own policy check, and said so.
        forced = await decide(alice, workflow_id, "approve")
        assert forced.status_code == 303 and forced.headers["location"] == "/console/"
        shown = await alice.get("/console/")
        refusal = result_of(shown.text)
        assert refusal.startswith(
            "Refused by policy: alice cannot approve their own request: separation of duties."
        ), refusal
        assert "deciding this approval needs one of: approver, security." in refusal
        # Shown once: a reload does not repeat it.
        assert 'class="result' not in (await alice.get("/console/")).text

        # Bob approves: 1 of 2.
        approved = await decide(bob, workflow_id, "approve", "ok")
        assert approved.status_code == 303
        after = await bob.get("/console/")
        assert result_of(after.text) == "Approved: 1 of 2 approvals"
        again = article_of(await inbox_showing(bob, workflow_id), workflow_id)
        assert "1 of 2 approvals" in again
        # Bob may still reject, not approve twice.
        assert "bob already approved" in again and 'value="approve"' not in again

        # Carol approves: the quorum is met and the work runs.
        done = await decide(carol, workflow_id, "approve")
        assert done.status_code == 303
        assert result_of((await carol.get("/console/")).text).startswith(
            "Approved: 2 of 2 approvals"
        )
    result = await handle.result()
    assert result.outcome == "completed"
    assert [a.approver for a in (await status_of(handle)).approval_attempts] == [
        "alice",
        "bob",
        "carol",
    ]


async def test_a_form_without_a_valid_csrf_token_decides_nothing(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start_deploy(worker, terminate_after)
    async with browser("bob") as bob, browser("carol") as carol:
        page = await inbox_showing(bob, handle.id)
        carols = csrf_of((await carol.get("/console/")).text)
        path = f"/console/runs/{handle.id}/decide"
        for data, headers in (
            ({"decision": "approve"}, {}),
            ({"decision": "approve", "csrf": "0" * 64}, {}),
            ({"decision": "approve", "csrf": carols}, {}),  # another session's token
            ({"decision": "approve", "csrf": csrf_of(page)}, {"Origin": "https://evil.test"}),
        ):
            refused = await bob.post(path, data=data, headers=headers)
            assert refused.status_code == 403, (data, headers)
            assert "did not come from your console session" in refused.text
    status: GovernedStatus = await status_of(handle)
    assert status.approval_attempts == []
    assert status.pending_approval is not None and status.pending_approval.approved_by == []


async def test_inbox_json_lists_what_waits(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handle = await start_deploy(worker, terminate_after)
    async with browser("bob") as bob:
        await inbox_showing(bob, handle.id)
        polled = await bob.get("/console/inbox.json")
    assert polled.status_code == 200
    body = polled.json()
    assert {"workflow_id": handle.id, "step": ""} in body["items"]
    assert body["count"] == len(body["items"])
