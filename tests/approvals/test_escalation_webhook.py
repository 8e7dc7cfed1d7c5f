"""The escalation activity's `notify` step reaches a real HTTP webhook, with the console
link of the waiting approval; other steps and an unset webhook are only logged."""

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

from orchestrator.approvals.escalation import EscalationActivities
from orchestrator.approvals.model import EscalationNotice

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
