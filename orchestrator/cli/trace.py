"""`orchestrator trace ID`: the workflow's trace from Jaeger, as a waterfall or raw spans."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.cli.dispatch import with_client
from orchestrator.cli.errors import CliError
from orchestrator.cli.parsing import seconds
from orchestrator.config import Settings
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import JaegerError, fetch_trace, find_workflow_traces, ui_link
from telemetry.waterfall import render_waterfall, spans_to_json


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = subparsers
    trace = sub.add_parser("trace", help="print a workflow's trace from Jaeger as a waterfall")
    trace.add_argument("workflow_id", metavar="ID")
    trace.add_argument("--json", action="store_true", help="print the raw spans as JSON")
    trace.add_argument(
        "--wait", type=seconds, default=10.0, metavar="SECONDS", help="how long to wait for spans"
    )
    trace.set_defaults(handler=with_client(show_trace))


async def trace_ids_of(client: Client, settings: Settings, workflow_id: str) -> list[str]:
    """The trace the workflow recorded in its `TraceId` search attribute or, for runs
    started without trace context, the traces Jaeger holds for it."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        raise CliError(f"no workflow with id {workflow_id!r} ({error.message}).") from None
    trace_id = description.typed_search_attributes.get(TRACE_ID)
    if trace_id:
        return [trace_id]
    found = await find_workflow_traces(
        settings.jaeger_query_url,
        service=settings.worker_service_name,
        workflow_id=workflow_id,
        started=description.start_time,
        ended=description.close_time or datetime.now(UTC),
    )
    if not found:
        raise CliError(
            f"{workflow_id} recorded no trace id and Jaeger has no worker trace for it yet "
            "(is the worker exporting spans?)."
        )
    return found


async def show_trace(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    trace_ids = await trace_ids_of(client, settings, args.workflow_id)
    spans = []
    try:
        for trace_id in trace_ids:
            # A recorded trace id names the whole story, OPA's spans included: wait for
            # them. Traces found by search are fragments; take what Jaeger has.
            expect = {"opa"} if len(trace_ids) == 1 else set()
            spans += await fetch_trace(
                settings.jaeger_query_url,
                trace_id,
                wait_seconds=args.wait,
                expect_services=expect,
            )
    except JaegerError as error:
        raise CliError(str(error)) from None
    if args.json:
        print(json.dumps(spans_to_json(spans), indent=2))
    else:
        print(render_waterfall(spans))
        if len(trace_ids) > 1:
            print(f"\n{len(trace_ids)} traces: the run was started without trace context.")
        print()
        for trace_id in trace_ids:
            print(f"Jaeger: {ui_link(settings.jaeger_query_url, trace_id)}")
    return 0
