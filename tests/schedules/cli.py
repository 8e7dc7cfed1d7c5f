"""Run `orchestrator schedule ...` in the test's event loop, as `orchestrator.cli.main` would.

The sub-commands are built by `orchestrator.cli.schedule.add_commands` and run by its
`handle`, with the CLI's error contract: one line on stderr and exit 1 (refused) or 2 (usage).
"""

from __future__ import annotations

import argparse
import contextlib
import io
from dataclasses import dataclass

from temporalio.client import Client

from orchestrator.cli import schedule
from orchestrator.cli.errors import CliError
from orchestrator.config import Settings


@dataclass
class Outcome:
    code: int
    out: str
    err: str


class _ParserExit(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message


class _Parser(argparse.ArgumentParser):
    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        raise _ParserExit(status, message or "")

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _ParserExit(2, f"{self.prog}: error: {message}\n")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="orchestrator")
    sub = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    schedule.add_commands(sub)
    return root


REPORT = "Generate the weekly usage report"


async def create_hourly(
    settings: Settings, client: Client, schedule_id: str, *options: str, requester: str = "alice"
) -> Outcome:
    """`schedule create` of the weekly report every hour as `schedule_id`, plus `options`."""
    return await run_cli(
        settings, client,
        "schedule", "create", "--task", REPORT, "--requester", requester, "--interval", "1h",
        "--id", schedule_id, *options,
    )  # fmt: skip


async def run_cli(settings: Settings, client: Client, *argv: str) -> Outcome:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parser().parse_args(list(argv))
            code = await schedule.handle(args, settings, client)
        except _ParserExit as stop:
            err.write(stop.message)
            code = stop.code
        except CliError as error:
            err.write(f"orchestrator: {error}\n")
            code = error.exit_code
    return Outcome(code, out.getvalue(), err.getvalue())
