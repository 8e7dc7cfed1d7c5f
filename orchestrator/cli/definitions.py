"""`orchestrator definition ...` and `orchestrator run FILE`: declarative workflows.

`definition validate FILE` checks a definition without Temporal: exit 0 valid, 1 invalid
(every problem printed with its path) or unreadable, 2 usage (no such file).
`definition catalog` lists the activities definitions may name; `definition schema`
prints the JSON Schema for editors. `run FILE --requester NAME` validates the same way
and starts a DeclarativeWorkflow only when the definition is valid; `--wait` waits for
the outcome (exit 0 completed, 1 denied / rejected / expired / failed).
"""

from __future__ import annotations

import argparse
import json
import re
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError, FailureError, WorkflowAlreadyStartedError
from temporalio.service import RPCError

from orchestrator.cli import render
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.config import Settings
from orchestrator.declarative.catalog import installed_catalog
from orchestrator.declarative.loader import (
    LoadError,
    build_definition,
    definition_name,
    load_file,
)
from orchestrator.declarative.model import (
    DeclarativeRequest,
    DeclarativeResult,
)
from orchestrator.declarative.validate import SCHEMA, Problem, problems
from orchestrator.declarative.workflow import WORKFLOW_NAME
from orchestrator.governed.model import REQUESTER_PATTERN

OUTCOME_BY_ERROR_TYPE = {
    "PolicyDenied": "denied",
    "ApprovalRejected": "rejected",
    "ApprovalExpired": "expired",
    "InvalidDefinition": "invalid",
}


def add_commands(subparsers: Any) -> None:
    """Register `definition {validate,catalog,schema}` and `run` on the CLI's subparsers."""
    definition = subparsers.add_parser(
        "definition", help="check declarative workflow definitions (no Temporal needed)"
    )
    actions = definition.add_subparsers(dest="definition_command", required=True, metavar="ACTION")
    validate = actions.add_parser(
        "validate", help="check a definition file (YAML or JSON): every problem with its path"
    )
    validate.add_argument("file", metavar="FILE")
    validate.add_argument("--json", action="store_true", help="print JSON")
    listing = actions.add_parser("catalog", help="the activities a definition may use")
    listing.add_argument("--json", action="store_true", help="print JSON")
    actions.add_parser("schema", help="print the format's JSON Schema (for editors)")

    run = subparsers.add_parser("run", help="validate a definition file and run it")
    run.add_argument("file", metavar="FILE", help="the definition (YAML or JSON)")
    run.add_argument("--requester", required=True, help="who asks (a user id, e.g. alice)")
    run.add_argument("--id", help="workflow id (default: declarative-<name>-<random>)")
    run.add_argument("--wait", action="store_true", help="wait for the outcome")
    run.add_argument("--json", action="store_true", help="print JSON")


def validate_command(args: argparse.Namespace) -> int:
    """`orchestrator definition ACTION`: runs without Temporal."""
    if args.definition_command == "schema":
        print(json.dumps(SCHEMA, indent=2))
        return 0
    if args.definition_command == "catalog":
        return _catalog(args)
    document = _load(args.file)
    found = problems(document, installed_catalog(), args.file)
    name = definition_name(document, args.file) if isinstance(document, dict) else "?"
    if args.json:
        print(
            json.dumps(
                {
                    "file": args.file,
                    "valid": not found,
                    "workflowName": name,
                    "problems": [asdict(problem) for problem in found],
                },
                indent=2,
            )
        )
    elif found:
        print(f"{args.file}: {len(found)} problem(s)")
        for problem in found:
            print(f"  {problem}")
    else:
        print(f"{args.file}: valid ({_shape(document, args.file)})")
    return 1 if found else 0


def _catalog(args: argparse.Namespace) -> int:
    catalog = installed_catalog()
    if args.json:
        print(json.dumps(catalog.describe(), indent=2))
        return 0
    for entry in catalog:
        kind = "" if entry.kind == "activity" else f"  [{entry.kind}: run by the workflow]"
        print(f"{entry.signature()}{kind}")
        if entry.description:
            print(f"    {entry.description}")
    return 0


def _load(file: str) -> Any:
    if not Path(file).exists():
        raise UsageError(f"{file}: no such file.")
    try:
        return load_file(file)
    except LoadError as error:
        raise CliError(str(error)) from None


def _shape(document: dict[str, Any], source: str) -> str:
    definition = build_definition(document, source, installed_catalog())
    form = ", flat activities form" if definition.legacy else ""
    return f"{definition.name}: {definition.steps} step(s), depth {definition.depth}{form}"


