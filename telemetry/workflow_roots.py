"""One trace per workflow run, also for runs started without trace context.

A schedule or the `temporal` CLI starts a run with no trace headers. Temporal's tracing
interceptor then gives every workflow task an empty context: the run's RunWorkflow span,
each StartActivity (with the activity's spans under it), each update and the final
CompleteWorkflow each start a trace of their own, some five traces for one run.

The fix gives such a run a context that is a pure function of its run id, so every
workflow task, replays and other workers included, computes the same one:

- trace id: the run id's 128 bits (a run id is a UUID), so the trace of a scheduled run
  is its run id without dashes;
- root span id: 64 bits of a SHA-256 of the run id.

The run's RunWorkflow span is exported with exactly these ids (`chosen_ids` around its
creation, honoured by `WorkflowRootIds`, the id generator of every provider
`telemetry.tracing` builds), so it is the root the other spans of the run hang under.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Iterator
from contextvars import ContextVar

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator

TRACEPARENT = "traceparent"

# The ids the next span created on this thread / task must have, while `chosen_ids` holds.
_chosen: ContextVar[tuple[int, int] | None] = ContextVar("telemetry_chosen_ids", default=None)


def root_ids(run_id: str) -> tuple[int, int]:
    """(trace id, span id) of the root span of a run started without trace context."""
    digest = hashlib.sha256(f"RunWorkflow:{run_id}".encode()).digest()
    try:
        trace_id = uuid.UUID(run_id).int
    except ValueError:  # Temporal's run ids are UUIDs; anything else still gets fixed ids
        trace_id = int.from_bytes(digest[8:24], "big")
    # Zero is the invalid id of W3C trace context; one in 2**64, but then not zero.
    return trace_id or 1, int.from_bytes(digest[:8], "big") or 1


def root_carrier(run_id: str) -> dict[str, str]:
    """The run's root as a W3C trace context carrier (sampled)."""
    trace_id, span_id = root_ids(run_id)
    return {TRACEPARENT: f"00-{trace_id:032x}-{span_id:016x}-01"}


def is_root_of(carrier: dict[str, str], run_id: str) -> bool:
    """Whether `carrier` names the root `root_carrier` gives this run."""
    return carrier.get(TRACEPARENT) == root_carrier(run_id)[TRACEPARENT]


@contextlib.contextmanager
def chosen_ids(trace_id: int, span_id: int) -> Iterator[None]:
    """The span created inside gets these ids (with a `WorkflowRootIds` provider)."""
    token = _chosen.set((trace_id, span_id))
    try:
        yield
    finally:
        _chosen.reset(token)


class WorkflowRootIds(RandomIdGenerator):
    """Random ids, except inside `chosen_ids`: then the ids chosen there."""

    def generate_trace_id(self) -> int:
        chosen = _chosen.get()
        return chosen[0] if chosen else super().generate_trace_id()

    def generate_span_id(self) -> int:
        chosen = _chosen.get()
        return chosen[1] if chosen else super().generate_span_id()

    def is_trace_id_random(self) -> bool:
        # The SDK asks this for root spans only; a chosen trace id is derived, not random.
        return _chosen.get() is None
