"""`orchestrator schedule ...`: Temporal Schedules that start governed or declarative workflows.

Every scheduled run starts the workflow like any other start, so the policy gate decides it.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from pathlib import Path

from temporalio.client import Client, ScheduleAlreadyRunningError, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.cli import output, schedule_text, starting
from orchestrator.cli.dispatch import with_client
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds, parameters, positive_int, task_details
from orchestrator.config import Settings
from orchestrator.governed.model import GovernedRequest
from orchestrator.schedules import service, timing
from orchestrator.schedules.errors import ScheduleInputError
from orchestrator.schedules.service import Changes
from orchestrator.schedules.starts import definition_start, governed_start, signed_start
from orchestrator.schedules.text import iso
from orchestrator.schedules.timing import Overlap, Timing

OVERLAP_CHOICES = [overlap.value for overlap in Overlap]


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `schedule` and its sub-commands to the CLI's parser."""
    parser = subparsers.add_parser(
        "schedule",
        help="run governed tasks or definitions on a timetable (Temporal Schedules)",
        description="Temporal Schedules that start governed or declarative workflows; "
        "each run goes through the policy gate like any other start.",
    )
    parser.set_defaults(handler=with_client(handle))
    sub = parser.add_subparsers(dest="schedule_command", required=True, metavar="SUBCOMMAND")

    create = sub.add_parser("create", help="create a schedule for a task or a definition file")
    what = create.add_mutually_exclusive_group(required=True)
    what.add_argument("--task", help="what the agent should do on each run")
    what.add_argument("--definition", type=Path, metavar="FILE", help="a workflow definition")
    create.add_argument(
        "--requester",
        required=True,
        help="who each run is for (policy checks them on every run); the schedule is signed "
        "with the key of ORCH_IDENTITY, else of the requester",
    )
    task_details(create)
    create.add_argument(
        "--approval-timeout",
        metavar="DURATION",
        help="how long each run's approval may wait (default 24h)",
    )
    create.add_argument("--id", help="schedule id (default: sched-<kind or definition>-<random>)")
    _timing_options(create)
    create.add_argument(
        "--overlap",
        choices=OVERLAP_CHOICES,
        default=Overlap.SKIP.value,
        help="when a run is due while the last still runs (default skip)",
    )
    create.add_argument("--note", help="a note shown by describe and list")
    create.add_argument("--paused", action="store_true", help="create it paused")
    output.add_options(create)

    listing = sub.add_parser("list", help="the schedules, with their next run")
    listing.add_argument(
        "--limit", type=positive_int, default=50, help="at most this many (default 50)"
    )
    output.add_options(listing)

    describe = sub.add_parser("describe", help="a schedule: when, what, next runs, recent runs")
    describe.add_argument("schedule_id", metavar="ID")
    output.add_options(describe)

    for name, verb in (("pause", "pause"), ("unpause", "resume")):
        toggle = sub.add_parser(name, help=f"{verb} a schedule")
        toggle.add_argument("schedule_id", metavar="ID")
        toggle.add_argument("--reason", help="why (kept as the schedule's note)")
        output.add_options(toggle)

    trigger = sub.add_parser("trigger", help="start a run now")
    trigger.add_argument("schedule_id", metavar="ID")
    trigger.add_argument(
        "--overlap", choices=OVERLAP_CHOICES, help="override the overlap policy for this run"
    )
    output.add_options(trigger)

    backfill = sub.add_parser("backfill", help="take the runs of a past period now")
    backfill.add_argument("schedule_id", metavar="ID")
    backfill.add_argument("--from", dest="start", required=True, metavar="TIME", help="ISO 8601")
    backfill.add_argument("--to", dest="end", required=True, metavar="TIME", help="ISO 8601")
    backfill.add_argument(
        "--overlap",
        choices=OVERLAP_CHOICES,
        default=Overlap.ALLOW_ALL.value,
        help="overlap policy of the backfilled runs (default allow_all: all of them run)",
    )
    output.add_options(backfill)

    update = sub.add_parser(
        "update",
        help="change when a schedule runs, its note, overlap or paused state",
        description="Any of --interval/--cron/--at replaces all of the schedule's times; "
        "the other options change only themselves.",
    )
    update.add_argument("schedule_id", metavar="ID")
    _timing_options(update)
    update.add_argument("--overlap", choices=OVERLAP_CHOICES, help="new overlap policy")
    update.add_argument("--note", help="new note")
    paused = update.add_mutually_exclusive_group()
    paused.add_argument("--pause", dest="paused", action="store_const", const=True)
    paused.add_argument("--unpause", dest="paused", action="store_const", const=False)
    output.add_options(update)

    delete = sub.add_parser("delete", help="delete a schedule (runs it started keep running)")
    delete.add_argument("schedule_id", metavar="ID")
    output.add_options(delete)


