"""`orchestrator schedule ...`: Temporal Schedules that start governed or declarative workflows.

Every scheduled run starts the workflow like any other start, so the policy gate decides it.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, replace
from pathlib import Path

from temporalio.client import Client, ScheduleAlreadyRunningError, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.cli import render, starting
from orchestrator.cli.errors import CliError, UsageError
from orchestrator.cli.parsing import duration_seconds, parameters, positive_int
from orchestrator.config import Settings
from orchestrator.governed.model import GovernedRequest
from orchestrator.schedules import service as schedules
from orchestrator.schedules.service import Changes, ScheduleInputError, ScheduleSummary, Timing

OVERLAP_CHOICES = list(schedules.OVERLAP_POLICIES)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `schedule` and its sub-commands to the CLI's parser."""
    parser = subparsers.add_parser(
        "schedule",
        help="run governed tasks or definitions on a timetable (Temporal Schedules)",
        description="Temporal Schedules that start governed or declarative workflows; "
        "each run goes through the policy gate like any other start.",
    )
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
    create.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="task parameter (repeatable)"
    )
    create.add_argument("--kind", help="task kind, e.g. deploy or report (policy uses it)")
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
        default="skip",
        help="when a run is due while the last still runs (default skip)",
    )
    create.add_argument("--note", help="a note shown by describe and list")
    create.add_argument("--paused", action="store_true", help="create it paused")
    create.add_argument("--json", action="store_true", help="print JSON")

    listing = sub.add_parser("list", help="the schedules, with their next run")
    listing.add_argument(
        "--limit", type=positive_int, default=50, help="at most this many (default 50)"
    )
    listing.add_argument("--json", action="store_true", help="print JSON")

    describe = sub.add_parser("describe", help="a schedule: when, what, next runs, recent runs")
    describe.add_argument("schedule_id", metavar="ID")
    describe.add_argument("--json", action="store_true", help="print JSON")

    for name, verb in (("pause", "pause"), ("unpause", "resume")):
        toggle = sub.add_parser(name, help=f"{verb} a schedule")
        toggle.add_argument("schedule_id", metavar="ID")
        toggle.add_argument("--reason", help="why (kept as the schedule's note)")

    trigger = sub.add_parser("trigger", help="start a run now")
    trigger.add_argument("schedule_id", metavar="ID")
    trigger.add_argument(
        "--overlap", choices=OVERLAP_CHOICES, help="override the overlap policy for this run"
    )
    trigger.add_argument("--json", action="store_true", help="print JSON")

    backfill = sub.add_parser("backfill", help="take the runs of a past period now")
    backfill.add_argument("schedule_id", metavar="ID")
    backfill.add_argument("--from", dest="start", required=True, metavar="TIME", help="ISO 8601")
    backfill.add_argument("--to", dest="end", required=True, metavar="TIME", help="ISO 8601")
    backfill.add_argument(
        "--overlap",
        choices=OVERLAP_CHOICES,
        default="allow_all",
        help="overlap policy of the backfilled runs (default allow_all: all of them run)",
    )

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
    update.add_argument("--json", action="store_true", help="print the result as JSON")

    delete = sub.add_parser("delete", help="delete a schedule (runs it started keep running)")
    delete.add_argument("schedule_id", metavar="ID")


