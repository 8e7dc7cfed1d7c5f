"""`orchestrator trace ID`: the workflow's trace from Jaeger, as a waterfall or raw spans."""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.cli.errors import CliError
from orchestrator.config import Settings
from orchestrator.governed.workflow import TRACE_ID
from telemetry.jaeger import JaegerError, fetch_trace, find_workflow_trace, ui_link
from telemetry.waterfall import render_waterfall, spans_to_json


async def trace_id_of(client: Client, settings: Settings, workflow_id: str) -> str:
    """The trace id the workflow recorded in its `TraceId` search attribute, or, for runs
    started without trace context, the trace Jaeger holds for it."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        raise CliError(f"no workflow with id {workflow_id!r} ({error.message}).") from None
    trace_id = description.typed_search_attributes.get(TRACE_ID)
    if trace_id:
        return trace_id
    found = await find_workflow_trace(
        settings.jaeger_query_url,
        service=os.environ.get("ORCH_WORKER_SERVICE_NAME", "orchestrator-worker"),
        workflow_type=description.workflow_type,
        workflow_id=workflow_id,
        started=description.start_time,
        ended=description.close_time or datetime.now(UTC),
    )
    if found is None:
        raise CliError(
            f"{workflow_id} recorded no trace id and Jaeger has no worker trace for it yet "
            "(is the worker exporting spans?)."
        )
    return found


async def show_trace(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    trace_id = await trace_id_of(client, settings, args.workflow_id)
    try:
        # OPA exports its spans on its own schedule; wait for them so the tree is whole.
        spans = await fetch_trace(
            settings.jaeger_query_url, trace_id, wait_seconds=args.wait, expect_services={"opa"}
        )
    except JaegerError as error:
        raise CliError(str(error)) from None
    if args.json:
        print(json.dumps(spans_to_json(spans), indent=2))
    else:
        print(render_waterfall(spans))
        print(f"\nJaeger: {ui_link(settings.jaeger_query_url, trace_id)}")
    return 0
