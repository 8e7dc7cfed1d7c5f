"""What a span is about, in the words both trace views print: which step a decision
decides, which policy an OPA query asks, what the shadow policy would have done, the
decision events it carries, and which spans are Temporal's zero-length markers.

Pure functions of one span (`telemetry.jaeger.Span`), from the attributes this project
writes (`telemetry.policy_attributes`, `telemetry.httpx_tracing`) and the names Temporal's
interceptor gives its spans.
"""

from __future__ import annotations

import contextlib
import json

from telemetry.httpx_tracing import DATA_API, OPA_PATH, OPA_ROLE, URL_ATTRIBUTES
from telemetry.jaeger import JsonValue, Span
from telemetry.policy_attributes import (
    DECISION_EVENT,
    DECISION_ID,
    ERROR_TYPE,
    FLAG_KEY,
    FLAG_REASON,
    FLAG_VARIANT,
    FLAG_VERSION,
    PREFIX,
    REASONS_COUNT,
    SHADOW_AGREES,
    SHADOW_EVENT,
    SHADOW_VERDICT,
    STEP_PATH,
)

# Jaeger stores a zero-duration span with 1 ns; anything under a microsecond is an instant.
INSTANT_NS = 1000

# The spans Temporal's interceptor makes inside a workflow: all instants (started and
# ended together, for replay safety), markers of when something happened, no durations.
TEMPORAL_MARKERS = (
    "RunWorkflow:",
    "StartActivity:",
    "CompleteWorkflow:",
    "HandleSignal:",
    "HandleQuery:",
    "ValidateUpdate:",
    "HandleUpdate:",
    "StartChildWorkflow:",
    "SignalChildWorkflow:",
    "SignalExternalWorkflow:",
    "StartNexusOperation:",
    "SignalWithStartWorkflow",
)
UPDATE_SPANS = ("HandleUpdate:", "ValidateUpdate:")


def is_instant(span: Span) -> bool:
    return span.duration_ns < INSTANT_NS


def is_quiet_marker(span: Span) -> bool:
    """A zero-length Temporal span that says nothing beyond "this happened": no error, no
    event (an exception, a shadow disagreement), no decision. Views may leave it out."""
    return (
        is_instant(span)
        and span.name.startswith(TEMPORAL_MARKERS)
        and not span.is_error
        and not span.events
        and not any(key.startswith(PREFIX) for key in span.attributes)
    )


def is_update(span: Span) -> bool:
    return span.name.startswith(UPDATE_SPANS)


def subject(span: Span) -> str:
    """What the span is about, beside its name: "" when its name says it all.

    A step decision: its step path (its activity is among the decision's attributes). A
    query to OPA's data API: its role (enforcing, shadow, batch), else the data path.
    """
    path = _text(span.attributes.get(STEP_PATH))
    if path:
        return path
    role = _text(span.attributes.get(OPA_ROLE))
    if role:
        return role
    data_path = _text(span.attributes.get(OPA_PATH)) or _data_path(span)
    return data_path


def shadow_note(span: Span) -> str:
    """The shadow policy's disagreement in plain words, "" when it agreed or was not asked.

    "shadow disagrees: allow -> deny", with what else differs; "shadow failed: ..." when
    the candidate gave no answer.
    """
    if span.attributes.get(SHADOW_AGREES) is not False:
        return ""
    event = next((event for event in span.events if event.name == SHADOW_EVENT), None)
    if event is None:
        return "shadow disagrees"
    found = event.attributes
    error = _text(found.get(PREFIX + "shadow.error"))
    if error:
        return f"shadow failed: {error}"
    ours = _text(found.get(PREFIX + "outcome")) or "?"
    theirs = _text(found.get(PREFIX + "shadow.outcome")) or "?"
    note = f"shadow disagrees: {ours} -> {theirs}"
    others = [
        difference
        for difference in _texts(found.get(PREFIX + "shadow.differences"))
        if not difference.startswith("outcome:")
    ]
    if others:
        note += f" ({'; '.join(others)})"
    revision = _text(found.get(PREFIX + "shadow.revision"))
    return note + (f" [candidate {revision}]" if revision else "")


def decision_notes(span: Span) -> list[str]:
    """Each decision event on the span (`feature_flag.evaluation`) in plain words:
    "decision event: orchestrator/main/decision -> allow (revision ..., 0 reasons, ...)"."""
    notes = []
    for event in span.events:
        if event.name != DECISION_EVENT:
            continue
        found = event.attributes
        key = _text(found.get(FLAG_KEY)) or "?"
        if _text(found.get(FLAG_REASON)) == "error":
            notes.append(f"decision event: {key} gave no decision ({_text(found.get(ERROR_TYPE))})")
            continue
        details = [
            f"revision {_text(found.get(FLAG_VERSION)) or '?'}",
            f"{_text(found.get(REASONS_COUNT)) or 0} reasons",
            f"decision id {_text(found.get(DECISION_ID)) or '?'}",
            f"shadow {_text(found.get(SHADOW_VERDICT)) or '?'}",
        ]
        variant = _text(found.get(FLAG_VARIANT)) or "?"
        notes.append(f"decision event: {key} -> {variant} ({', '.join(details)})")
    return notes


def _data_path(span: Span) -> str:
    for key in URL_ATTRIBUTES:
        url = _text(span.attributes.get(key))
        if DATA_API in url:
            return url.split(DATA_API, 1)[1].split("?", 1)[0].strip("/")
    return ""


def _text(value: JsonValue | None) -> str:
    return "" if value is None or isinstance(value, list | dict) else str(value)


def _texts(value: JsonValue | None) -> list[str]:
    """A list of strings; Jaeger returns an event's list attribute as its JSON text."""
    if isinstance(value, str) and value.startswith("["):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return [str(item) for item in value] if isinstance(value, list) else []
