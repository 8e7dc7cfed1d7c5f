"""How a sub-command runs, by what it needs: nothing, the settings, or a Temporal client.

Each CLI module adds its sub-commands with `parser.set_defaults(handler=...)`, wrapping
its function in one of these, and `orchestrator.cli.main` calls `args.handler(args)`:
the dispatch table is the parser itself, so a new command is added in one place.

A client command runs inside its own span ("orchestrator <command>"), flushed before the
process exits; a command whose input is checked before connecting (`start`, `run`) names
bad input even while Temporal is down.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from temporalio.client import Client

from orchestrator.cli.errors import CliError
from orchestrator.config import Settings
from orchestrator.connection import NoWorker, connect
from orchestrator.connection import require_worker as worker_polls
from telemetry.logs import setup_logging
from telemetry.tracing import setup_tracing

Handler = Callable[[argparse.Namespace], int]
ClientCommand = Callable[[argparse.Namespace, Settings, Client], Awaitable[int]]
Checked = TypeVar("Checked")

tracer = trace.get_tracer("orchestrator.cli")


def offline(run: Callable[[argparse.Namespace], int]) -> Handler:
    """A command that needs neither settings nor Temporal (`audit verify FILE`)."""
    return run


def local(run: Callable[[argparse.Namespace, Settings], int]) -> Handler:
    """A command that needs the settings only (a server process in the foreground)."""
    return lambda args: run(args, Settings.from_env())


def with_client(run: ClientCommand) -> Handler:
    """A command that talks to Temporal, inside its own span."""

    async def connected(args: argparse.Namespace, settings: Settings) -> int:
        return await run(args, settings, await client_for(settings))

    return lambda args: asyncio.run(_traced(args, Settings.from_env(), connected))


def checked_then_client(
    check: Callable[[argparse.Namespace, Settings], Checked],
    run: Callable[[argparse.Namespace, Settings, Client, Checked], Awaitable[int]],
) -> Handler:
    """A command whose input is checked before connecting: a usage error (or a refusal)
    names itself even while Temporal is down."""

    async def checked(args: argparse.Namespace, settings: Settings) -> int:
        prepared = check(args, settings)
        return await run(args, settings, await client_for(settings), prepared)

    return lambda args: asyncio.run(_traced(args, Settings.from_env(), checked))


async def client_for(settings: Settings) -> Client:
    """A connected client, or one line saying Temporal is not reachable and what to do."""
    try:
        return await connect(settings.temporal)
    except RuntimeError as error:
        raise CliError(
            f"cannot reach Temporal at {settings.temporal.address} ({error}); "
            "is the stack up? (`make up`)",
            code="unreachable",
        ) from None


async def require_worker(client: Client, task_queue: str) -> None:
    """CliError (code no_worker) within seconds when no worker polls `task_queue`: a query
    or update sent anyway would wait out Temporal's own timeout before failing."""
    try:
        await worker_polls(client, task_queue)
    except NoWorker as error:
        raise CliError(str(error), code="no_worker") from None


async def _traced(
    args: argparse.Namespace,
    settings: Settings,
    run: Callable[[argparse.Namespace, Settings], Awaitable[int]],
) -> int:
    setup_logging("orchestrator-cli", "WARNING")
    tracing = setup_tracing("orchestrator-cli")
    try:
        with tracer.start_as_current_span(f"orchestrator {args.command}") as span:
            try:
                return await run(args, settings)
            except CliError as error:
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise
    finally:
        tracing.shutdown()
