"""What the schedules, shadow report and audit pages read, and the words they show.

Schedules come from orchestrator/schedules/service.py (one summary per schedule), the
shadow report from orchestrator/audit/shadow_report.py over the audit records of the
window, exactly as `orchestrator policy shadow-report` counts them. Nothing here writes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator import durations
from orchestrator.audit import shadow_report
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.audit.runs import governed_runs, started_since
from orchestrator.schedules import service
from orchestrator.schedules.service import ScheduleSummary
from orchestrator.schedules.text import when_text

DEFAULT_WINDOW = "24h"
# Schedules described at once: each description also reads its recent runs' outcomes.
DESCRIBE_CONCURRENCY = 8


class WindowError(ValueError):
    """A `since` the pages cannot read; the message names the value and what to write."""


def window(text: str | None) -> tuple[str, str | None]:
    """(`since` as given, else 24h; the UTC timestamp it means now). `all`: no limit."""
    given = (text or "").strip() or DEFAULT_WINDOW
    if given == "all":
        return given, None
    try:
        seconds = durations.seconds(given)
    except ValueError as error:
        raise WindowError(f"since {given!r}: {error} (e.g. 1h, 24h, 7d, or all).") from None
    if seconds <= 0:
        raise WindowError(f"since {given!r}: must be longer than zero.")
    return given, started_since(seconds)


@dataclass(frozen=True)
class ScheduleRow:
    """One schedule on the page; `summary` None when it could not be described."""

    schedule_id: str
    listed: dict[str, Any]
    summary: ScheduleSummary | None
    problem: str = ""

    @property
    def paused(self) -> bool:
        if self.summary is not None:
            return self.summary.paused
        return self.listed.get("state") == "paused"

    @property
    def runs(self) -> str:
        """What each run starts, and for whom: `alice: Generate the weekly report`."""
        if self.summary is None:
            return str(self.listed.get("workflow") or "-")
        return runs_text(self.summary)

    @property
    def when(self) -> str:
        if self.summary is None:
            return str(self.listed.get("when") or "-")
        return "; ".join(when_text(self.summary.when)) or "-"


def runs_text(summary: ScheduleSummary) -> str:
    """The request a schedule's runs carry, in one line ("" when they carry none)."""
    request = summary.request
    if request is None:  # the audit checkpoint schedule's runs take no request
        return ""
    who = summary.requester or "?"
    if not isinstance(request, dict):
        return f"{who}: {request}"
    who = request.get("requester") or who
    if "task" in request:
        text = f"{who}: {request['task']}"
        parameters = request.get("parameters") or {}
        if parameters:
            text += "  (" + ", ".join(f"{k}={v}" for k, v in sorted(parameters.items())) + ")"
        return text
    document = request.get("definition")
    name = document.get("workflowName") if isinstance(document, dict) else None
    return f"{who}: definition {name or 'unnamed'}"


async def schedule_rows(client: Client, limit: int = 50) -> list[ScheduleRow]:
    """Every schedule (up to `limit`), described with its next and recent runs.

    Raises RPCError when Temporal refuses the listing; a schedule that cannot be described
    (deleted meanwhile, say) is a row saying so, so the others still show.
    """
    listed = await service.list_schedules(client, limit)
    gate = asyncio.Semaphore(DESCRIBE_CONCURRENCY)

    async def one(entry: dict[str, Any]) -> ScheduleRow:
        schedule_id = str(entry["schedule_id"])
        async with gate:
            try:
                summary = await service.describe(client, schedule_id, next_runs=3)
            except (RPCError, AssertionError) as error:
                # AssertionError: not a workflow start (made outside this project).
                return ScheduleRow(schedule_id, entry, None, f"not described: {error}")
        return ScheduleRow(schedule_id, entry, summary)

    rows = await asyncio.gather(*(one(entry) for entry in listed))
    return sorted(rows, key=lambda row: row.schedule_id)


@dataclass(frozen=True)
class ShadowPage:
    since: str
    report: shadow_report.ShadowReport

    @property
    def sections(self) -> list[tuple[str, str, dict[str, int]]]:
        """(id, title, counts) of each table of counts that has rows."""
        report = self.report
        every = [
            ("changes", "What would change", report.changes),
            ("by-action", "By action", report.by_action),
            ("reasons-added", "Reasons the candidate adds", report.reasons_added),
            ("reasons-removed", "Reasons the candidate drops", report.reasons_removed),
            ("shadow-errors", "Shadow errors", report.error_messages),
        ]
        return [section for section in every if section[2]]


async def shadow_page(client: Client, since_text: str | None) -> ShadowPage:
    """The shadow report of the runs started in the window (WindowError, RunsUnavailable)."""
    since, since_at = window(since_text)
    runs = await governed_runs(client, since_at)
    records = [run for run in runs if isinstance(run, AuditRecord)]
    unreadable = [run for run in runs if isinstance(run, UnreadableRun)]
    return ShadowPage(since, shadow_report.summarise(records, since_at, unreadable))
