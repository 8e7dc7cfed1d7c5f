"""The activities that tell people about approvals: `approval.requested` when one opens,
`approval.escalate` for each step of its escalation chain.

The workflow decides when (on opening; durable timers for the chain) and what (the
policy's chain); these activities tell people. Each is logged as a structured line; a
request, and each `notify` step, is also POSTed as JSON to ORCH_NOTIFY_WEBHOOK when it is
set (a chat or paging bridge), with `event` saying which it is and a link to where the
approval is decided: the console page of the run (`console_url`, from ORCH_CONSOLE_URL),
and always the run's Temporal UI page (`temporal_url`). A link grants nothing without
signing in. The result, the channel used, stays in history with the activity.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from typing import Any
from urllib.parse import quote

import httpx
from temporalio import activity

from orchestrator.approvals.model import ApprovalRequestedNotice, EscalationNotice
from orchestrator.vocabulary import APPROVAL_REQUESTED_ACTIVITY, ESCALATE_ACTIVITY

log = logging.getLogger(__name__)

REQUESTED_EVENT = "approval.requested"
ESCALATION_EVENT = "approval.escalation"


class EscalationActivities:
    def __init__(
        self,
        webhook_url: str | None = None,
        http: httpx.AsyncClient | None = None,
        console_url: str | None = None,
        temporal_link: Callable[[str], str] | None = None,
    ):
        self.webhook_url = webhook_url
        self.http = http
        self.console_url = console_url.rstrip("/") if console_url else None
        self.temporal_link = temporal_link

    def message(
        self, notice: EscalationNotice | ApprovalRequestedNotice, event: str = ESCALATION_EVENT
    ) -> dict[str, Any]:
        """What the webhook receives: the notice as history records it, and where to decide."""
        body: dict[str, Any] = {"event": event, **asdict(notice)}
        if self.console_url:
            body["console_url"] = (
                f"{self.console_url}/console/runs/{quote(notice.workflow_id, safe='')}"
            )
        if self.temporal_link:
            body["temporal_url"] = self.temporal_link(notice.workflow_id)
        return body

    @activity.defn(name=APPROVAL_REQUESTED_ACTIVITY)
    async def requested(self, notice: ApprovalRequestedNotice) -> str:
        """Where the request went: "log", or "log+webhook" once the webhook accepted it."""
        where = f" at {notice.step}" if notice.step else ""
        log.warning(
            "approval requested: %s%s for %s by %s (roles: %s; %d approval(s) needed by %s)",
            notice.workflow_id,
            where,
            notice.subject,
            notice.requester,
            ", ".join(notice.roles) or "-",
            notice.quorum,
            notice.deadline or "-",
            extra={"approval_requested": asdict(notice)},
        )
        if not self.webhook_url:
            return "log"
        await self._post(self.message(notice, REQUESTED_EVENT))
        return "log+webhook"

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
        await self._post(self.message(notice))
        return "log+webhook"

    async def _post(self, body: dict[str, Any]) -> None:
        assert self.webhook_url is not None
        http = self.http or httpx.AsyncClient(timeout=10)
        try:
            response = await http.post(self.webhook_url, json=body)
            # A failed delivery is retried by Temporal (bounded): people must hear of it.
            response.raise_for_status()
        finally:
            if self.http is None:
                await http.aclose()
