"""`orchestrator`: start, approve, inspect and trace governed workflows.

Exit codes scripts can trust: 0 ok, 1 denied / failed / refused / not reachable, 2 usage.
Under --json (or -o json|jsonl) a refusal is also a JSON object on stdout,
`{"error": {"code", "message", "exit_code"}}`, with the same exit code.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn, cast

from orchestrator import __version__
from orchestrator.cli import (
    api,
    audit,
    completion,
    definitions,
    listing,
    output,
    policy,
    processes,
    runs,
    schedule,
    trace,
)
from orchestrator.cli.dispatch import Handler
from orchestrator.cli.errors import CliError
from orchestrator.cli.parsing import undecodable_argument
from orchestrator.codec.codec import CodecError
from orchestrator.config import ConfigError
from orchestrator.policy.identity import IdentityError
from telemetry.tracing import TracingConfigError

# The dispatch table: each module adds its sub-commands, each with its handler
# (orchestrator/cli/dispatch.py), in the order `orchestrator --help` lists them.
COMMANDS = (processes, runs, listing, audit, trace, definitions, schedule, policy, api)

# What a shell reports for a process that SIGPIPE ended (128 + 13), like `seq 1e9 | head`.
BROKEN_PIPE_EXIT = 141


class ParseFailure(Exception):
    """argparse found a usage error; its message is reported like any other refusal."""


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so `run` can report a usage error on
    stdout too under --json. Sub-command parsers are of the same class (argparse makes
    them with the parent's type)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        raise ParseFailure(f"{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="orchestrator",
        description="Policy-governed workflows on Temporal, decided by OPA, traced into Jaeger.",
    )
    parser.add_argument("--version", action="version", version=f"orchestrator {__version__}")
    # Parser, not ArgumentParser: sub-command parsers share its error() (argparse makes
    # them of the parent's class); the modules only need what ArgumentParser offers.
    sub = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )

    for module in COMMANDS:
        module.add_commands(sub)
    # Last: its script is generated from the parser as built so far, completion included.
    completion.add_commands(sub, parser)
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
        code = run(list(sys.argv[1:] if argv is None else argv))
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


def run(argv: list[str]) -> int:
    """Run a command and return its exit code, without leaving the process (`main` does
    that): what tests of parsing and offline commands call."""
    parser = build_parser()
    undecodable = undecodable_argument(argv, set(_value_options(parser)))
    if undecodable:
        print(f"orchestrator: {undecodable}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except ParseFailure as error:
        print(error, file=sys.stderr)
        output.emit_error(output.requested_in(argv), "usage", str(error), 2)
        return 2
    format_ = output.chosen(args)
    try:
        handler: Handler = args.handler
        return handler(args)
    except (CodecError, ConfigError, IdentityError, TracingConfigError) as error:
        return _refused(format_, _code_of(error), str(error), 2)
    except CliError as error:
        return _refused(format_, error.code, str(error), error.exit_code)
    except BrokenPipeError:
        return _reader_gone()
    except KeyboardInterrupt:
        return 130


# The `code` of the JSON error object for the errors modules outside the CLI raise.
CODES: dict[type[Exception], str] = {
    CodecError: "codec",
    ConfigError: "config",
    IdentityError: "identity",
    TracingConfigError: "config",
}


def _code_of(error: Exception) -> str:
    return next((code for kind, code in CODES.items() if isinstance(error, kind)), "usage")


def _refused(format_: str, code: str, message: str, exit_code: int) -> int:
    """One line on stderr, always; under json/jsonl the same refusal on stdout as JSON."""
    print(f"orchestrator: {message}", file=sys.stderr)
    output.emit_error(format_, code, message, exit_code)
    return exit_code


def _value_options(parser: argparse.ArgumentParser) -> Iterator[str]:
    """Every option string, in every sub-command, that takes a value (`--task TEXT`)."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _value_options(sub)
        elif action.option_strings and action.nargs != 0:
            yield from action.option_strings
