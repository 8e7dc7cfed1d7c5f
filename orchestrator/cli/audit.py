"""`orchestrator audit ID` and `orchestrator history ID --json`: the record, from history alone."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.audit import AuditRecord, build_audit
from orchestrator.cli.errors import CliError
from orchestrator.config import Settings


async def _history(client: Client, workflow_id: str) -> WorkflowHistory:
    try:
        return await client.get_workflow_handle(workflow_id).fetch_history()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"no workflow with id {workflow_id!r}.") from None
        raise CliError(f"Temporal refused the history of {workflow_id}: {error.message}") from None


async def history(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    print((await _history(client, args.workflow_id)).to_json())
    return 0


async def audit(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    record = await build_audit(await _history(client, args.workflow_id), client.data_converter)
    print(json.dumps(asdict(record), indent=2) if args.json else render(record, settings))
    return 0


def render(record: AuditRecord, settings: Settings) -> str:
    request = record.request
    what = request.get("task") or request.get("definition_name") or json.dumps(request)[:120]
    lines = [
        f"audit of {record.workflow_id} ({record.workflow_type}, run {record.run_id})",
        f"{record.started_at}  requested by {record.requester or '?'}: {what}",
    ]
    if request.get("parameters"):
        lines.append(f"{'':25}parameters {json.dumps(request['parameters'], sort_keys=True)}")
    for decision in record.decisions:
        verdict = "ALLOW" if decision.allow else "DENY"
        extra = ", approval required" if decision.require_approval else ""
        lines.append(
            f"{decision.at}  policy {decision.action} for {decision.subject}: {verdict}"
            f" (risk {decision.risk}{extra}; decision {decision.decision_id};"
            f" revision {decision.policy_revision})"
        )
        lines += [f"{'':25}- {reason}" for reason in decision.reasons]
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
