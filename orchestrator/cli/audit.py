"""`orchestrator audit ID`, `audit export`, `audit verify FILE`, `audit schedule --every D`
and `history ID --json`.

The record comes from history alone; `export` chains every governed and declarative
workflow's records into one tamper-evident stream and `verify` checks one, offline.
Reading runs is orchestrator/audit/runs.py, the stream orchestrator/audit/chain.py, the
text orchestrator/audit/text.py: this module parses the options and writes the output.

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
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator import durations
from orchestrator.audit import checkpoint, scheduled
from orchestrator.audit import export as audit_export
from orchestrator.audit.checkpoint import Problem
from orchestrator.audit.history import read_run
from orchestrator.audit.records import UnreadableRun
from orchestrator.audit.runs import RunsUnavailable, fetch_history, started_since
from orchestrator.audit.text import record_json, record_text
from orchestrator.audit.verify import Verification, verify
from orchestrator.cli import output
from orchestrator.cli.dispatch import with_client
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds
from orchestrator.config import Settings
from orchestrator.connection import pollers

EXPORT, VERIFY, SCHEDULE = "export", "verify", "schedule"

T = TypeVar("T")


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit ID|export|verify` and `history ID` to the CLI's parser."""
    sub = subparsers
    auditing = sub.add_parser(
        "audit",
        help="who did what, every decision and approval, from history",
        usage="%(prog)s ID [--json] | export [--since D] [--format F] [--output FILE]"
        " | verify FILE [--head HASH] [--checkpoints LOG --key PUB] [--json]"
        " | schedule --every D",
        description="audit ID: one workflow's record. audit export: every governed and "
        "declarative workflow's records as one hash-chained stream. audit verify FILE: "
        "check a stream for edited, removed, reordered or cut records (no Temporal needed); "
        "with --checkpoints and --key, also against the signed checkpoint of its export. "
        "audit schedule --every D: a signed checkpoint of the runs since the last one, every D, "
        "archived in ORCH_AUDIT_ARCHIVE_DIR by the worker that holds the signing key. "
        "Here --output is the export's file, so the JSON format is --json (no -o).",
    )
    auditing.add_argument("workflow_id", metavar="ID|export|verify|schedule")
    auditing.add_argument("file", nargs="?", metavar="FILE", help="verify: the exported stream")
    output.add_options(auditing, output_option=False)
    auditing.add_argument(
        "--since", metavar="DURATION", help="export: workflows started within, e.g. 24h, 7d"
    )
    auditing.add_argument(
        "--format", choices=("jsonl", "cloudevents"), help="export: line format (default jsonl)"
    )
    auditing.add_argument("--output", metavar="FILE", help="export: write here, not to stdout")
    auditing.add_argument("--head", metavar="HASH", help="verify: the head hash recorded at export")
    auditing.add_argument(
        "--checkpoints", metavar="LOG", help="verify: the signed checkpoint log of the exports"
    )
    auditing.add_argument(
        "--key", metavar="PUB", help="verify: the public key (PEM) the checkpoints are signed with"
    )
    auditing.add_argument(
        "--every", metavar="DURATION", help="schedule: how often a checkpoint is signed, e.g. 1h"
    )
    auditing.set_defaults(handler=_audit_command)

    history_parser = sub.add_parser("history", help="export a workflow's raw event history as JSON")
    history_parser.add_argument("workflow_id", metavar="ID")
    output.add_options(history_parser)  # JSON in every format; jsonl puts it on one line
    history_parser.set_defaults(handler=with_client(history))


def _audit_command(args: argparse.Namespace) -> int:
    if args.workflow_id == "verify":  # offline: needs neither settings nor Temporal
        return verify_command(args)
    return with_client(audit)(args)


async def from_temporal(reading: Awaitable[T]) -> T:
    """What Temporal answers, or its refusal as the CLI reports it (exit 1)."""
    try:
        return await reading
    except RunsUnavailable as error:
        raise CliError(str(error)) from None


