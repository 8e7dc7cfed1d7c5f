"""Which traces hold a workflow's spans, and reading them: what `orchestrator trace` and the
console's run page share.

The workflow records its trace id in a search attribute when its starter propagated trace
context. Runs started without one (schedules, the `temporal` CLI) have spans scattered over
several traces that only Jaeger knows; they are found by the run's time window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

from telemetry.jaeger import Span, TraceIncomplete, fetch_trace, find_workflow_traces


class TraceLookupError(Exception):
    """The workflow's traces cannot be named; the message says why, for people."""


class UnknownWorkflow(TraceLookupError):
    """Temporal has no workflow with that id."""


class NoTraceYet(TraceLookupError):
    """The workflow recorded no trace id and Jaeger holds none of its spans (yet)."""


async def workflow_trace_ids(
    client: Client,
    workflow_id: str,
    *,
    trace_id_key: SearchAttributeKey[str],
    query_url: str,
    service: str,
) -> list[str]:
    """The trace the workflow recorded under `trace_id_key`, else the traces in which
    `service` (the worker) worked on it, oldest first.

    Raises UnknownWorkflow or NoTraceYet, and `telemetry.jaeger.JaegerError` when the
    search in Jaeger fails.
    """
    try:
        description = await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        raise UnknownWorkflow(f"no workflow with id {workflow_id!r} ({error.message}).") from None
    trace_id = description.typed_search_attributes.get(trace_id_key)
    if trace_id:
        return [trace_id]
    found = await find_workflow_traces(
        query_url,
        service=service,
        workflow_id=workflow_id,
        started=description.start_time,
        ended=description.close_time or datetime.now(UTC),
    )
    if not found:
        raise NoTraceYet(
            f"{workflow_id} recorded no trace id and Jaeger has no worker trace for it yet "
            "(is the worker exporting spans?)."
        )
    return found


async def fetch_traces(
    query_url: str,
    trace_ids: Sequence[str],
    *,
    wait_seconds: float,
    settle_seconds: float = 1.0,
) -> list[Span]:
    """The spans of every trace, polling each as `telemetry.jaeger.fetch_trace` does.

    A single recorded trace names the whole story, OPA's spans included, so OPA's are
    waited for; traces found by search are fragments, taken as Jaeger has them. A
    TraceIncomplete raised here carries the spans of every trace read so far.
    """
    expect = {"opa"} if len(trace_ids) == 1 else set()
    spans: list[Span] = []
    for trace_id in trace_ids:
        try:
            spans += await fetch_trace(
                query_url,
                trace_id,
                wait_seconds=wait_seconds,
                expect_services=expect,
                settle_seconds=settle_seconds,
            )
        except TraceIncomplete as error:
            raise TraceIncomplete(str(error), [*spans, *error.spans]) from None
    return spans
