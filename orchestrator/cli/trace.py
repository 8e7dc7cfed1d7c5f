"""`orchestrator trace ID`: the workflow's trace from Jaeger, as a waterfall or raw spans."""

from __future__ import annotations

import argparse
import json

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.cli.errors import CliError
from orchestrator.config import Settings
from orchestrator.governed.workflow import TRACE_ID
from telemetry.jaeger import JaegerError, fetch_trace, ui_link
from telemetry.waterfall import render_waterfall, spans_to_json


async def trace_id_of(client: Client, workflow_id: str) -> str:
    """The trace id the workflow recorded in its `TraceId` search attribute."""
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        raise CliError(f"no workflow with id {workflow_id!r} ({error.message}).") from None
    trace_id = description.typed_search_attributes.get(TRACE_ID)
    if not trace_id:
        raise CliError(
            f"{workflow_id} has no trace id: it was started without trace context "
            "(e.g. by a schedule or the temporal CLI) or has not run yet."
        )
    return trace_id


async def show_trace(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    trace_id = await trace_id_of(client, args.workflow_id)
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
