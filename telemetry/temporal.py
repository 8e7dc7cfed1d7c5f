"""Temporal's OpenTelemetry interceptor, configured once for clients and workers.

Temporal's own, plus what `telemetry.workflow_spans` fixes on the workflow side: one
trace per run also for runs started without trace context, and an update's refusal on
the update's span. This side exports those spans, outside the workflow sandbox.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import opentelemetry.trace
import temporalio.worker
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor

from telemetry.workflow_roots import chosen_ids, is_root_of, root_ids
from telemetry.workflow_spans import (
    UPDATE_SPAN_EXTERN,
    RootedWorkflowInboundInterceptor,
    UpdateSpanParams,
)

RUN_ID_ATTRIBUTE = "temporalRunID"


def tracing_interceptor() -> TracingInterceptor:
    """The interceptor for `Client.connect(interceptors=...)`; workers inherit it from the client.

    `always_create_workflow_spans=True`: by default the SDK only creates workflow spans
    when the start came from an instrumented client, so workflows started by a schedule or
    the `temporal` CLI would have no spans at all. With it (and the deterministic root of
    `telemetry.workflow_roots`) they get one trace per run. The tracer is resolved through
    the global provider when spans are made, so creating the interceptor before
    `setup_tracing` is fine.
    """
    return RootedTracingInterceptor(always_create_workflow_spans=True)


class RootedTracingInterceptor(TracingInterceptor):
    """TracingInterceptor whose workflows use `RootedWorkflowInboundInterceptor`."""

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)
        input.unsafe_extern_functions[UPDATE_SPAN_EXTERN] = self._update_span
        return RootedWorkflowInboundInterceptor

    def _completed_workflow_span(self, params: Any) -> dict[str, Any] | None:
        """Temporal's, except that the RunWorkflow span of a run started without trace
        context is created with the run's root ids instead of as a child of them."""
        run_id = str((params.attributes or {}).get(RUN_ID_ATTRIBUTE, ""))
        if not (params.name.startswith("RunWorkflow:") and is_root_of(params.context, run_id)):
            carrier: dict[str, Any] | None = super()._completed_workflow_span(params)
            return carrier
        with chosen_ids(*root_ids(run_id)):
            rooted: dict[str, Any] | None = super()._completed_workflow_span(
                replace(params, context={}, parent_missing=False)
            )
        return rooted

    def _update_span(self, params: UpdateSpanParams) -> None:
        context = self.text_map_propagator.extract(params.context)
        links: list[opentelemetry.trace.Link] = []
        if params.link_context:
            caller = opentelemetry.trace.get_current_span(
                self.text_map_propagator.extract(params.link_context)
            )
            if caller is not opentelemetry.trace.INVALID_SPAN:
                links.append(opentelemetry.trace.Link(caller.get_span_context()))
        span = self.tracer.start_span(
            params.name,
            context,
            attributes=params.attributes,
            links=links,
            start_time=params.start_ns,
            kind=opentelemetry.trace.SpanKind.SERVER,
        )
        if params.failure:
            # An exception event as record_exception writes one, without the message.
            span.add_event("exception", {"exception.type": params.failure}, timestamp=params.end_ns)
        span.end(end_time=params.end_ns)
