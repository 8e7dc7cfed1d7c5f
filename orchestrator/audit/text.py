"""An audit record as `orchestrator audit ID` prints it: text, or JSON with --json.

The text has one line per request, decision, approval attempt, step and the outcome, in
time order, then the trace and the Web UI link. Pure: the record comes from
orchestrator/audit/history.py.
"""

from __future__ import annotations

import json
from typing import Any

from orchestrator.audit.encodable import plain
from orchestrator.audit.records import (
    AuditApproval,
    AuditDecision,
    AuditRecord,
    record_document,
)
from orchestrator.config import Settings
from orchestrator.policy.contract import APPROVAL_DECIDE


def record_json(record: AuditRecord) -> str:
    """The record as JSON values, as the export carries them: NaN, lone surrogates and
    deep nesting from history become text rather than invalid JSON or a crash."""
    return json.dumps(plain(record_document(record), "", []), indent=2)


def record_text(record: AuditRecord, settings: Settings) -> str:
    """The record, one entry after another in the order they happened.

    A policy decision made again right after an approval was given (the workflow asks
    policy once more before the approved work runs) is labelled "re-check after approval".
    """
    request = record.request
    what = request.get("task") or request.get("definition_name") or _json(request)[:120]
    header = [
        f"audit of {record.workflow_id} ({record.workflow_type}, run {record.run_id})",
        f"{record.started_at}  requested by {record.requester or '?'}: {what}",
    ]
    if request.get("parameters"):
        header.append(f"{'':25}parameters {_json(request['parameters'])}")
    rechecks = recheck_indexes(record)
    timeline: list[tuple[str, list[str]]] = [
        (decision.at, _decision_lines(decision, index in rechecks))
        for index, decision in enumerate(record.decisions)
    ]
    timeline += [(approval.at, [_approval_line(approval)]) for approval in record.approvals]
    for step in record.steps:
        detail = f" - {step.detail}" if step.detail else ""
        timeline.append((step.at, [f"{step.at}  step {step.activity}: {step.outcome}{detail}"]))
    # Stable: entries recorded at the same millisecond keep decision, approval, step order.
    timeline.sort(key=lambda entry: entry[0])
    if record.failure:
        outcome = f"{record.status}: {record.failure['type']}: {record.failure['message']}"
    else:
        outcome = record.status
    lines = [*header, *(line for _, entry in timeline for line in entry)]
    lines.append(f"{record.closed_at or '(open)':24}  outcome {outcome}")
    if record.trace_id:
        lines.append(f"trace {record.trace_id}  (orchestrator trace {record.workflow_id})")
    lines.append(f"ui    {settings.workflow_link(record.workflow_id, record.run_id)}")
    return "\n".join(lines)


def recheck_indexes(record: AuditRecord) -> set[int]:
    """Which of `record.decisions` re-check the work after an approval was given.

    A decision about the workflow or a step is a re-check when the last decision about
    the same subject asked for an approval and an approval was accepted in between: the
    workflow asks once more, under the rules as they are then, before the work runs.
    """
    accepted = sorted(a.at for a in record.approvals if a.accepted and a.update == "approve")
    waiting: dict[tuple[str, str], str] = {}  # (action, subject) -> when approval was asked
    found: set[int] = set()
    for index, decision in sorted(enumerate(record.decisions), key=lambda pair: pair[1].at):
        if decision.answer.action == APPROVAL_DECIDE:
            continue
        key = (decision.answer.action, decision.subject)
        asked = waiting.pop(key, None)
        if asked is not None and any(asked <= at <= decision.at for at in accepted):
            found.add(index)
        elif decision.answer.require_approval:
            waiting[key] = decision.at
    return found


def _decision_lines(decision: AuditDecision, recheck: bool) -> list[str]:
    answer = decision.answer
    label = "re-check after approval: " if recheck else ""
    head = f"{decision.at}  {label}policy {answer.action} for {decision.subject}: "
    if decision.outcome in ("unavailable", "error"):
        lines = [f"{head}NO DECISION (policy {decision.outcome})"]
        return lines + [f"{'':25}- {reason}" for reason in answer.reasons]
    verdict = "ALLOW" if answer.allow else "DENY"
    extra = ", approval required" if answer.require_approval else ""
    lines = [
        f"{head}{verdict} (risk {answer.risk}{extra}; decision {answer.decision_id};"
        f" revision {answer.policy_revision})"
    ]
    lines += [f"{'':25}- {reason}" for reason in answer.reasons]
    return lines + [f"{'':25}{detail}" for detail in _decision_details(decision)]


def _approval_line(approval: AuditApproval) -> str:
    state = {True: "accepted", False: "REFUSED", None: "in progress"}[approval.accepted]
    why = f": {approval.outcome}" if approval.accepted is False else ""
    comment = f' "{approval.comment}"' if approval.comment else ""
    return f"{approval.at}  {approval.update} by {approval.approver}{comment}: {state}{why}"


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