async def history(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    text = (await from_temporal(fetch_history(client, args.workflow_id))).to_json()
    output.emit(args, json.loads(text), text)
    return 0


async def audit(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    if args.workflow_id == EXPORT:
        return await export(args, settings, client)
    if args.workflow_id == SCHEDULE:
        return await schedule_checkpoints(args, settings, client)
    _only(args, "audit ID", allowed={"output_format"})
    history = await from_temporal(fetch_history(client, args.workflow_id))
    run = await read_run(history, client.data_converter)
    if isinstance(run, UnreadableRun):
        raise CliError(f"cannot read the history of {args.workflow_id}: {run.error}")
    document = record_json(run)
    output.emit(args, json.loads(document), lambda: record_text(run, settings))
    return 0


# The `audit` parser shares one set of options between its three forms (so `audit ID`
# parses as before); each form refuses the options that belong to another.
FORM_OPTIONS = {
    "file": "FILE",
    "output_format": "--json",
    "since": "--since",
    "format": "--format",
    "output": "--output",
    "head": "--head",
    "checkpoints": "--checkpoints",
    "key": "--key",
    "every": "--every",
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
    exported = await from_temporal(
        audit_export.build(client, since_timestamp(args.since), args.format or "jsonl")
    )
    text = exported.text
    if args.output:
        try:
            await asyncio.to_thread(Path(args.output).write_text, text, encoding="utf-8")
        except OSError as error:
            raise CliError(f"cannot write {args.output}: {error.strerror or error}") from None
    else:
        sys.stdout.write(text)
        # Delivered before it is reported exported: a reader gone (`| head`) ends it here.
        sys.stdout.flush()
    problems = exported.problems
    for problem in problems:
        print(f"orchestrator: audit export: {problem}", file=sys.stderr)
    # The head goes to stderr, apart from the stream: store it to catch a re-hashed rewrite.
    print(exported.summary(), file=sys.stderr)
    if settings.audit_signing_key_file is not None:
        print(sign_export(exported.entries, settings, args.output), file=sys.stderr)
    return 1 if problems else 0


def sign_export(entries: list[dict[str, Any]], settings: Settings, output: str | None) -> str:
    """Checkpoint the export into the log (and beside its file); the line that says so."""
    assert settings.audit_signing_key_file is not None
    try:
        key = checkpoint.load_private_key(settings.audit_signing_key_file)
        signed = checkpoint.checkpoint_export(entries, key, settings.audit_checkpoint_log)
        beside = checkpoint.write_beside(Path(output), signed) if output else None
    except checkpoint.CheckpointError as error:
        raise CliError(f"audit export: not checkpointed: {error}") from None
    except OSError as error:
        raise CliError(f"audit export: not checkpointed: {error.strerror or error}") from None
    return (
        f"checkpoint {signed['seq']} signed with key {signed['key_id']}, appended to "
        f"{settings.audit_checkpoint_log}" + (f" and written to {beside}" if beside else "")
    )


async def schedule_checkpoints(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    _only(args, "audit schedule", allowed={"every"})
    if not args.every:
        raise UsageError("audit schedule needs --every D, e.g. --every 1h.")
    every = timedelta(seconds=duration_seconds(args.every, "--every", positive=True))
    if every < MIN_CHECKPOINT_INTERVAL:
        raise UsageError(f"audit schedule: --every {args.every!r} is under a minute.")
    try:
        handle = await scheduled.set_schedule(client, settings, every)
        served = await pollers(client, settings.audit_task_queue)
    except RPCError as error:
        raise CliError(f"Temporal refused the checkpoint schedule: {error.message}") from None
    print(
        f"audit checkpoints every {durations.compact(every.total_seconds())}: schedule "
        f"{handle.id} starts them on task queue {settings.audit_task_queue}. "
        f"`orchestrator schedule describe {handle.id}` shows each one; "
        f"`orchestrator schedule delete {handle.id}` stops them."
    )
    if not served:
        print(
            f"orchestrator: no worker serves {settings.audit_task_queue} yet: checkpoints wait "
            "for a worker started with ORCH_AUDIT_SIGNING_KEY_FILE set.",
            file=sys.stderr,
        )
    return 0


# Each checkpoint reads every history of its window; more often than this is churn.
MIN_CHECKPOINT_INTERVAL = timedelta(minutes=1)


def since_timestamp(since: str | None) -> str | None:
    """`--since 24h` as the UTC timestamp it means now (None: all time)."""
    if not since:
        return None
    return started_since(duration_seconds(since, "--since", positive=True))


def verify_command(args: argparse.Namespace) -> int:
    """`orchestrator audit verify FILE [--head HASH]`: no Temporal needed."""
    _only(args, "audit verify", allowed={"file", "head", "output_format", "checkpoints", "key"})
    if not args.file:
        raise UsageError("audit verify needs the exported file: orchestrator audit verify FILE.")
    if bool(args.checkpoints) != bool(args.key):
        raise UsageError("audit verify: --checkpoints LOG and --key PUB go together.")
    try:
        data = Path(args.file).read_bytes()
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror or error}.") from None
    result = verify(data.splitlines(), expected_head=args.head)
    anchored = against_checkpoints(args, result) if args.checkpoints else []
    ok = result.ok and not anchored
    report: dict[str, Any] = {
        "file": args.file,
        "ok": ok,
        "records": result.records,
        "head": result.head,
        "problems": [
            {"line": p.line, "kind": str(p.kind), "message": p.message} for p in result.problems
        ],
    }
    if args.checkpoints:
        report["checkpoint_problems"] = [
            {"kind": str(p.kind), "message": p.message} for p in anchored
        ]
    if ok:
        text = f"ok: {result.records} records, head {result.head}" + (
            ", as checkpointed and signed" if args.checkpoints else ""
        )
    else:
        lines = [f"{args.file}: {problem}" for problem in result.problems]
        lines += [f"{args.checkpoints}: {problem}" for problem in anchored]
        text = "\n".join(lines)
    output.emit(args, report, text)
    return 0 if ok else 1


def against_checkpoints(args: argparse.Namespace, result: Verification) -> list[Problem]:
    """The signed log's own problems, then the stream against its export's checkpoint."""
    try:
        public = checkpoint.load_public_key(Path(args.key))
        checkpoints = checkpoint.read_log(Path(args.checkpoints))
    except checkpoint.CheckpointError as error:
        raise UsageError(f"audit verify: {error}") from None
    return checkpoint.check(result, checkpoints, public)
