"""`orchestrator definition ...` and `orchestrator run FILE`: declarative workflows.

`definition validate FILE` checks a definition without Temporal: exit 0 valid, 1 invalid
(every problem printed with its path) or unreadable, 2 usage (no such file).
`definition validate DIR` checks every *.yaml, *.yml and *.json file in it, one verdict
each: exit 0 all valid, 1 any invalid or unreadable, 2 no definition file there.
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

from temporalio.client import Client

from orchestrator.cli import output, render, starting
from orchestrator.cli.dispatch import checked_then_client, offline
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.config import Settings
from orchestrator.declarative.build import build_definition
from orchestrator.declarative.catalogs import installed_catalog
from orchestrator.declarative.model import (
    DeclarativeRequest,
)
from orchestrator.declarative.parse import LoadError, definition_name, load_file
from orchestrator.declarative.problem import Problem
from orchestrator.declarative.schema_checks import SCHEMA
from orchestrator.declarative.validate import problems
from orchestrator.governed.model import REQUESTER_PATTERN

DEFINITION_SUFFIXES = (".yaml", ".yml", ".json")


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `definition {validate,catalog,schema}` and `run` on the CLI's subparsers."""
    definition = subparsers.add_parser(
        "definition", help="check declarative workflow definitions (no Temporal needed)"
    )
    definition.set_defaults(handler=offline(validate_command))
    actions = definition.add_subparsers(dest="definition_command", required=True, metavar="ACTION")
    validate = actions.add_parser(
        "validate",
        help="check a definition file (YAML or JSON), or every one in a directory: every "
        "problem with its path",
    )
    validate.add_argument("file", metavar="FILE|DIR")
    output.add_options(validate)
    listing = actions.add_parser("catalog", help="the activities a definition may use")
    output.add_options(listing)
    schema = actions.add_parser(
        "schema", help="print the format's JSON Schema (for editors; JSON in every format)"
    )
    output.add_options(schema)

    run = subparsers.add_parser("run", help="validate a definition file and run it")
    run.add_argument("file", metavar="FILE", help="the definition (YAML or JSON)")
    run.add_argument(
        "--requester",
        required=True,
        help="who asks (a user id, e.g. alice); the start is signed with the key of "
        "ORCH_IDENTITY, else of the requester",
    )
    run.add_argument("--id", help="workflow id (default: declarative-<name>-<random>)")
    run.add_argument(
        "--wait",
        action="store_true",
        help="wait for the outcome (progress of pending approvals goes to stderr)",
    )
    output.add_options(run)
    run.set_defaults(handler=checked_then_client(prepare, run_prepared))


def validate_command(args: argparse.Namespace) -> int:
    """`orchestrator definition ACTION`: runs without Temporal."""
    if args.definition_command == "schema":
        output.emit(args, SCHEMA, lambda: json.dumps(SCHEMA, indent=2))
        return 0
    if args.definition_command == "catalog":
        return _catalog(args)
    path = Path(args.file)
    if not path.is_dir():
        report = _validate_file(path)
        output.emit(args, report, lambda: _report_text(report))
        return 0 if report["valid"] else 1
    files = sorted(
        child for child in path.iterdir() if child.is_file() and child.suffix in DEFINITION_SUFFIXES
    )
    if not files:
        raise UsageError(
            f"{path}: a directory with no definition files ({', '.join(DEFINITION_SUFFIXES)})."
        )
    reports = [_validate_file(file, one_of_many=True) for file in files]
    invalid = sum(not report["valid"] for report in reports)
    text = [_report_text(report) for report in reports]
    text.append(f"{path}: {len(reports) - invalid} of {len(reports)} definition(s) valid")
    output.emit(args, reports, "\n".join(text))
    return 0 if all(report["valid"] for report in reports) else 1


def _validate_file(path: Path, *, one_of_many: bool = False) -> dict[str, Any]:
    """One file's verdict. A file that cannot be read is a CliError on its own, and in a
    directory one more invalid file, with that as its error, so the others still count."""
    source = str(path)
    if not path.exists():
        raise UsageError(f"{source}: no such file.")
    try:
        document = load_file(path)
    except LoadError as error:
        if not one_of_many:
            raise CliError(str(error)) from None
        return {"file": source, "valid": False, "error": str(error), "problems": []}
    found = problems(document, installed_catalog(), source)
    name = definition_name(document, source) if isinstance(document, dict) else "?"
    report: dict[str, Any] = {
        "file": source,
        "valid": not found,
        "workflowName": name,
        "problems": [asdict(problem) for problem in found],
    }
    if not found:
        report["shape"] = _shape(document, source)
    return report


def _report_text(report: dict[str, Any]) -> str:
    if report.get("error"):
        return str(report["error"])
    if report["valid"]:
        return f"{report['file']}: valid ({report['shape']})"
    lines = [f"{report['file']}: {len(report['problems'])} problem(s)"]
    lines += [f"  {Problem(**problem)}" for problem in report["problems"]]
    return "\n".join(lines)


def _catalog(args: argparse.Namespace) -> int:
    catalog = installed_catalog()
    lines = []
    for entry in catalog:
        kind = "" if entry.kind == "activity" else f"  [{entry.kind}: run by the workflow]"
        lines.append(f"{entry.signature()}{kind}")
        if entry.description:
            lines.append(f"    {entry.description}")
    output.emit(args, catalog.describe(), "\n".join(lines))
    return 0


def _load(file: str) -> Any:
    path = Path(file)
    if not path.exists():
        raise UsageError(f"{file}: no such file.")
    if path.is_dir():
        raise UsageError(f"{file}: a directory; run takes one definition file.")
    try:
        return load_file(path)
    except LoadError as error:
        raise CliError(str(error)) from None


def _shape(document: dict[str, Any], source: str) -> str:
    definition = build_definition(document, source, installed_catalog())
    form = ", flat activities form" if definition.legacy else ""
    return f"{definition.name}: {definition.steps} step(s), depth {definition.depth}{form}"


def prepare(args: argparse.Namespace, settings: Settings) -> starting.Prepared[DeclarativeRequest]:
    """The request `run FILE` starts and the key that signs it, checked without Temporal."""
    requester: str = args.requester
    document = _load(args.file)
    found = problems(document, installed_catalog(), args.file)
    if found:
        raise CliError(_invalid_message(args.file, found))
    if not REQUESTER_PATTERN.match(requester):
        raise CliError(
            f"--requester {requester!r}: a user id like 'alice' "
            "(lower case letters, digits, . _ @ -)"
        )
    request = DeclarativeRequest(
        definition=document, requester=requester, source=Path(args.file).name
    )
    # Before any id is chosen: an identity that may not ask for this starts nothing.
    return starting.Prepared(request, starting.signing_key(settings, requester))


async def handle(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """`orchestrator run FILE`: validate, then start (and with --wait, await) the workflow."""
    return await run_prepared(args, settings, client, prepare(args, settings))


async def run_prepared(
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    prepared: starting.Prepared[DeclarativeRequest],
) -> int:
    request = prepared.request
    name = definition_name(request.definition, args.file)
    workflow_id = args.id or f"declarative-{_slug(name)}-{uuid.uuid4().hex[:8]}"
    return await starting.start_and_report(
        args, settings, client, prepared, workflow_id, _render, workflow_name=name
    )


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
        view = pending.get("view")
        lines.append(
            f"pending   {pending['path']}: {pending['description']} "
            f"(deadline {pending['deadline']})"
        )
        if view:
            lines.append(f"waiting   {pending['path']}: {render.requirement(view)}")
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
