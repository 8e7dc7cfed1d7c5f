"""`orchestrator trace ID`: the workflow's trace from Jaeger, as a waterfall or raw spans."""

from __future__ import annotations

import argparse
import json

from temporalio.client import Client

from orchestrator.cli.dispatch import with_client
from orchestrator.cli.errors import CliError
from orchestrator.cli.parsing import seconds
from orchestrator.config import Settings
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import JaegerError, ui_link
from telemetry.waterfall import render_waterfall, spans_to_json
from telemetry.workflow_traces import TraceLookupError, fetch_traces, workflow_trace_ids


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = subparsers
    trace = sub.add_parser("trace", help="print a workflow's trace from Jaeger as a waterfall")
    trace.add_argument("workflow_id", metavar="ID")
    trace.add_argument("--json", action="store_true", help="print the raw spans as JSON")
    trace.add_argument(
        "--wait", type=seconds, default=10.0, metavar="SECONDS", help="how long to wait for spans"
    )
    trace.set_defaults(handler=with_client(show_trace))


async def show_trace(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    try:
        trace_ids = await workflow_trace_ids(
            client,
            args.workflow_id,
            trace_id_key=TRACE_ID,
            query_url=settings.jaeger_query_url,
            service=settings.worker_service_name,
        )
        spans = await fetch_traces(settings.jaeger_query_url, trace_ids, wait_seconds=args.wait)
    except (TraceLookupError, JaegerError) as error:
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
