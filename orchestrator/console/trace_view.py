"""The run page's trace: the workflow's spans from Jaeger's v3 API, as the tree
`telemetry.trace_model` builds (the one `orchestrator trace` draws in the terminal).

Finding the trace is the CLI's way (`telemetry.workflow_traces`): the `TraceId` search
attribute, else Jaeger's search by the run's time window. A page never fails for want of a
trace: every reason it cannot be shown (no such workflow, no trace yet, Jaeger down or
slow) becomes `found=False` and a message the partial `templates/trace.html` prints.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import JaegerError, TraceIncomplete, ui_link
from telemetry.trace_model import ORPHAN_NOTE, TraceNode, TraceTree, build_tree
from telemetry.workflow_traces import TraceLookupError, fetch_traces, workflow_trace_ids

# A page waits briefly for spans still on their way (processes export in batches), and
# shows what has arrived rather than holding the page: a reload shows the rest.
WAIT_SECONDS = 2.0
SETTLE_SECONDS = 0.0
# The whole look-up, Temporal's describe and Jaeger's search included.
BUDGET_SECONDS = 8.0
# The partial nests one <ul> a level through Jinja's recursive loop, which runs out of
# Python stack past some 200 levels; spans deeper than this are shown at this depth.
PAGE_DEPTH = 100


@dataclass(frozen=True)
class TraceView:
    """What the partial shows: the tree when `found`, else `message` saying why not.

    `message` may also accompany a found trace: spans still missing, or several traces
    (a run started without trace context).
    """

    found: bool
    message: str = ""
    trace_id: str = ""
    trace_ids: tuple[str, ...] = ()
    tree: TraceTree | None = None
    jaeger_links: tuple[str, ...] = ()

    @property
    def roots(self) -> list[TraceNode]:
        return self.tree.roots if self.tree else []

    @property
    def span_count(self) -> int:
        return self.tree.span_count if self.tree else 0

    @property
    def duration_ms(self) -> float:
        return self.tree.duration_ms if self.tree else 0.0

    @property
    def duration_text(self) -> str:
        return self.tree.duration_text if self.tree else ""

    @property
    def services(self) -> list[str]:
        return self.tree.services if self.tree else []

    @property
    def error_count(self) -> int:
        return self.tree.error_count if self.tree else 0

    @property
    def exception_count(self) -> int:
        return self.tree.exception_count if self.tree else 0

    @property
    def has_orphans(self) -> bool:
        return self.tree.has_orphans if self.tree else False

    @property
    def orphan_note(self) -> str:
        return ORPHAN_NOTE


def _missing(message: str, trace_ids: tuple[str, ...] = ()) -> TraceView:
    return TraceView(
        found=False,
        message=message,
        trace_id=trace_ids[0] if trace_ids else "",
        trace_ids=trace_ids,
    )


async def load_trace(settings: Settings, client: Client, workflow_id: str) -> TraceView:
    """The workflow's trace for its page; never raises for a trace it cannot show."""
    try:
        async with asyncio.timeout(BUDGET_SECONDS):
            return await _load(settings, client, workflow_id)
    except TimeoutError:
        return _missing(
            f"The trace could not be read within {BUDGET_SECONDS:.0f} s: Temporal or Jaeger "
            f"({settings.jaeger_query_url}) is slow to answer. Reload to try again."
        )


async def _load(settings: Settings, client: Client, workflow_id: str) -> TraceView:
    query_url = settings.jaeger_query_url
    try:
        found = await workflow_trace_ids(
            client,
            workflow_id,
            trace_id_key=TRACE_ID,
            query_url=query_url,
            service=settings.worker_service_name,
        )
    except (TraceLookupError, JaegerError) as error:
        return _missing(str(error))
    trace_ids = tuple(found)
    notes: list[str] = []
    try:
        spans = await fetch_traces(
            query_url, trace_ids, wait_seconds=WAIT_SECONDS, settle_seconds=SETTLE_SECONDS
        )
    except TraceIncomplete as error:
        spans = error.spans
        notes.append(f"Some spans have not reached Jaeger yet: {error}")
    except (JaegerError, ValueError) as error:
        # ValueError: a recorded trace id that is not one (fetch_trace checks its form).
        return _missing(str(error), trace_ids)
    tree = build_tree(spans, max_depth=PAGE_DEPTH)
    if tree.folded:
        notes.append(f"Spans nested deeper than {PAGE_DEPTH} levels are shown at that level.")
    if len(trace_ids) > 1:
        notes.append(
            f"{len(trace_ids)} traces, shown together: the run was started without trace "
            "context (a schedule, the temporal CLI)."
        )
    return TraceView(
        found=True,
        message=" ".join(notes),
        trace_id=trace_ids[0],
        trace_ids=trace_ids,
        tree=tree,
        jaeger_links=tuple(ui_link(query_url, trace_id) for trace_id in trace_ids),
    )
