"""Human-readable output of the CLI; `--json` bypasses all of this."""

from __future__ import annotations

from typing import Any

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
        f"approval  {info['approval_status']}"
        + (f" (deadline {info['approval_deadline']})" if info["approval_deadline"] else "")
        + (f", decided by {info['approver']}" if info["approver"] else ""),
    ]
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
