"""What `orchestrator schedule ...` prints: the text of each sub-command's result (its
JSON is the data itself, printed by orchestrator/cli/output.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.cli import render
from orchestrator.schedules.service import ScheduleSummary
from orchestrator.schedules.text import iso, when_text


def created(summary: ScheduleSummary, requester: str) -> str:
    schedule_id = summary.schedule_id
    lines = [
        f"created   {schedule_id}" + ("  [paused]" if summary.paused else ""),
        f"runs      {summary.workflow_type} for {requester} on task queue "
        f"{summary.task_queue}, as {summary.workflow_id_prefix}<time>",
        f"when      {'; '.join(when_text(summary.when))}",
        f"overlap   {summary.overlap}",
    ]
    if summary.paused:
        lines.append(f"next      - (paused: orchestrator schedule unpause {schedule_id})")
    else:
        lines += [f"next      {at}" for at in summary.next_runs[:1]]
    lines.append(f"describe  orchestrator schedule describe {schedule_id}")
    return "\n".join(lines)


def listing(rows: list[dict[str, Any]]) -> str:
    return render.table(rows) if rows else "no schedules"


def show(summary: ScheduleSummary) -> str:
    """`describe` for people."""
    lines = [
        f"schedule  {summary.schedule_id}  [{'paused' if summary.paused else 'active'}]",
        f"runs      {summary.workflow_type} on task queue {summary.task_queue}, "
        f"as {summary.workflow_id_prefix}<time>",
    ]
    if summary.request is not None:  # the audit checkpoint schedule's runs take none
        lines.append(f"for       {_request_text(summary)}")
    lines.append(f"when      {'; '.join(when_text(summary.when)) or '-'}")
    window = summary.when
    if window["start_at"] or window["end_at"]:
        lines.append(f"between   {window['start_at'] or '-'} .. {window['end_at'] or '-'}")
    lines.append(f"overlap   {summary.overlap}")
    if summary.note:
        lines.append(f"note      {summary.note}")
    lines.append(
        f"actions   {summary.actions_taken} taken, {summary.skipped_overlap} skipped (overlap), "
        f"{summary.missed_catchup_window} missed (catch-up window)"
    )
    lines += [f"running   {workflow_id}" for workflow_id in summary.running]
    for run in summary.recent:
        outcome = (run.status or "?").lower()
        if run.policy_decision:
            outcome += f", policy {run.policy_decision}"
        lines.append(f"recent    {run.scheduled_at}  {run.workflow_id}  ({outcome})")
    if summary.paused:
        lines.append("next      - (paused)")
    else:
        lines += [f"next      {at}" for at in summary.next_runs] or ["next      -"]
    return "\n".join(lines)


def _request_text(summary: ScheduleSummary) -> str:
    request = summary.request
    if not isinstance(request, dict):
        return f"{summary.requester or '?'}: {request}"
    who = request.get("requester") or summary.requester or "?"
    if "task" in request:
        text = f"{who}: {request['task']}"
        if request.get("parameters"):
            text += "  " + " ".join(f"{k}={v}" for k, v in sorted(request["parameters"].items()))
        return text
    document = request.get("definition")
    name = document.get("workflowName") if isinstance(document, dict) else None
    source = f" (from {request['source']})" if request.get("source") else ""
    return f"{who}: definition {name or 'unnamed'}{source}"


def paused(schedule_id: str, pausing: bool, reason: str) -> str:
    return f"{schedule_id}: {'paused' if pausing else 'active again'} ({reason})"


def triggered(schedule_id: str, workflow_id: str | None) -> str:
    if workflow_id:
        return (
            f"{schedule_id}: triggered, started {workflow_id}\n"
            f"status    orchestrator status {workflow_id}"
        )
    return (
        f"{schedule_id}: triggered, but no run started yet (the overlap policy may have "
        f"skipped it while another run is open, or a run started in the same second is "
        f"still open under the same id); see `orchestrator schedule describe {schedule_id}`"
    )


def backfill_requested(schedule_id: str, start: datetime, end: datetime, overlap: str) -> str:
    return (
        f"{schedule_id}: backfill of {iso(start)} .. {iso(end)} requested "
        f"(overlap {overlap}); the runs appear in `orchestrator schedule describe {schedule_id}`"
    )


def updated(summary: ScheduleSummary) -> str:
    lines = [
        f"{summary.schedule_id}: updated [{'paused' if summary.paused else 'active'}]",
        f"when      {'; '.join(when_text(summary.when)) or '-'}",
        f"overlap   {summary.overlap}",
    ]
    if summary.note:
        lines.append(f"note      {summary.note}")
    if not summary.paused and summary.next_runs:
        lines.append(f"next      {summary.next_runs[0]}")
    return "\n".join(lines)


def deleted(schedule_id: str) -> str:
    return f"{schedule_id}: deleted (runs it already started keep running)"
