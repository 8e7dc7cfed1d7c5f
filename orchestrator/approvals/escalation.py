"""The `approval.escalate` activity: one step of an approval's escalation chain.

The workflow decides when (durable timers) and what (the policy's chain); this activity
tells people. Every step is logged as a structured line; `notify` steps are also POSTed
as JSON to ORCH_NOTIFY_WEBHOOK when it is set (a chat or paging bridge), with the console
page of the waiting approval (`console_url`, from ORCH_CONSOLE_URL) so the message can link
to it; the link grants nothing without signing in. Its result, the channel used, stays in
history with the step.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

import httpx
from temporalio import activity

from orchestrator.approvals.model import EscalationNotice
from orchestrator.vocabulary import ESCALATE_ACTIVITY

log = logging.getLogger(__name__)


class EscalationActivities:
    def __init__(
        self,
        webhook_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        console_url: str | None = None,
    ):
        self.webhook_url = webhook_url
        self.http = http
        self.console_url = console_url.rstrip("/") if console_url else None

    def message(self, notice: EscalationNotice) -> dict[str, Any]:
        """What the webhook receives: the step as history records it, and where to decide."""
        body: dict[str, Any] = asdict(notice)
        if self.console_url:
            body["console_url"] = (
                f"{self.console_url}/console/runs/{quote(notice.workflow_id, safe='')}"
            )
        return body

    @activity.defn(name=ESCALATE_ACTIVITY)
    async def escalate(self, notice: EscalationNotice) -> str:
        """Where the step went: "log", or "log+webhook" once the webhook accepted it."""
        log.warning(
            "approval escalation: %s %s for %s (roles: %s; %d of %d approvals)",
            notice.action,
            notice.workflow_id,
            notice.subject,
            ", ".join(notice.roles) or "-",
            len(notice.approved_by),
            notice.quorum,
            extra={"escalation": asdict(notice)},
        )
        if notice.action != "notify" or not self.webhook_url:
            return "log"
        http = self.http or httpx.AsyncClient(timeout=10)
        try:
            response = await http.post(self.webhook_url, json=self.message(notice))
            # A failed delivery is retried by Temporal (bounded): people must hear of it.
            response.raise_for_status()
        finally:
            if self.http is None:
                await http.aclose()
        return "log+webhook"
