"""`orchestrator audit ID`, `audit export`, `audit verify FILE` and `history ID --json`.

The record comes from history alone; `export` chains every governed and declarative
workflow's records into one tamper-evident stream and `verify` checks one, offline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode

from orchestrator import audit_chain
from orchestrator.audit import AuditDecision, AuditRecord, build_audit
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds
from orchestrator.config import Settings
from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW
from orchestrator.governed.workflow import WORKFLOW_NAME

EXPORT, VERIFY = "export", "verify"
# Histories fetched at once during an export: enough to hide latency, gentle on the server.
FETCH_CONCURRENCY = 8


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
    if args.workflow_id == EXPORT:
        return await export(args, settings, client)
    _only(args, "audit ID", allowed={"json"})
    record = await build_audit(await _history(client, args.workflow_id), client.data_converter)
    print(json.dumps(asdict(record), indent=2) if args.json else render(record, settings))
    return 0


# The `audit` parser shares one set of options between its three forms (so `audit ID`
# parses as before); each form refuses the options that belong to another.
FORM_OPTIONS = {
    "file": "FILE",
    "json": "--json",
    "since": "--since",
    "format": "--format",
    "output": "--output",
    "head": "--head",
}


def _only(args: argparse.Namespace, form: str, allowed: set[str]) -> None:
    given = [
        flag
        for name, flag in FORM_OPTIONS.items()
        if name not in allowed and getattr(args, name, None) not in (None, False)
    ]
    if given:
        raise UsageError(f"{form} does not take {', '.join(given)}.")


async def export(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    _only(args, "audit export", allowed={"since", "format", "output"})
    since = since_timestamp(args.since)
    records = await governed_records(client, since)
    entries = audit_chain.chain(
        (entry for record in records for entry in audit_chain.record_entries(record)),
        exported_at=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        since=since,
    )
    text = "".join(line + "\n" for line in audit_chain.lines(entries, args.format or "jsonl"))
    if args.output:
        try:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot write {args.output}: {error.strerror or error}") from None
    else:
        sys.stdout.write(text)
    # The head goes to stderr, apart from the stream: store it to catch a re-hashed rewrite.
    print(
        f"exported {len(entries) - 1} records of {len(records)} workflow runs; "
        f"head {audit_chain.head(entries)}",
        file=sys.stderr,
    )
    return 0


def since_timestamp(since: str | None) -> str | None:
    """`--since 24h` as the UTC timestamp it means now (None: all time)."""
    if not since:
        return None
    cutoff = datetime.now(UTC) - timedelta(seconds=duration_seconds(since, "--since"))
    return cutoff.isoformat(timespec="seconds").replace("+00:00", "Z")


async def governed_records(client: Client, since: str | None) -> list[AuditRecord]:
    """The audit record of every governed and declarative run started since, oldest first."""
    query = f"WorkflowType IN ('{WORKFLOW_NAME}', '{DECLARATIVE_WORKFLOW}')"
    if since:
        query += f' AND StartTime >= "{since}"'
    try:
        executions = [execution async for execution in client.list_workflows(query)]
    except RPCError as error:
        raise CliError(f"Temporal refused the workflow listing: {error.message}") from None
    # Visibility has no portable ORDER BY: sort here, oldest first, so the order is stable.
    executions.sort(key=lambda execution: (execution.start_time, execution.id, execution.run_id))
    return await _records(client, executions)


async def _records(client: Client, executions: list[WorkflowExecution]) -> list[AuditRecord]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(execution: WorkflowExecution) -> AuditRecord:
        async with gate:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            try:
                history = await handle.fetch_history()
            except RPCError as error:
                raise CliError(
                    f"Temporal refused the history of {execution.id}: {error.message}"
                ) from None
            return await build_audit(history, client.data_converter)

    return list(await asyncio.gather(*(one(execution) for execution in executions)))


def verify_command(args: argparse.Namespace) -> int:
    """`orchestrator audit verify FILE [--head HASH]`: no Temporal needed."""
    _only(args, "audit verify", allowed={"file", "head"})
    if not args.file:
        raise UsageError("audit verify needs the exported file: orchestrator audit verify FILE.")
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror or error}.") from None
    result = audit_chain.verify(data.splitlines(), expected_head=args.head)
    if result.ok:
        print(f"ok: {result.records} records, head {result.head}")
        return 0
    for problem in result.problems:
        print(f"{args.file}: {problem}")
    return 1


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
        if decision.outcome in ("unavailable", "error"):
            lines.append(
                f"{decision.at}  policy {decision.action} for {decision.subject}: "
                f"NO DECISION (policy {decision.outcome})"
            )
            lines += [f"{'':25}- {reason}" for reason in decision.reasons]
            continue
        verdict = "ALLOW" if decision.allow else "DENY"
        extra = ", approval required" if decision.require_approval else ""
        lines.append(
            f"{decision.at}  policy {decision.action} for {decision.subject}: {verdict}"
            f" (risk {decision.risk}{extra}; decision {decision.decision_id};"
            f" revision {decision.policy_revision})"
        )
        lines += [f"{'':25}- {reason}" for reason in decision.reasons]
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
    details = []
    if decision.requirement:
        roles = ", ".join(decision.requirement.approver_roles) or "?"
        details.append(f"requires {decision.requirement.quorum} approval(s) from: {roles}")
    if decision.approval_digest:
        details.append(f"approves {decision.approval_digest}")
    if decision.authenticated_approver:
        issuer = f" (issuer {decision.credential_issuer})" if decision.credential_issuer else ""
        details.append(f"authenticated as {decision.authenticated_approver}{issuer}")
    elif decision.credential_subject:
        details.append(f"credential for {decision.credential_subject} NOT authenticated")
    if decision.shadow:
        shadow = decision.shadow
        verdict = "agrees" if shadow.agrees else f"DISAGREES: {shadow.outcome}"
        details.append(f"shadow policy {shadow.policy_revision} {verdict}")
        details += [f"  {difference}" for difference in shadow.differences]
    return details
