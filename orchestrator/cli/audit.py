"""`orchestrator audit ID`, `audit export`, `audit verify FILE` and `history ID --json`.

The record comes from history alone; `export` chains every governed and declarative
workflow's records into one tamper-evident stream and `verify` checks one, offline.

A run whose history cannot be read (or holds values JSON cannot carry) never breaks an
export: it is in the stream as such (orchestrator/audit/chain.py), named on stderr, and
the export exits 1 once the whole stream is written, so a script notices that the stream
is not a faithful copy of every run while still getting every other run's records.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.audit import chain as audit_chain
from orchestrator.audit.records import AuditDecision, AuditRecord, UnreadableRun, build_audit
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
    history = await _history(client, args.workflow_id)
    run = await read_run(history, client.data_converter)
    if isinstance(run, UnreadableRun):
        raise CliError(f"cannot read the history of {args.workflow_id}: {run.error}")
    if args.json:
        print(json.dumps(_plain_record(run), indent=2))
    else:
        print(render(run, settings))
    return 0


async def read_run(
    history: WorkflowHistory, converter: DataConverter
) -> AuditRecord | UnreadableRun:
    """The run's audit record, or what made it unreadable.

    Anyone with a Temporal client can start these workflows with any input, so a history
    may hold payloads that do not decode (a 5,000-deep document exhausts recursion) or
    that the record cannot be built from: whatever fails, it fails for this run only.
    """
    try:
        return await build_audit(history, converter)
    except Exception as error:
        return UnreadableRun(
            workflow_id=history.workflow_id,
            run_id=history.run_id,
            workflow_type=_workflow_type(history),
            started_at=_started_at(history),
            error=_error_text(error),
        )


def _plain_record(record: AuditRecord) -> Any:
    """The record as JSON values, as the export carries them: NaN, lone surrogates and
    deep nesting from history become text rather than invalid JSON or a crash."""
    # asdict() recurses into the request and result; those may be deep, so they are
    # walked by plain() alone, which stops at audit_chain.MAX_DEPTH.
    shallow = asdict(replace(record, request={}, result=None))
    return audit_chain.plain(
        {**shallow, "request": record.request, "result": record.result}, "", []
    )


def _json(value: Any) -> str:
    return json.dumps(audit_chain.plain(value, "", []), sort_keys=True)


def _workflow_type(history: WorkflowHistory) -> str:
    events = list(history.events)
    if not events:
        return ""
    return str(events[0].workflow_execution_started_event_attributes.workflow_type.name)


def _started_at(history: WorkflowHistory) -> str:
    events = list(history.events)
    if not events:
        return ""
    moment: datetime = events[0].event_time.ToDatetime()
    return moment.isoformat(timespec="milliseconds") + "Z"


def _error_text(error: BaseException, limit: int = 300) -> str:
    """The error and its root cause: the SDK's "could not be converted" hides why."""
    root = error
    while root.__cause__ is not None and root.__cause__ is not root:
        root = root.__cause__
    text = f"{type(error).__name__}: {error}"
    if root is not error:
        text += f" ({type(root).__name__}: {root})"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


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
    runs = await governed_runs(client, since)
    entries = audit_chain.chain(
        (entry for run in runs for entry in audit_chain.run_entries(run)),
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
        # Delivered before it is reported exported: a reader gone (`| head`) ends it here.
        sys.stdout.flush()
    problems = audit_chain.problem_runs(entries)
    for problem in problems:
        print(f"orchestrator: audit export: {problem}", file=sys.stderr)
    # The head goes to stderr, apart from the stream: store it to catch a re-hashed rewrite.
    print(
        f"exported {len(entries) - 1} records of {len(runs)} workflow runs; "
        f"head {audit_chain.head(entries)}"
        + (
            f"; {len(problems)} run(s) not exported faithfully (above), each marked in the stream"
            if problems
            else ""
        ),
        file=sys.stderr,
    )
    return 1 if problems else 0


def since_timestamp(since: str | None) -> str | None:
    """`--since 24h` as the UTC timestamp it means now (None: all time)."""
    if not since:
        return None
    seconds = duration_seconds(since, "--since", positive=True)
    try:
        cutoff = datetime.now(UTC) - timedelta(seconds=seconds)
    except OverflowError:  # further back than datetime goes: every run there is
        return None
    return cutoff.isoformat(timespec="seconds").replace("+00:00", "Z")


async def governed_runs(client: Client, since: str | None) -> list[AuditRecord | UnreadableRun]:
    """Every governed and declarative run started since, oldest first: its audit record,
    or an UnreadableRun saying why there is none."""
    query = f"WorkflowType IN ('{WORKFLOW_NAME}', '{DECLARATIVE_WORKFLOW}')"
    if since:
        query += f' AND StartTime >= "{since}"'
    try:
        executions = [execution async for execution in client.list_workflows(query)]
    except RPCError as error:
        raise CliError(f"Temporal refused the workflow listing: {error.message}") from None
    # Visibility has no portable ORDER BY: sort here, oldest first, so the order is stable.
    executions.sort(key=lambda execution: (execution.start_time, execution.id, execution.run_id))
    return await _runs(client, executions)


async def governed_records(client: Client, since: str | None) -> list[AuditRecord]:
    """The audit records of the runs governed_runs could read (for reports that count)."""
    return [run for run in await governed_runs(client, since) if isinstance(run, AuditRecord)]


async def _runs(
    client: Client, executions: list[WorkflowExecution]
) -> list[AuditRecord | UnreadableRun]:
    gate = asyncio.Semaphore(FETCH_CONCURRENCY)

    async def one(execution: WorkflowExecution) -> AuditRecord | UnreadableRun:
        async with gate:
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            try:
                history = await handle.fetch_history()
            except RPCError as error:
                return UnreadableRun(
                    workflow_id=execution.id,
                    run_id=execution.run_id or "",
                    workflow_type=execution.workflow_type,
                    started_at=execution.start_time.isoformat(timespec="milliseconds").replace(
                        "+00:00", "Z"
                    ),
                    error=f"Temporal refused the history: {error.message}",
                )
            return await read_run(history, client.data_converter)

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
    what = request.get("task") or request.get("definition_name") or _json(request)[:120]
    lines = [
        f"audit of {record.workflow_id} ({record.workflow_type}, run {record.run_id})",
        f"{record.started_at}  requested by {record.requester or '?'}: {what}",
    ]
    if request.get("parameters"):
        lines.append(f"{'':25}parameters {_json(request['parameters'])}")
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
