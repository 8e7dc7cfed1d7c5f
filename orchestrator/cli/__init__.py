"""`orchestrator`: start, approve, inspect and trace governed workflows.

Exit codes scripts can trust: 0 ok, 1 denied / failed / refused / not reachable, 2 usage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Iterator, Sequence

from orchestrator.cli import api, audit, commands, definitions, policy, schedule
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import positive_int, seconds, tcp_port, undecodable_argument
from orchestrator.codec.codec import CodecError
from orchestrator.config import ConfigError, Settings
from orchestrator.policy.identity import IdentityError
from telemetry.tracing import TracingConfigError

# What a shell reports for a process that SIGPIPE ended (128 + 13), like `seq 1e9 | head`.
BROKEN_PIPE_EXIT = 141


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orchestrator",
        description="Policy-governed workflows on Temporal, decided by OPA, traced into Jaeger.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("worker", help="run a worker (workflows + activities) in the foreground")

    codec = sub.add_parser("codec-server", help="decrypt payloads for the Temporal Web UI")
    codec.add_argument("--host", default="127.0.0.1")
    codec.add_argument("--port", type=tcp_port, default=8089)

    start = sub.add_parser("start", help="start a governed workflow")
    start.add_argument("--task", required=True, help="what the agent should do")
    start.add_argument(
        "--requester",
        help="who asks (a user id, e.g. alice; default ORCH_IDENTITY); the start is signed "
        "with the key of ORCH_IDENTITY, else of the requester",
    )
    start.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="task parameter (repeatable)"
    )
    start.add_argument("--kind", help="task kind, e.g. deploy or report (policy uses it)")
    start.add_argument(
        "--approval-timeout",
        default="24h",
        metavar="DURATION",
        help="how long an approval may wait, e.g. 90s, 30m, 24h, 7d (default 24h)",
    )
    start.add_argument(
        "--on-policy-unavailable",
        default="wait",
        metavar="wait|fail",
        help="when OPA gives no answer within the budget: keep waiting (default) or fail; "
        "never run",
    )
    start.add_argument(
        "--policy-budget",
        default="2m",
        metavar="DURATION",
        help="how long a policy check may go unanswered before it counts as unavailable",
    )
    start.add_argument("--id", help="workflow id (default: governed-<random>)")
    start.add_argument("--wait", action="store_true", help="wait for the outcome")
    start.add_argument("--json", action="store_true", help="print JSON")

    for name, verb in (("approve", "approve"), ("reject", "reject")):
        decide = sub.add_parser(name, help=f"{verb} a workflow waiting for approval")
        decide.add_argument("workflow_id", metavar="ID")
        decide.add_argument(
            "--as",
            dest="approver",
            help="who decides: a key in ORCH_IDENTITY_KEYS_FILE (default ORCH_IDENTITY); "
            "the decision is signed with it",
        )
        decide.add_argument("--comment", default="", help="why")
        decide.add_argument(
            "--step", help="declarative workflows: which pending approval (its step path)"
        )
        decide.add_argument("--json", action="store_true", help="print JSON")

    status = sub.add_parser("status", help="where a workflow is and why")
    status.add_argument("workflow_id", metavar="ID")
    status.add_argument("--json", action="store_true", help="print JSON")

    listing = sub.add_parser("list", help="recent governed and declarative workflows")
    listing.add_argument("--pending", action="store_true", help="only those awaiting approval")
    listing.add_argument(
        "--limit", type=positive_int, default=20, help="at most this many (default 20)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    auditing = sub.add_parser(
        "audit",
        help="who did what, every decision and approval, from history",
        usage="%(prog)s ID [--json] | export [--since D] [--format F] [--output FILE]"
        " | verify FILE [--head HASH]",
        description="audit ID: one workflow's record. audit export: every governed and "
        "declarative workflow's records as one hash-chained stream. audit verify FILE: "
        "check a stream for edited, removed, reordered or cut records (no Temporal needed).",
    )
    auditing.add_argument("workflow_id", metavar="ID|export|verify")
    auditing.add_argument("file", nargs="?", metavar="FILE", help="verify: the exported stream")
    auditing.add_argument("--json", action="store_true", help="print JSON")
    auditing.add_argument(
        "--since", metavar="DURATION", help="export: workflows started within, e.g. 24h, 7d"
    )
    auditing.add_argument(
        "--format", choices=("jsonl", "cloudevents"), help="export: line format (default jsonl)"
    )
    auditing.add_argument("--output", metavar="FILE", help="export: write here, not to stdout")
    auditing.add_argument("--head", metavar="HASH", help="verify: the head hash recorded at export")

    history = sub.add_parser("history", help="export a workflow's raw event history as JSON")
    history.add_argument("workflow_id", metavar="ID")
    history.add_argument("--json", action="store_true", help="JSON (the only format)")

    trace = sub.add_parser("trace", help="print a workflow's trace from Jaeger as a waterfall")
    trace.add_argument("workflow_id", metavar="ID")
    trace.add_argument("--json", action="store_true", help="print the raw spans as JSON")
    trace.add_argument(
        "--wait", type=seconds, default=10.0, metavar="SECONDS", help="how long to wait for spans"
    )
    definitions.add_commands(sub)
    schedule.add_commands(sub)
    policy.add_command(sub)
    api.add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command and leave with its exit code.

    The process ends with os._exit once output is flushed: the Temporal SDK's native
    threads can crash interpreter finalisation (temporalio/sdk-python#300), which would
    turn a correct answer into exit code 134 or 139 for the scripts that rely on it.
    Spans are flushed before this, when each command's tracing shuts down.
    """
    # Text from history (a task, a parameter) may hold what UTF-8 cannot encode: shown
    # escaped rather than failing the command halfway through its output.
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    try:
        code = _run(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
    except BrokenPipeError:
        code = _reader_gone()
    with contextlib.suppress(BrokenPipeError):  # `2>&1 | head`: stderr's reader is gone too
        sys.stderr.flush()
    os._exit(code)


def _reader_gone() -> int:
    """The reader of stdout went away (`orchestrator list | head -1`): leave quietly.

    Exit 141, what a shell shows for tools SIGPIPE ends, not 0: the output was cut, and
    `audit export | gzip > f` with a failed gzip must not look like a complete export.
    """
    # Whatever is still buffered would fail again at every later flush: send it nowhere.
    with contextlib.suppress(OSError, ValueError):  # stdout is no file: nothing to redirect
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    return BROKEN_PIPE_EXIT


def _run(argv: list[str]) -> int:
    parser = build_parser()
    undecodable = undecodable_argument(argv, set(_value_options(parser)))
    if undecodable:
        print(f"orchestrator: {undecodable}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        if args.command == "audit" and args.workflow_id == "verify":
            return audit.verify_command(args)  # offline: needs neither settings nor Temporal
        settings = Settings.from_env()
        if args.command == "worker":
            commands.worker(settings)
            return 0
        if args.command == "codec-server":
            return commands.codec_server(args, settings)
        if args.command == "api":
            return api.serve(args, settings)
        if args.command == "definition":
            return definitions.validate_command(args)
        return asyncio.run(commands.run(args, settings))
    except (CodecError, ConfigError, IdentityError, TracingConfigError, UsageError) as error:
        print(f"orchestrator: {error}", file=sys.stderr)
        return 2
    except CliError as error:
        print(f"orchestrator: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130


def _value_options(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option string, in every sub-command, that takes a value (`--task TEXT`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _value_options(sub)
        elif action.option_strings and action.nargs != 0:
            yield from action.option_strings