def _timing_options(parser: argparse.ArgumentParser) -> None:
    timing = parser.add_argument_group("when it runs (combine freely; runs at the union)")
    timing.add_argument(
        "--interval", action="append", default=[], metavar="DURATION", help="e.g. 15m, 1h, 1d"
    )
    timing.add_argument(
        "--cron", action="append", default=[], metavar="EXPR", help='e.g. "0 9 * * 1-5"'
    )
    timing.add_argument(
        "--at", action="append", default=[], metavar="HH:MM", help="a time of day (repeatable)"
    )
    timing.add_argument("--on", metavar="DAYS", help="with --at: week days, e.g. mon-fri, sat,sun")
    timing.add_argument("--day-of-month", metavar="DAYS", help="with --at: e.g. 1,15 or 1-7")
    timing.add_argument("--month", metavar="MONTHS", help="with --at: e.g. jan,jul or 1-6")
    timing.add_argument("--timezone", metavar="TZ", help="IANA name, e.g. Europe/Berlin (UTC)")
    timing.add_argument("--jitter", metavar="DURATION", help="delay each run randomly, up to this")
    timing.add_argument("--start-at", metavar="TIME", help="no runs before (ISO 8601, UTC default)")
    timing.add_argument("--end-at", metavar="TIME", help="no runs after (ISO 8601, UTC default)")


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
        start = schedules.definition_start(args.definition, requester)
    else:
        start = schedules.governed_start(
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
    schedule_id = schedules.check_schedule_id(args.id or schedules.default_schedule_id(start.label))
    # The creator's key vouches for every run: each is checked by policy as this requester.
    start = schedules.signed_start(start, starting.signing_key(settings, requester), schedule_id)
    times = _times(args)
    if times is None:
        raise UsageError("say when it runs: --interval, --cron or --at.")
    timing = replace(
        times,
        time_zone=schedules.time_zone(args.timezone) if args.timezone else None,
        jitter=schedules.duration(args.jitter, "--jitter") if args.jitter else None,
        start_at=schedules.instant(args.start_at, "--start-at") if args.start_at else None,
        end_at=schedules.instant(args.end_at, "--end-at") if args.end_at else None,
    )
    schedule = schedules.build_schedule(
        start,
        timing,
        schedule_id=schedule_id,
        task_queue=settings.temporal.task_queue,
        overlap=schedules.overlap_policy(args.overlap),
        note=args.note,
        paused=args.paused,
    )
    try:
        await schedules.create(client, schedule_id, schedule, start)
    except ScheduleAlreadyRunningError:
        raise CliError(
            f"a schedule with id {schedule_id!r} already exists; choose another --id "
            f"or change it with `orchestrator schedule update {schedule_id}`."
        ) from None
    summary = await schedules.describe(client, schedule_id, next_runs=3)
    if args.json:
        print(json.dumps(asdict(summary), indent=2, default=str))
        return 0
    lines = [
        f"created   {schedule_id}" + ("  [paused]" if summary.paused else ""),
        f"runs      {summary.workflow_type} for {start.requester} on task queue "
        f"{summary.task_queue}, as {summary.workflow_id_prefix}<time>",
        f"when      {'; '.join(schedules.when_text(summary.when))}",
        f"overlap   {summary.overlap}",
    ]
    if summary.paused:
        lines.append(f"next      - (paused: orchestrator schedule unpause {schedule_id})")
    else:
        lines += [f"next      {at}" for at in summary.next_runs[:1]]
    lines.append(f"describe  orchestrator schedule describe {schedule_id}")
    print("\n".join(lines))
    return 0


def _times(args: argparse.Namespace) -> Timing | None:
    """The --interval/--cron/--at times as a Timing, or None when none were given."""
    if (args.on or args.day_of_month or args.month) and not args.at:
        raise UsageError("--on, --day-of-month and --month need --at (a time of day).")
    if not (args.interval or args.cron or args.at):
        return None
    return Timing(
        intervals=[schedules.interval(text) for text in args.interval],
        cron=[schedules.cron_expression(text) for text in args.cron],
        calendars=[
            schedules.calendar(at, days=args.on, days_of_month=args.day_of_month, months=args.month)
            for at in args.at
        ],
    )


async def list_schedules(args: argparse.Namespace, client: Client) -> int:
    rows = await schedules.list_schedules(client, args.limit)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render.table(rows) if rows else "no schedules")
    return 0


