"""The workflow side of `telemetry.temporal`'s interceptor: Temporal's, with two fixes.

1. A run started without trace context (a schedule, the `temporal` CLI) gets the
   deterministic root of `telemetry.workflow_roots` instead of an empty context in every
   workflow task, so its spans form one trace under its RunWorkflow span.
2. An update is one span, `HandleUpdate:<name>`, from when the handler starts to when it
   returns (workflow time), carrying the exception when the handler refused. Temporal's
   interceptor marks the start instead and records a refused update as
   `CompleteWorkflow:<type>` with an exception, which reads as a failed run although the
   run goes on. A rejected validation likewise stays on its `ValidateUpdate:<name>` span.
   The span's exception event names the failure's type only (`ApprovalRefused`): its
   message may quote the request (a refusal lists the policy's reasons).

Runs inside the workflow sandbox: only deterministic inputs (run id, workflow time), and
spans are made outside it through extern functions, never during a replay.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import opentelemetry.context
import opentelemetry.trace
import temporalio.api.common.v1
import temporalio.exceptions
import temporalio.worker
import temporalio.workflow
from temporalio.contrib.opentelemetry import TracingWorkflowInboundInterceptor

from telemetry.workflow_roots import root_carrier

Carrier = dict[str, Any]
UPDATE_SPAN_EXTERN = "__orchestrator_telemetry_update_span"


@dataclass(frozen=True)
class UpdateSpanParams:
    """What the extern function needs to export one update's span."""

    name: str
    context: Carrier
    link_context: Carrier | None
    attributes: dict[str, str]
    start_ns: int
    end_ns: int
    # The failure's type ("ApprovalRefused"), "" when the update succeeded.
    failure: str


class RootedWorkflowInboundInterceptor(TracingWorkflowInboundInterceptor):
    """Temporal's workflow interceptor with a root for untraced starts and update spans."""

    def _load_workflow_context_carrier(self) -> Carrier | None:
        carrier = super()._load_workflow_context_carrier()
        if carrier is None:
            carrier = dict(root_carrier(temporalio.workflow.info().run_id))
            self._workflow_context_carrier = carrier
        return carrier

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        link = self._link_carrier(input.headers)
        with self._workflow_context():
            started = temporalio.workflow.time_ns()
            try:
                temporalio.worker.WorkflowInboundInterceptor.handle_update_validator(self, input)
            except Exception as error:
                # Any exception rejects the update; none of them ends the run.
                self._update_span("ValidateUpdate", input, started, link, error)
                raise
            self._update_span("ValidateUpdate", input, started, link, None)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        link = self._link_carrier(input.headers)
        with self._workflow_context():
            started = temporalio.workflow.time_ns()
            try:
                result = await temporalio.worker.WorkflowInboundInterceptor.handle_update_handler(
                    self, input
                )
            except temporalio.exceptions.FailureError as error:
                # The update fails, not the run: Temporal sends this error to the caller.
                self._update_span("HandleUpdate", input, started, link, error)
                raise
            self._update_span("HandleUpdate", input, started, link, None)
            return result

    def _update_span(
        self,
        kind: str,
        input: temporalio.worker.HandleUpdateInput,
        started_ns: int,
        link: Carrier | None,
        error: Exception | None,
    ) -> None:
        # The span was exported when this code first ran; a replay must not export it again.
        if temporalio.workflow.unsafe.is_replaying():
            return
        carrier: Carrier = {}
        self.text_map_propagator.inject(carrier)
        info = temporalio.workflow.info()
        export = cast(
            Callable[[UpdateSpanParams], None],
            temporalio.workflow.extern_functions()[UPDATE_SPAN_EXTERN],
        )
        export(
            UpdateSpanParams(
                name=f"{kind}:{input.update}",
                context=carrier,
                link_context=link,
                attributes={
                    "temporalWorkflowID": info.workflow_id,
                    "temporalRunID": info.run_id,
                    "temporalUpdateID": input.id,
                },
                start_ns=started_ns,
                end_ns=temporalio.workflow.time_ns(),
                failure=failure_type(error) if error else "",
            )
        )

    def _link_carrier(
        self, headers: Mapping[str, temporalio.api.common.v1.Payload]
    ) -> Carrier | None:
        """The caller's trace context from the update's headers, to link the span to."""
        header = headers.get(self.header_key)
        if not header:
            return None
        carrier: Carrier = self.payload_converter.from_payloads([header])[0]
        return carrier

    @contextlib.contextmanager
    def _workflow_context(self) -> Iterator[None]:
        """The run's context, current for the block; Temporal's version of this also
        writes a CompleteWorkflow span when the block raises, which is wrong for updates."""
        carrier = self._load_workflow_context_carrier()
        context = (
            self.text_map_propagator.extract(carrier)
            if carrier
            else opentelemetry.context.Context()
        )
        attached = self._set_on_context(context)
        token = opentelemetry.context.attach(attached)
        try:
            yield
        finally:
            # An evicted run's handler is finalised wherever garbage collection runs, where
            # the token is not valid: nothing to detach there (as Temporal's own code does).
            if opentelemetry.context.get_current() is attached:
                with contextlib.suppress(ValueError):
                    token.var.reset(token)


def failure_type(error: Exception) -> str:
    """An ApplicationError's own type ("ApprovalRefused"), else the exception's class."""
    if isinstance(error, temporalio.exceptions.ApplicationError) and error.type:
        return error.type
    return type(error).__name__
