"""People hear of approvals through a real HTTP webhook: when one is requested (with the
reasons, the requirement and links to the console and the Temporal UI) and at each
escalation `notify` step; other steps and an unset webhook are only logged. A webhook that
is down never holds up the approval."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from temporalio.testing import ActivityEnvironment

from orchestrator.approvals.escalation import REQUESTED_EVENT, EscalationActivities
from orchestrator.approvals.model import EscalationNotice
from orchestrator.config import Settings
from tests.support import RunningWorker, decide, poll, wait_for_stage

Webhook = tuple[str, list[dict[str, Any]], list[int]]
DEPLOY = "Deploy the billing service to production"

NOTICE = EscalationNotice(
    workflow_id="governed-a b/c",
    subject="Deploy the billing service to production",
    action="notify",
    roles=["approver"],
    after_seconds=3600.0,
    approved_by=["bob"],
    quorum=2,
)


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]], list[int]]]:
    """A webhook on a free port that records each JSON body; answers the queued statuses."""
    received: list[dict[str, Any]] = []
    statuses: list[int] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(statuses.pop(0) if statuses else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received, statuses
    finally:
        server.shutdown()
        server.server_close()


async def test_notify_posts_the_step_and_the_console_link(
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    url, received, _ = webhook
    activities = EscalationActivities(url, console_url="http://console.example:8080/")
    channel = await ActivityEnvironment().run(activities.escalate, NOTICE)
    assert channel == "log+webhook"
    [body] = received
    assert body["workflow_id"] == NOTICE.workflow_id
    assert body["approved_by"] == ["bob"] and body["quorum"] == 2
    # The id is quoted as one path segment: it may hold spaces or slashes.
    assert body["console_url"] == "http://console.example:8080/console/runs/governed-a%20b%2Fc"


async def test_without_a_console_url_the_body_is_the_step_alone(
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    url, received, _ = webhook
    await ActivityEnvironment().run(EscalationActivities(url).escalate, NOTICE)
    [body] = received
    assert "console_url" not in body


async def test_a_refused_delivery_fails_the_attempt_so_temporal_retries_it(
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    url, received, statuses = webhook
    statuses.append(503)
    with pytest.raises(httpx.HTTPStatusError):
        await ActivityEnvironment().run(EscalationActivities(url).escalate, NOTICE)
    assert len(received) == 1


async def test_other_steps_and_no_webhook_are_only_logged(
    webhook: tuple[str, list[dict[str, Any]], list[int]],
) -> None:
    url, received, _ = webhook
    widen = replace(NOTICE, action="widen")
    assert await ActivityEnvironment().run(EscalationActivities(url).escalate, widen) == "log"
    assert await ActivityEnvironment().run(EscalationActivities(None).escalate, NOTICE) == "log"
    assert received == []


@pytest.mark.integration
async def test_a_request_is_announced_when_it_opens_with_reasons_and_links(
    client: Any, settings: Settings, webhook: Webhook
) -> None:
    url, received, _ = webhook
    wired = replace(settings, notify_webhook=url, console_url="http://console.test:8080")
    async with RunningWorker.start(client, wired) as worker:
        handle = await worker.start_governed(
            DEPLOY, "alice", parameters={"environment": "production"}
        )
        await wait_for_stage(handle, "awaiting_approval")
        [body] = await poll(lambda: _copy(received), bool, "the request reaching the hook", 20)
        assert body["event"] == REQUESTED_EVENT
        assert body["workflow_id"] == handle.id and body["requester"] == "alice"
        assert body["subject"] == DEPLOY and body["quorum"] == 2 and body["deadline"]
        assert any("production" in reason for reason in body["reasons"])
        assert body["console_url"].endswith(f"/console/runs/{handle.id}")
        assert body["temporal_url"] == wired.workflow_link(handle.id)
        await decide(handle, "approve", "bob")
        await decide(handle, "approve", "carol")
        assert (await handle.result()).outcome == "completed"


@pytest.mark.integration
async def test_a_refused_announcement_is_retried_then_the_approval_opens(
    client: Any, settings: Settings, webhook: Webhook
) -> None:
    """Delivery is retried within a bound (orchestrator/approvals/announce.py); the
    approval takes decisions once people were told."""
    url, received, statuses = webhook
    statuses.extend([503, 503])
    async with RunningWorker.start(client, replace(settings, notify_webhook=url)) as worker:
        handle = await worker.start_governed(
            DEPLOY, "alice", parameters={"environment": "production"}
        )
        await wait_for_stage(handle, "awaiting_approval", 30)
        assert len(received) == 3 and {body["event"] for body in received} == {REQUESTED_EVENT}
        await decide(handle, "approve", "bob")
        await decide(handle, "approve", "carol")
        assert (await handle.result()).outcome == "completed"


async def _copy(received: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(received)