async def handle(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """`orchestrator run FILE`: validate, then start (and with --wait, await) the workflow."""
    document = _load(args.file)
    found = problems(document, installed_catalog(), args.file)
    if found:
        raise CliError(_invalid_message(args.file, found))
    if not REQUESTER_PATTERN.match(args.requester):
        raise CliError(
            f"--requester {args.requester!r}: a user id like 'alice' "
            "(lower case letters, digits, . _ @ -)"
        )
    name = definition_name(document, args.file)
    workflow_id = args.id or f"declarative-{_slug(name)}-{uuid.uuid4().hex[:8]}"
    try:
        handle_ = await client.start_workflow(
            WORKFLOW_NAME,
            DeclarativeRequest(
                definition=document, requester=args.requester, source=Path(args.file).name
            ),
            id=workflow_id,
            task_queue=settings.temporal.task_queue,
            result_type=DeclarativeResult,
        )
    except WorkflowAlreadyStartedError:
        raise CliError(f"a workflow with id {workflow_id!r} is already running.") from None
    except RPCError as error:
        raise CliError(f"Temporal refused to start {workflow_id}: {error.message}") from None
    started = {
        "workflow_id": workflow_id,
        "run_id": handle_.result_run_id,
        "workflow_name": name,
        "trace_id": format(trace.get_current_span().get_span_context().trace_id, "032x"),
        "temporal_ui": settings.workflow_link(workflow_id),
    }
    if not args.wait:
        print(json.dumps(started, indent=2) if args.json else render.started(started))
        return 0
    if not args.json:
        print(render.started(started))
    try:
        result = await handle_.result()
        outcome: dict[str, Any] = {"outcome": "completed", "result": asdict(result)}
    except WorkflowFailureError as failure:
        outcome = _failure(failure)
        message = f"workflow {outcome['outcome']}: {outcome.get('message', '')}"
        trace.get_current_span().set_status(Status(StatusCode.ERROR, message))
    print(json.dumps({**started, **outcome}, indent=2) if args.json else _render(outcome))
    return 0 if outcome["outcome"] == "completed" else 1


def render_status(info: dict[str, Any]) -> str:
    summary = info["summary"]
    lines = [
        f"workflow  {info['workflow_id']}  [{info['execution_status']}]",
        f"stage     {info['stage']}" + (f": {info['error']}" if info.get("error") else ""),
        f"requester {info['requester']}",
        f"defined   {info['workflow_name']} ({info['total_steps']} steps), run {info['run']}",
        f"progress  {info['completed_steps']} completed"
        + (f"; running {', '.join(info['running'])}" if info["running"] else ""),
        f"policy    {summary['allowed']} allow, {summary['denied']} deny",
        f"approval  {info['approval_status']}",
    ]
    for pending in info["pending_approvals"]:
        lines.append(
            f"pending   {pending['path']}: {pending['description']} "
            f"(deadline {pending['deadline']})"
        )
    for stopped in info["stopped_branches"]:
        lines.append(f"stopped   {stopped['branch']} at {stopped['step']}")
    lines.append(f"ui        {info['temporal_ui']}")
    return "\n".join(lines)


def _invalid_message(file: str, found: list[Problem]) -> str:
    lines = [f"{file}: {len(found)} problem(s); nothing was started:"]
    lines += [f"  {problem}" for problem in found]
    return "\n".join(lines)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "definition"


def _failure(failure: WorkflowFailureError) -> dict[str, Any]:
    cause = failure.cause
    while isinstance(cause, FailureError) and not isinstance(cause, ApplicationError):
        if cause.cause is None:
            break
        cause = cause.cause
    if not isinstance(cause, ApplicationError):
        return {"outcome": "failed", "error_type": type(cause).__name__, "message": str(cause)}
    details = list(cause.details) if cause.details else []
    first = details[0] if details else {}
    outcome: dict[str, Any] = {
        "outcome": OUTCOME_BY_ERROR_TYPE.get(cause.type or "", "failed"),
        "error_type": cause.type,
        "message": cause.message,
    }
    if isinstance(first, dict):
        outcome["reasons"] = first.get("reasons", [])
        outcome["decision_id"] = first.get("decision_id", "")
    elif isinstance(first, list):
        outcome["problems"] = first
    return outcome


def _render(info: dict[str, Any]) -> str:
    lines = [f"outcome   {info['outcome']}"]
    if info["outcome"] != "completed":
        lines.append(f"error     {info.get('error_type')}: {info.get('message')}")
        lines += [f"  - {reason}" for reason in info.get("reasons", [])]
        return "\n".join(lines)
    result = info["result"]
    summary = result["summary"]
    skipped = len(result["skipped"])
    lines.append(
        f"steps     {result['completed_steps']} completed"
        + (f", {skipped} skipped" if skipped else "")
        + f" in {result['runs']} run(s)"
    )
    lines.append(
        f"policy    {summary['allowed'] + summary['denied']} decision(s): "
        f"{summary['allowed']} allow, {summary['denied']} deny "
        f"(revision {', '.join(summary['policy_revisions']) or '-'})"
    )
    for approval in result["approvals"]:
        lines.append(
            f"approval  {approval['path']}: {approval['status']}"
            + (f" by {approval['approver']} at {approval['at']}" if approval["approver"] else "")
        )
    for stopped in result["stopped_branches"]:
        lines.append(
            f"stopped   {stopped['branch']} at {stopped['step']}: {'; '.join(stopped['reasons'])}"
        )
    output = json.dumps(result["output"])
    lines.append(f"output    {output if len(output) <= 200 else output[:197] + '...'}")
    return "\n".join(lines)