async def describe(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    summary = await schedules.describe(client, handle.id)
    print(json.dumps(asdict(summary), indent=2, default=str) if args.json else show(summary))
    return 0


def show(summary: ScheduleSummary) -> str:
    """`describe` for people."""
    lines = [
        f"schedule  {summary.schedule_id}  [{'paused' if summary.paused else 'active'}]",
        f"runs      {summary.workflow_type} on task queue {summary.task_queue}, "
        f"as {summary.workflow_id_prefix}<time>",
        f"for       {_request_text(summary)}",
        f"when      {'; '.join(schedules.when_text(summary.when)) or '-'}",
    ]
    window = summary.when
    if window["start_at"] or window["end_at"]:
        lines.append(f"between   {window['start_at'] or '-'} .. {window['end_at'] or '-'}")
    lines.append(f"overlap   {summary.overlap}")
    if summary.note:
        lines.append(f"note      {summary.note}")
    lines.append(
        f"actions   {summary.actions_taken} taken, {summary.skipped_overlap} skipped (overlap), "
        f"{summary.missed_catchup_window} missed (catch-up window)"
    )
    lines += [f"running   {workflow_id}" for workflow_id in summary.running]
    for run in summary.recent:
        outcome = (run.status or "?").lower()
        if run.policy_decision:
            outcome += f", policy {run.policy_decision}"
        lines.append(f"recent    {run.scheduled_at}  {run.workflow_id}  ({outcome})")
    if summary.paused:
        lines.append("next      - (paused)")
    else:
        lines += [f"next      {at}" for at in summary.next_runs] or ["next      -"]
    return "\n".join(lines)


def _request_text(summary: ScheduleSummary) -> str:
    request = summary.request
    if not isinstance(request, dict):
        return f"{summary.requester or '?'}: {request}"
    who = request.get("requester") or summary.requester or "?"
    if "task" in request:
        text = f"{who}: {request['task']}"
        if request.get("parameters"):
            text += "  " + " ".join(f"{k}={v}" for k, v in sorted(request["parameters"].items()))
        return text
    document = request.get("definition")
    name = document.get("workflowName") if isinstance(document, dict) else None
    source = f" (from {request['source']})" if request.get("source") else ""
    return f"{who}: definition {name or 'unnamed'}{source}"


async def pause(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    pausing = args.schedule_command == "pause"
    reason = args.reason or ("paused" if pausing else "unpaused") + " with the orchestrator CLI"
    if pausing:
        await handle.pause(note=reason)
    else:
        await handle.unpause(note=reason)
    print(f"{handle.id}: {'paused' if pausing else 'active again'} ({reason})")
    return 0


async def trigger(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    overlap = schedules.overlap_policy(args.overlap) if args.overlap else None
    workflow_id = await schedules.trigger(handle, overlap)
    if args.json:
        print(json.dumps({"schedule_id": handle.id, "workflow_id": workflow_id}, indent=2))
    elif workflow_id:
        print(f"{handle.id}: triggered, started {workflow_id}")
        print(f"status    orchestrator status {workflow_id}")
    else:
        print(
            f"{handle.id}: triggered, but no run started yet (the overlap policy may have "
            f"skipped it while another run is open); see `orchestrator schedule describe "
            f"{handle.id}`"
        )
    return 0


async def backfill(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    start = schedules.instant(args.start, "--from")
    end = schedules.instant(args.end, "--to")
    await schedules.backfill(handle, start, end, schedules.overlap_policy(args.overlap))
    print(
        f"{handle.id}: backfill of {schedules._iso(start)} .. {schedules._iso(end)} requested "
        f"(overlap {args.overlap}); the runs appear in `orchestrator schedule describe {handle.id}`"
    )
    return 0


async def update(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    changes = Changes(
        timing=_times(args),
        time_zone=schedules.time_zone(args.timezone) if args.timezone else None,
        jitter=schedules.duration(args.jitter, "--jitter") if args.jitter else None,
        start_at=schedules.instant(args.start_at, "--start-at") if args.start_at else None,
        end_at=schedules.instant(args.end_at, "--end-at") if args.end_at else None,
        note=args.note,
        paused=args.paused,
        overlap=schedules.overlap_policy(args.overlap) if args.overlap else None,
    )
    if changes.empty:
        raise UsageError(
            "nothing to change: give --interval/--cron/--at, --timezone, --jitter, "
            "--start-at/--end-at, --note, --overlap, --pause or --unpause."
        )
    await schedules.update(handle, changes)
    summary = await schedules.describe(client, handle.id, next_runs=3)
    if args.json:
        print(json.dumps(asdict(summary), indent=2, default=str))
    else:
        state = "paused" if summary.paused else "active"
        print(f"{handle.id}: updated [{state}]")
        print(f"when      {'; '.join(schedules.when_text(summary.when)) or '-'}")
        print(f"overlap   {summary.overlap}")
        if summary.note:
            print(f"note      {summary.note}")
        if not summary.paused and summary.next_runs:
            print(f"next      {summary.next_runs[0]}")
    return 0


async def delete(args: argparse.Namespace, handle: ScheduleHandle, client: Client) -> int:
    await handle.delete()
    print(f"{handle.id}: deleted (runs it already started keep running)")
    return 0


def _rpc_error(error: RPCError, schedule_id: str | None) -> CliError:
    if error.status == RPCStatusCode.NOT_FOUND and schedule_id:
        return CliError(f"no schedule with id {schedule_id!r}.")
    if error.status == RPCStatusCode.INVALID_ARGUMENT:
        return UsageError(f"Temporal refused the schedule: {error.message}")
    target = f" for {schedule_id}" if schedule_id else ""
    return CliError(f"Temporal refused the call{target}: {error.message}")
