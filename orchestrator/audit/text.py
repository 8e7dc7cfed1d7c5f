"""An audit record as `orchestrator audit ID` prints it: text, or JSON with --json.

The text has one line per request, decision, approval attempt, step and the outcome,
then the trace and the Web UI link. Pure: the record comes from orchestrator/audit/history.py.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.audit.encodable import plain
from orchestrator.audit.records import AuditDecision, AuditRecord, record_document
from orchestrator.config import Settings


def record_json(record: AuditRecord) -> str:
    """The record as JSON values, as the export carries them: NaN, lone surrogates and
    deep nesting from history become text rather than invalid JSON or a crash."""
    return json.dumps(plain(record_document(record), "", []), indent=2)


def record_text(record: AuditRecord, settings: Settings) -> str:
    request = record.request
    what = request.get("task") or request.get("definition_name") or _json(request)[:120]
    lines = [
        f"audit of {record.workflow_id} ({record.workflow_type}, run {record.run_id})",
        f"{record.started_at}  requested by {record.requester or '?'}: {what}",
    ]
    if request.get("parameters"):
        lines.append(f"{'':25}parameters {_json(request['parameters'])}")
    for decision in record.decisions:
        answer = decision.answer
        if decision.outcome in ("unavailable", "error"):
            lines.append(
                f"{decision.at}  policy {answer.action} for {decision.subject}: "
                f"NO DECISION (policy {decision.outcome})"
            )
            lines += [f"{'':25}- {reason}" for reason in answer.reasons]
            continue
        verdict = "ALLOW" if answer.allow else "DENY"
        extra = ", approval required" if answer.require_approval else ""
        lines.append(
            f"{decision.at}  policy {answer.action} for {decision.subject}: {verdict}"
            f" (risk {answer.risk}{extra}; decision {answer.decision_id};"
            f" revision {answer.policy_revision})"
        )
        lines += [f"{'':25}- {reason}" for reason in answer.reasons]
        lines += [f"{'':25}{detail}" for detail in _decision_details(decision)]
    for approval in record.approvals:
        state = {True: "accepted", False: "REFUSED", None: "in progress"}[approval.accepted]
        why = f": {approval.outcome}" if approval.accepted is False else ""
        comment = f' "{approval.comment}"' if approval.comment else ""
        lines.append(
            f"{approval.at}  {approval.update} by {approval.approver}{comment}: {state}{why}"
        )
    for step in record.steps:
        detail = f" - {step.detail}" if step.detail else ""
        lines.append(f"{step.at}  step {step.activity}: {step.outcome}{detail}")
    if record.failure:
        outcome = f"{record.status}: {record.failure['type']}: {record.failure['message']}"
    else:
        outcome = record.status
    lines.append(f"{record.closed_at or '(open)':24}  outcome {outcome}")
    if record.trace_id:
        lines.append(f"trace {record.trace_id}  (orchestrator trace {record.workflow_id})")
    lines.append(f"ui    {settings.workflow_link(record.workflow_id, record.run_id)}")
    return "\n".join(lines)


def _decision_details(decision: AuditDecision) -> list[str]:
    """The fields newer histories carry; none of them for a decision recorded before."""
    answer = decision.answer
    details = []
    if answer.approval:
        roles = ", ".join(answer.approval.approver_roles) or "?"
        details.append(f"requires {answer.approval.quorum} approval(s) from: {roles}")
    if decision.approval_digest:
        details.append(f"approves {decision.approval_digest}")
    if answer.authenticated_approver:
        issuer = f" (issuer {decision.credential_issuer})" if decision.credential_issuer else ""
        details.append(f"authenticated as {answer.authenticated_approver}{issuer}")
    elif decision.credential_subject:
        details.append(f"credential for {decision.credential_subject} NOT authenticated")
    if answer.shadow:
        shadow = answer.shadow
        verdict = "agrees" if shadow.agrees else f"DISAGREES: {shadow.outcome}"
        details.append(f"shadow policy {shadow.policy_revision} {verdict}")
        details += [f"  {difference}" for difference in shadow.differences]
    return details


def _json(value: Any) -> str:
    return json.dumps(plain(value, "", []), sort_keys=True)
