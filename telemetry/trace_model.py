"""A trace as a tree of spans: the one model the terminal waterfall and the console draw.

Built from the spans `telemetry.jaeger` reads. Spans link to their parent by span id
whatever process exported them, so OPA's own span sits under the worker's HTTP client
span that called it once `traceparent` reached OPA. Pure functions of the span list: no
I/O, no clock, so the same spans always give the same tree.

`build_tree(..., hide_markers=True)` leaves out Temporal's zero-length markers that say
nothing (`telemetry.span_kinds.is_quiet_marker`): their children move up to the nearest
span shown, and the tree counts what it left out.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from telemetry.jaeger import JsonValue, Span, SpanEvent
from telemetry.policy_attributes import policy_attributes
from telemetry.span_kinds import (
    decision_notes,
    is_instant,
    is_quiet_marker,
    is_update,
    shadow_note,
)
from telemetry.span_kinds import subject as span_subject

ORPHAN_NOTE = "parent span not in this trace (yet)"
LABEL_SEPARATOR = " · "


@dataclass
class TraceNode:
    """One span in the tree, placed on the trace's timeline.

    `orphan`: the span names a parent that is not in the trace (never exported, or still
    on its way), so it is shown as a root rather than dropped. `offset_pct` and
    `width_pct` place its bar within the whole trace (0 to 100).
    """

    span: Span
    depth: int
    orphan: bool
    start_offset_ms: float
    duration_ms: float
    offset_pct: float
    width_pct: float
    children: list[TraceNode] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.span.name

    @property
    def service(self) -> str:
        return self.span.service

    @property
    def span_id(self) -> str:
        return self.span.span_id

    @property
    def kind(self) -> str:
        return self.span.kind

    @property
    def attributes(self) -> dict[str, JsonValue]:
        return self.span.attributes

    @property
    def events(self) -> tuple[SpanEvent, ...]:
        return self.span.events

    @property
    def error(self) -> bool:
        return self.span.is_error

    @property
    def status_message(self) -> str:
        return self.span.status_message

    @property
    def exception(self) -> str:
        """The span's first exception event as "type: message", "" without one.

        Temporal's CompleteWorkflow span of a failed workflow carries such an event but no
        error status: the SDK records the failure without setting one.
        """
        return exception_text(self.span)

    @property
    def error_text(self) -> str:
        """What went wrong, for an error span: its status message, else its exception."""
        return (self.status_message or self.exception) if self.error else ""

    @property
    def instant(self) -> bool:
        return is_instant(self.span)

    @property
    def subject(self) -> str:
        """What the span is about beyond its name: a step decision's step, an OPA query's
        role (enforcing or shadow); "" when the name says it all."""
        return span_subject(self.span)

    @property
    def label(self) -> str:
        """The name, and its subject when it has one: "POST · shadow"."""
        return self.name + (LABEL_SEPARATOR + self.subject if self.subject else "")

    @property
    def notes(self) -> list[str]:
        """Plain sentences about the span worth a line of their own (its decision events,
        a shadow policy's disagreement)."""
        note = shadow_note(self.span)
        return [*decision_notes(self.span), *([note] if note else [])]

    @property
    def refused_update(self) -> bool:
        """An update (an approval) the workflow refused: its span carries the exception."""
        return is_update(self.span) and bool(self.exception)

    @property
    def duration_text(self) -> str:
        return format_ms(self.span.duration_ns)

    @property
    def policy(self) -> dict[str, object]:
        """The policy decision the span carries (`orchestrator.policy.*`, prefix dropped)."""
        return policy_attributes(self.span.attributes)

    @property
    def attribute_rows(self) -> list[tuple[str, str]]:
        """The attributes as (key, text) pairs sorted by key, for display."""
        return [(key, value_text(self.attributes[key])) for key in sorted(self.attributes)]

    @property
    def event_rows(self) -> list[EventRow]:
        """The span's events, each with its time after the span's start."""
        return [
            EventRow(
                name=event.name,
                offset_text=format_ms(max(event.time_ns - self.span.start_ns, 0)),
                attribute_rows=[
                    (key, value_text(event.attributes[key])) for key in sorted(event.attributes)
                ],
            )
            for event in self.events
        ]


@dataclass(frozen=True)
class EventRow:
    name: str
    offset_text: str
    attribute_rows: list[tuple[str, str]]


@dataclass(frozen=True)
class TraceTree:
    """The spans of one or more traces as a forest, with the totals both views show."""

    roots: list[TraceNode]
    spans: list[Span]
    start_ns: int
    end_ns: int
    # Whether spans deeper than build_tree's max_depth were lifted to that depth.
    folded: bool = False
    # How many zero-length Temporal markers build_tree(hide_markers=True) left out.
    hidden_count: int = 0

    @property
    def total_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def duration_ms(self) -> float:
        return self.total_ns / 1e6

    @property
    def duration_text(self) -> str:
        return format_ms(self.total_ns)

    @property
    def span_count(self) -> int:
        return len(self.spans)

    @property
    def trace_ids(self) -> list[str]:
        """The traces the spans belong to, in order of first appearance."""
        return list(dict.fromkeys(span.trace_id for span in self.spans))

    @property
    def services(self) -> list[str]:
        return sorted({span.service for span in self.spans})

    @property
    def error_count(self) -> int:
        return sum(span.is_error for span in self.spans)

    @property
    def exception_count(self) -> int:
        """Spans with an exception event but no error status."""
        return sum(not span.is_error and bool(exception_text(span)) for span in self.spans)

    @property
    def has_orphans(self) -> bool:
        return any(root.orphan for root in self.roots)

    def walk(self) -> Iterator[TraceNode]:
        """Every node depth-first from the roots, in display order."""
        # Iterative: a long chain of spans must not hit Python's recursion limit.
        stack = list(reversed(self.roots))
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def build_tree(
    spans: Sequence[Span], *, max_depth: int | None = None, hide_markers: bool = False
) -> TraceTree:
    """The spans as a tree by parent span id, siblings by start time then name.

    Spans whose parent is missing become roots marked orphan; spans on a parent cycle (a
    malformed trace) are reachable from no root and are shown as roots too, never lost.
    With `max_depth` (at least 1), spans deeper than that hang at that depth, after their
    ancestors in walk order: a recursive renderer (a template) then never nests deeper.
    With `hide_markers`, quiet zero-length Temporal spans below a root are left out (see
    the module docstring); the timeline still spans every span.
    """
    if max_depth is not None and max_depth < 1:
        raise ValueError(f"max_depth must be at least 1, not {max_depth}.")
    spans = list(spans)
    if not spans:
        return TraceTree(roots=[], spans=[], start_ns=0, end_ns=0)
    start = min(span.start_ns for span in spans)
    end = max(max(span.end_ns, span.start_ns) for span in spans)
    hidden = 0
    if hide_markers:
        shown = _without_markers(spans)
        hidden, spans = len(spans) - len(shown), shown
    by_id = {span.span_id: span for span in spans}
    children: dict[str, list[Span]] = defaultdict(list)
    tops: list[Span] = []
    for span in spans:
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children[parent].append(span)
        else:
            tops.append(span)

    roots: list[TraceNode] = []
    seen: set[str] = set()
    # The node each node hangs under, to lift spans past max_depth to their grandparent.
    holder: dict[str, TraceNode | None] = {}
    folded = False

    def key(span: Span) -> tuple[int, str]:
        return (span.start_ns, span.name)

    def grow(first: list[Span]) -> None:
        nonlocal folded
        # Guarded by `seen`: with a parent cycle, a span could otherwise come round again.
        pending: list[tuple[Span, TraceNode | None]] = [
            (span, None) for span in sorted(first, key=key, reverse=True)
        ]
        while pending:
            span, parent = pending.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            if parent is not None and max_depth is not None and parent.depth >= max_depth:
                parent, folded = holder[parent.span_id], True
            holder[span.span_id] = parent
            depth = parent.depth + 1 if parent else 0
            node = _node(span, depth, start, end - start)
            (parent.children if parent else roots).append(node)
            kids = sorted(children.get(span.span_id, []), key=key, reverse=True)
            pending.extend((kid, node) for kid in kids)

    grow(tops)
    grow([span for span in spans if span.span_id not in seen])
    return TraceTree(
        roots=roots,
        spans=spans,
        start_ns=start,
        end_ns=end,
        folded=folded,
        hidden_count=hidden,
    )


def _without_markers(spans: list[Span]) -> list[Span]:
    """The spans but quiet markers that have a parent in the trace; a span under a left-out
    marker names the nearest ancestor kept as its parent instead."""
    by_id = {span.span_id: span for span in spans}
    # A root (or an orphan) stays: it anchors what hangs under it.
    left_out = {
        span.span_id for span in spans if is_quiet_marker(span) and span.parent_span_id in by_id
    }
    kept: list[Span] = []
    for span in spans:
        if span.span_id in left_out:
            continue
        parent, passed = span.parent_span_id, set[str]()
        while parent in left_out and parent not in passed:
            passed.add(parent)
            parent = by_id[parent].parent_span_id
        kept.append(span if parent == span.parent_span_id else replace(span, parent_span_id=parent))
    return kept


def tree_document(tree: TraceTree) -> dict[str, Any]:
    """The tree as plain JSON data: its totals, then every span shown in walk order with
    its place (depth, offset), its label and notes. What `orchestrator trace --json` prints."""
    return {
        "trace_ids": tree.trace_ids,
        "duration_ms": tree.duration_ms,
        "span_count": tree.span_count,
        "hidden_span_count": tree.hidden_count,
        "services": tree.services,
        "error_count": tree.error_count,
        "exception_count": tree.exception_count,
        "spans": [node_document(node) for node in tree.walk()],
    }


def node_document(node: TraceNode) -> dict[str, Any]:
    """One span as JSON data: Jaeger's fields, then what the tree adds."""
    return {
        **asdict(node.span),
        "depth": node.depth,
        "orphan": node.orphan,
        "start_offset_ms": node.start_offset_ms,
        "duration_ms": node.duration_ms,
        "label": node.label,
        "notes": node.notes,
    }


def _node(span: Span, depth: int, start: int, total: int) -> TraceNode:
    if total <= 0:
        offset, width = 0.0, 100.0 if span.duration_ns else 0.0
    else:
        offset = min(max((span.start_ns - start) / total * 100, 0.0), 100.0)
        width = min(span.duration_ns / total * 100, 100.0 - offset)
    return TraceNode(
        span=span,
        depth=depth,
        orphan=depth == 0 and bool(span.parent_span_id),
        start_offset_ms=(span.start_ns - start) / 1e6,
        duration_ms=span.duration_ns / 1e6,
        offset_pct=offset,
        width_pct=width,
    )


def exception_text(span: Span) -> str:
    """The span's first `exception` event as "type: message", "" when it has none."""
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "")
            message = event.attributes.get("exception.message", "")
            return ": ".join(str(part) for part in (kind, message) if part) or "exception"
    return ""


def format_ms(nanoseconds: int) -> str:
    """A duration as both views write it: "12.3 ms", with two decimals under 10 ms."""
    milliseconds = nanoseconds / 1e6
    # Sub-10 ms spans (an OPA evaluation, a local activity) need the second decimal.
    return f"{milliseconds:.2f} ms" if milliseconds < 10 else f"{milliseconds:.1f} ms"


def value_text(value: object) -> str:
    """An attribute value as text: booleans as JSON spells them, lists and maps as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)
