"""Which traces hold a workflow's spans, and reading them: what `orchestrator trace` and the
console's run page share.

The workflow records its trace id in a search attribute: the starter's trace when it
propagated trace context, else the run's own (`telemetry.workflow_roots`, a worker with
that fix). Runs without one, started without trace context by an older worker, have
spans scattered over several traces that only Jaeger knows; Jaeger's search by the run's
time window finds candidates, and only the traces that are the run's own are kept: those
whose root is a span of this run (`temporalWorkflowID` and `temporalRunID`), never a
trace that merely touched it, such as a console page or a CLI command that queried it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.service import RPCError

from telemetry.jaeger import Span, TraceIncomplete, fetch_trace, search_traces

# The attributes Temporal's interceptor puts on every workflow and activity span.
WORKFLOW_ID_ATTRIBUTE = "temporalWorkflowID"
RUN_ID_ATTRIBUTE = "temporalRunID"
# A query only reads a run; its span belongs to whoever asked (a page view, a CLI command).
QUERY_SPANS = ("HandleQuery:", "QueryWorkflow:")


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
    candidates = await search_traces(
        query_url,
        service=service,
        started=description.start_time,
        ended=description.close_time or datetime.now(UTC),
    )
    found = traces_of_run(candidates, workflow_id, description.run_id)
    if not found:
        raise NoTraceYet(
            f"{workflow_id} recorded no trace id and Jaeger has no worker trace for it yet "
            "(is the worker exporting spans?)."
        )
    return found


def traces_of_run(spans: Sequence[Span], workflow_id: str, run_id: str) -> list[str]:
    """The traces among `spans` that are this run's own, by first span, oldest first.

    A trace is the run's when one of its roots (a span without a parent in the trace) is a
    span of the run: its workflow id, and its run id where the span names one. A trace
    whose root is someone else's (the console's page view, whose query reached the
    worker) or a query's is not, although spans in it name the workflow.
    """
    traces: dict[str, list[Span]] = defaultdict(list)
    for span in spans:
        traces[span.trace_id].append(span)
    first_seen: dict[str, int] = {}
    for trace_id, members in traces.items():
        ids = {span.span_id for span in members}
        roots = [span for span in members if span.parent_span_id not in ids]
        if any(_of_run(root, workflow_id, run_id) for root in roots):
            first_seen[trace_id] = min(span.start_ns for span in members)
    return sorted(first_seen, key=first_seen.__getitem__)


def _of_run(span: Span, workflow_id: str, run_id: str) -> bool:
    if span.name.startswith(QUERY_SPANS):
        return False
    if span.attributes.get(WORKFLOW_ID_ATTRIBUTE) != workflow_id:
        return False
    named = span.attributes.get(RUN_ID_ATTRIBUTE)
    return named is None or named == run_id


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
