"""Human-readable output of the CLI; `--json` bypasses all of this (orchestrator/cli/output.py)."""

from __future__ import annotations

from typing import Any

from orchestrator.approvals.waiting import Unanswered, Waiting
from orchestrator.vocabulary import APPROVAL_STATUS, POLICY_DECISION, REQUESTER

LIST_ATTRIBUTES = [REQUESTER, POLICY_DECISION, APPROVAL_STATUS]


def started(info: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"started   {info['workflow_id']}",
            f"ui        {info['temporal_ui']}",
            f"trace     orchestrator trace {info['workflow_id']}   (trace id {info['trace_id']})",
            f"status    orchestrator status {info['workflow_id']}",
        ]
    )


def outcome(info: dict[str, Any]) -> str:
    lines = [f"outcome   {info['outcome']}"]
    if info["outcome"] == "completed":
        result = info["result"]
        lines.append(f"agent     {result['agent']['summary']}")
        approval = result.get("approval")
        if approval:
            lines.append(f"approved  by {approval['approver']} at {approval['at']}")
        for decision in result["decisions"]:
            lines.append(_decision_line(decision))
    else:
        lines.append(f"error     {info.get('error_type')}: {info.get('message')}")
        for reason in info.get("reasons", []):
            lines.append(f"  - {reason}")
    return "\n".join(lines)


def _decision_line(decision: dict[str, Any]) -> str:
    return (
        f"policy    {decision['action']}: {'allow' if decision['allow'] else 'deny'}"
        f" (risk {decision['risk']}, decision {decision['decision_id']},"
        f" revision {decision['policy_revision']})"
    )


def status(info: dict[str, Any]) -> str:
    lines = [
        f"workflow  {info['workflow_id']}  [{info['execution_status']}]",
        f"stage     {info['stage']}",
        f"requester {info['requester']}",
    ]
    if info.get("task"):
        lines.append(f"task      {info['task']}")
    lines += [
        f"approval  {info['approval_status']}"
        + (f" (deadline {info['approval_deadline']})" if info["approval_deadline"] else "")
        + (f", decided by {info['approver']}" if info["approver"] else ""),
    ]
    pending_view = info.get("pending_approval")
    if pending_view:
        lines.append(f"waiting   {requirement(pending_view)}")
    if info["decision"]:
        lines.append(_decision_line(info["decision"]))
    lines += [f"  - {reason}" for reason in info["reasons"]]
    for attempt in info["approval_attempts"]:
        verdict = "accepted" if attempt["accepted"] else "REFUSED"
        lines.append(
            f"attempt   {attempt['at']} {attempt['approver']} {attempt['decision']}: {verdict}"
            + ("" if attempt["accepted"] else f" ({'; '.join(attempt['reasons'])})")
        )
    if info.get("trace_id"):
        lines.append(f"trace     orchestrator trace {info['workflow_id']}")
    lines.append(f"ui        {info['temporal_ui']}")
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no workflows"
    columns = list(rows[0])
    widths = {c: max(len(c), *(len(str(r[c] or "-")) for r in rows)) for c in columns}
    header = "  ".join(c.ljust(widths[c]) for c in columns)
    body = ["  ".join(str(r[c] or "-").ljust(widths[c]) for c in columns) for r in rows]
    return "\n".join([header, *body])


def requirement(view: dict[str, Any]) -> str:
    """A pending approval's requirement and progress: "1 of 2 approvals (roles a, b)"."""
    approved_by = list(view.get("approved_by") or [])
    text = f"{len(approved_by)} of {view.get('quorum') or 1} approvals"
    roles = view.get("approver_roles") or []
    if roles:
        text += f" (roles {', '.join(roles)})"
    if approved_by:
        text += f", approved by {', '.join(approved_by)}"
    return text


def waiting_line(item: Waiting) -> str:
    """One line while `start --wait` waits: what it waits for, progress, roles, deadline."""
    what = f"step {item.step}" if item.step else "approval"
    roles = f" ({', '.join(item.roles)})" if item.roles else ""
    line = f"waiting for {what}: {len(item.approved_by)} of {item.quorum}{roles}"
    if item.approved_by:
        line += f", approved by {', '.join(item.approved_by)}"
    if item.deadline:
        line += f", deadline {item.deadline}"
    return line


def pending(items: list[Waiting], unanswered: list[Unanswered], *, judged: bool) -> str:
    """`list --pending`: one block per waiting approval; `judged`: say what the caller may do."""
    if not items and not unanswered:
        return "nothing waits for you" if judged else "nothing waits for approval"
    blocks = [_pending_block(item, judged) for item in items]
    blocks += [
        f"{run.workflow_id}  ({run.workflow_type}, requester {run.requester or '?'}): "
        f"status not answered: {run.why}"
        for run in unanswered
    ]
    return "\n\n".join(blocks)


def _pending_block(item: Waiting, judged: bool) -> str:
    what = f"step {item.step}: {item.subject}" if item.step else f"task: {item.subject}"
    roles = f" (roles {', '.join(item.roles)})" if item.roles else ""
    approved = f", approved by {', '.join(item.approved_by)}" if item.approved_by else ""
    lines = [
        f"{item.workflow_id}  {what}",
        f"  requester  {item.requester or '-'}",
        f"  approvals  {item.progress}{roles}{approved}",
        f"  deadline   {item.deadline or '-'}",
    ]
    escalation = item.next_escalation
    if escalation:
        to = f" ({', '.join(escalation.roles)})" if escalation.roles else ""
        lines.append(f"  escalates  {escalation.action}{to} at {escalation.at or '?'}")
    lines += [f"  reason     {reason}" for reason in item.reasons]
    if judged:
        lines.append(f"  you may    {', '.join(item.allowed) or '-'}")
        lines += [f"  not        {reason}" for reason in item.refusal]
    return "\n".join(lines)