def _timing_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("when it runs (combine freely; runs at the union)")
    group.add_argument(
        "--interval", action="append", default=[], metavar="DURATION", help="e.g. 15m, 1h, 1d"
    )
    group.add_argument(
        "--cron", action="append", default=[], metavar="EXPR", help='e.g. "0 9 * * 1-5"'
    )
    group.add_argument(
        "--at", action="append", default=[], metavar="HH:MM", help="a time of day (repeatable)"
    )
    group.add_argument("--on", metavar="DAYS", help="with --at: week days, e.g. mon-fri, sat,sun")
    group.add_argument("--day-of-month", metavar="DAYS", help="with --at: e.g. 1,15 or 1-7")
    group.add_argument("--month", metavar="MONTHS", help="with --at: e.g. jan,jul or 1-6")
    group.add_argument("--timezone", metavar="TZ", help="IANA name, e.g. Europe/Berlin (UTC)")
    group.add_argument("--jitter", metavar="DURATION", help="delay each run randomly, up to this")
    group.add_argument("--start-at", metavar="TIME", help="no runs before (ISO 8601, UTC default)")
    group.add_argument("--end-at", metavar="TIME", help="no runs after (ISO 8601, UTC default)")


async def handle(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """Run `orchestrator schedule <subcommand>`; errors become one-line CliErrors."""
    command = args.schedule_command
    try:
        if command == "create":
            return await create(args, settings, client)
        if command == "list":
            return await list_schedules(args, client)
        handle = client.get_schedule_handle(args.schedule_id)
        return await {
            "describe": describe,
            "pause": pause,
            "unpause": pause,
            "trigger": trigger,
            "backfill": backfill,
            "update": update,
            "delete": delete,
        }[command](args, handle, client)
    except ScheduleInputError as error:
        raise UsageError(str(error)) from None
    except RPCError as error:
        raise _rpc_error(error, getattr(args, "schedule_id", None)) from None


async def create(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    requester: str = args.requester
    if args.definition is not None:
        if args.param or args.kind or args.approval_timeout:
            raise UsageError("--param, --kind and --approval-timeout go with --task only.")
        start = definition_start(args.definition, requester)
    else:
        start = governed_start(
            GovernedRequest(
                task=args.task,
                requester=requester,
                parameters=parameters(args.param),
                kind=args.kind,
                approval_timeout_seconds=duration_seconds(
                    args.approval_timeout or "24h", "--approval-timeout", positive=True
                ),
            )
        )
    schedule_id = service.check_schedule_id(args.id or service.default_schedule_id(start.label))
    # The creator's key vouches for every run: each is checked by policy as this requester.
    start = signed_start(start, starting.signing_key(settings, requester), schedule_id)
    schedule = service.build_schedule(
        start,
        _timing(args, required=True),
        schedule_id=schedule_id,
        task_queue=settings.temporal.task_queue,
        overlap=timing.overlap_policy(args.overlap),
        note=args.note,
        paused=args.paused,
    )
    try:
        await service.create(client, schedule_id, schedule, start)
    except ScheduleAlreadyRunningError:
        raise CliError(
            f"a schedule with id {schedule_id!r} already exists; choose another --id "
            f"or change it with `orchestrator schedule update {schedule_id}`.",
            code="already_exists",
        ) from None
    summary = await service.describe(client, schedule_id, next_runs=3)
    output.emit(args, asdict(summary), lambda: schedule_text.created(summary, start.requester))
    return 0


def _timing(args: argparse.Namespace, *, required: bool) -> Timing:
    """The timing options; `required`: at least one of --interval/--cron/--at (create)."""
    if (args.on or args.day_of_month or args.month) and not args.at:
        raise UsageError("--on, --day-of-month and --month need --at (a time of day).")
    times = Timing(
        intervals=[timing.interval(text) for text in args.interval],
        cron=[timing.cron_expression(text) for text in args.cron],
        calendars=[
            timing.calendar(at, days=args.on, days_of_month=args.day_of_month, months=args.month)
            for at in args.at
        ],
    )
    if required and not times.has_times:
        raise UsageError("say when it runs: --interval, --cron or --at.")
    return replace(
        times,
        time_zone=timing.time_zone(args.timezone) if args.timezone else None,
        jitter=timing.jitter(args.jitter) if args.jitter else None,
        start_at=timing.instant(args.start_at, "--start-at") if args.start_at else None,
        end_at=timing.instant(args.end_at, "--end-at") if args.end_at else None,
    )


async def list_schedules(args: argparse.Namespace, client: Client) -> int:
    rows = await service.list_schedules(client, args.limit)
    output.emit(args, rows, lambda: schedule_text.listing(rows))
    return 0


async def describe(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    summary = await service.describe(client, handle.id)
    output.emit(args, asdict(summary), lambda: schedule_text.show(summary))
    return 0


async def pause(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    pausing = args.schedule_command == "pause"
    reason = args.reason or ("paused" if pausing else "unpaused") + " with the orchestrator CLI"
    if pausing:
        await handle.pause(note=reason)
    else:
        await handle.unpause(note=reason)
    output.emit(
        args,
        {"schedule_id": handle.id, "paused": pausing, "note": reason},
        schedule_text.paused(handle.id, pausing, reason),
    )
    return 0


async def trigger(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    overlap = timing.overlap_policy(args.overlap) if args.overlap else None
    workflow_id = await service.trigger(handle, overlap)
    output.emit(
        args,
        {"schedule_id": handle.id, "workflow_id": workflow_id},
        schedule_text.triggered(handle.id, workflow_id),
    )
    return 0


async def backfill(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    start = timing.instant(args.start, "--from")
    end = timing.instant(args.end, "--to")
    await service.backfill(handle, start, end, timing.overlap_policy(args.overlap))
    output.emit(
        args,
        {
            "schedule_id": handle.id,
            "backfill": {"from": iso(start), "to": iso(end), "overlap": args.overlap},
        },
        schedule_text.backfill_requested(handle.id, start, end, args.overlap),
    )
    return 0


async def update(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    changes = Changes(
        timing=_timing(args, required=False),
        note=args.note,
        paused=args.paused,
        overlap=timing.overlap_policy(args.overlap) if args.overlap else None,
    )
    if changes.empty:
        raise UsageError(
            "nothing to change: give --interval/--cron/--at, --timezone, --jitter, "
            "--start-at/--end-at, --note, --overlap, --pause or --unpause."
        )
    await service.update(handle, changes)
    summary = await service.describe(client, handle.id, next_runs=3)
    output.emit(args, asdict(summary), lambda: schedule_text.updated(summary))
    return 0


async def delete(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    await handle.delete()
    output.emit(args, {"schedule_id": handle.id, "deleted": True}, schedule_text.deleted(handle.id))
    return 0


def _rpc_error(error: RPCError, schedule_id: str | None) -> CliError:
    if error.status == RPCStatusCode.NOT_FOUND and schedule_id:
        return CliError(f"no schedule with id {schedule_id!r}.", code="not_found")
    if error.status == RPCStatusCode.INVALID_ARGUMENT:
        return UsageError(f"Temporal refused the schedule: {error.message}")
    target = f" for {schedule_id}" if schedule_id else ""
    return CliError(f"Temporal refused the call{target}: {error.message}")
