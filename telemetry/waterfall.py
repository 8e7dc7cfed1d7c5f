"""A trace as a terminal waterfall (and as JSON), from the spans `telemetry.jaeger` reads.

Pure functions of the span list: no I/O, no clock, so the output is the same every time.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from dataclasses import asdict, dataclass
from typing import Any

from telemetry.jaeger import Span
from telemetry.policy_attributes import policy_attributes

ERROR_MARK = "✗"
# An exception event on a span whose status is not error. Temporal's CompleteWorkflow span
# of a failed workflow looks like this: the SDK records the failure but sets no status.
EXCEPTION_MARK = "!"
ORPHAN_MARK = "…"
INSTANT_MARK = "│"
BAR = "█"
DURATION_WIDTH = 11
# Jaeger stores a zero-duration span with 1 ns; anything under a microsecond is an instant.
INSTANT_NS = 1000  # "123456.7 ms"

_RED, _CYAN, _DIM, _BOLD, _RESET = "\x1b[31m", "\x1b[36m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


@dataclass(frozen=True)
class Row:
    """A span in display order: how deep it sits and whether its parent is missing."""

    span: Span
    depth: int
    orphan: bool


def tree_order(spans: list[Span]) -> list[Row]:
    """Depth-first from the roots, siblings by start time.

    Spans whose parent is not in the list (it was never exported, or is still on its way)
    are shown as roots, marked orphan, rather than dropped.
    """
    by_id = {span.span_id: span for span in spans}
    children: dict[str, list[Span]] = defaultdict(list)
    roots: list[Span] = []
    for span in spans:
        parent = span.parent_span_id
        if parent and parent in by_id and parent != span.span_id:
            children[parent].append(span)
        else:
            roots.append(span)

    def key(span: Span) -> tuple[int, str]:
        return (span.start_ns, span.name)

    rows: list[Row] = []
    seen: set[str] = set()

    def walk(start: list[Span]) -> None:
        # Iterative, and guarded by `seen`: a malformed trace may hold a parent cycle.
        stack = [(span, 0) for span in sorted(start, key=key, reverse=True)]
        while stack:
            span, depth = stack.pop()
            if span.span_id in seen:
                continue
            seen.add(span.span_id)
            orphan = depth == 0 and bool(span.parent_span_id)
            rows.append(Row(span, depth, orphan))
            kids = sorted(children.get(span.span_id, []), key=key, reverse=True)
            stack.extend((kid, depth + 1) for kid in kids)

    walk(roots)
    # Spans on a parent cycle are reachable from no root; show them rather than lose them.
    walk([span for span in spans if span.span_id not in seen])
    return rows


@dataclass(frozen=True)
class _Layout:
    width: int
    name: int
    service: int
    bar: int

    @classmethod
    def fit(cls, rows: list[Row], width: int) -> _Layout:
        """Columns as wide as the content needs, within limits; the bar takes the rest."""
        longest_name = max(len(_label(row, depth_cap=99)) for row in rows)
        longest_service = max(len(row.span.service) for row in rows)
        service = min(max(longest_service, len("service")), 24)
        # gutter(2) name ' ' service ' ' bar ' ' duration
        fixed = 2 + 1 + service + 1 + 1 + DURATION_WIDTH
        # The bar keeps a fifth of the line; names get the rest and are cut with "…".
        bar_min = max(width // 5, 12)
        name = min(max(longest_name, 20), max(width - fixed - bar_min, 20))
        bar = max(width - fixed - name, bar_min)
        return cls(width, name, service, bar)

    @property
    def depth_cap(self) -> int:
        return self.name // 4


def render_waterfall(spans: list[Span], *, width: int = 100, color: bool = False) -> str:
    """The trace as text: a header, then one line per span in tree order.

    Each line: an error mark, the indented name, the service, a bar placed by start offset
    and duration within the trace, and the duration. Under a failed span its status
    message; under a policy span its `orchestrator.policy.*` attributes.
    """
    if not spans:
        return "(no spans)"
    rows = tree_order(spans)
    layout = _Layout.fit(rows, width)
    paint = _Painter(color)
    start = min(span.start_ns for span in spans)
    end = max(max(span.end_ns, span.start_ns) for span in spans)
    total = end - start

    lines = [paint(line, _BOLD) for line in _header(spans, total)]
    lines.append("")
    axis = "0" + _ms(total).rjust(layout.bar - 1)
    lines.append(
        paint(
            "  "
            + "span".ljust(layout.name)
            + " "
            + "service".ljust(layout.service)
            + " "
            + (axis if len(axis) == layout.bar else "".ljust(layout.bar))
            + " "
            + "duration".rjust(DURATION_WIDTH),
            _DIM,
        )
    )
    for row in rows:
        lines.append(_span_line(row, layout, start, total, paint))
        lines.extend(_detail_lines(row, layout, paint))
    if any(row.orphan for row in rows):
        lines.append("")
        lines.append(paint(f"{ORPHAN_MARK} parent span not in this trace (yet)", _DIM))
    return "\n".join(lines)


def _header(spans: list[Span], total_ns: int) -> list[str]:
    count = f"{len(spans)} span" + ("" if len(spans) == 1 else "s")
    errors = sum(span.is_error for span in spans)
    exceptions = sum(not span.is_error and bool(_exception_text(span)) for span in spans)
    failed = f" · {errors} {ERROR_MARK}" if errors else ""
    failed += f" · {exceptions} {EXCEPTION_MARK}" if exceptions else ""
    services = ", ".join(sorted({span.service for span in spans}))
    return [
        f"trace {spans[0].trace_id} · {_ms(total_ns)} · {count}{failed}",
        f"services: {services}",
    ]


def _span_line(row: Row, layout: _Layout, start: int, total: int, paint: _Painter) -> str:
    span = row.span
    label = _fit(_label(row, layout.depth_cap), layout.name)
    service = _fit(span.service, layout.service)
    bar = _bar(span, start, total, layout.bar)
    gutter = _mark(span) + " "
    failed = gutter.strip() != ""
    line = (
        paint(gutter + label.ljust(layout.name), _RED if failed else None)
        + " "
        + service.ljust(layout.service)
        + " "
        + paint(bar, _RED if failed else _CYAN)
        + " "
        + _ms(span.duration_ns).rjust(DURATION_WIDTH)
    )
    return line


def _detail_lines(row: Row, layout: _Layout, paint: _Painter) -> list[str]:
    """Continuation lines under a span: its error message, its policy decision."""
    span = row.span
    indent = " " * (2 + 2 * min(row.depth, layout.depth_cap) + 2)
    lines: list[str] = []
    exception = _exception_text(span)
    if span.is_error:
        message = span.status_message or exception
        text = f"{ERROR_MARK} ERROR" + (f": {message}" if message else "")
        lines.extend(paint(line, _RED) for line in _wrap(text, indent, layout.width))
    elif exception:
        text = f"{EXCEPTION_MARK} exception: {exception}"
        lines.extend(paint(line, _RED) for line in _wrap(text, indent, layout.width))
    decision = policy_attributes(span.attributes)
    if decision:
        text = "policy " + " ".join(f"{k}={_value(v)}" for k, v in decision.items())
        lines.extend(paint(line, _DIM) for line in _wrap(text, indent, layout.width))
    return lines


def _mark(span: Span) -> str:
    if span.is_error:
        return ERROR_MARK
    return EXCEPTION_MARK if _exception_text(span) else " "


def _label(row: Row, depth_cap: int) -> str:
    # Indentation stops growing at depth_cap so deep trees still leave room for names.
    indent = "  " * min(row.depth, depth_cap)
    return indent + (ORPHAN_MARK if row.orphan else "") + row.span.name


def _exception_text(span: Span) -> str:
    for event in span.events:
        if event.name == "exception":
            kind = event.attributes.get("exception.type", "")
            message = event.attributes.get("exception.message", "")
            return ": ".join(str(part) for part in (kind, message) if part) or "exception"
    return ""


def _bar(span: Span, start: int, total: int, width: int) -> str:
    if total <= 0:
        offset, length = 0, width if span.duration_ns else 0
    else:
        offset = min(int((span.start_ns - start) / total * width), width - 1)
        length = min(max(round(span.duration_ns / total * width), 1), width - offset)
    if span.duration_ns < INSTANT_NS:
        # Temporal's workflow spans are instants (started and ended together for replay
        # safety): a tick, not a one-cell bar that would read as a short duration.
        return (" " * offset + INSTANT_MARK).ljust(width)
    return (" " * offset + BAR * length).ljust(width)


def _wrap(text: str, indent: str, width: int) -> list[str]:
    return textwrap.wrap(
        text,
        width=max(width, len(indent) + 20),
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
    )


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _ms(nanoseconds: int) -> str:
    milliseconds = nanoseconds / 1e6
    # Sub-10 ms spans (an OPA evaluation, a local activity) need the second decimal.
    return f"{milliseconds:.2f} ms" if milliseconds < 10 else f"{milliseconds:.1f} ms"


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, code: str | None) -> str:
        if not self.enabled or code is None:
            return text
        return f"{code}{text}{_RESET}"


def spans_to_json(spans: list[Span]) -> list[dict[str, Any]]:
    """The spans in tree order as plain dicts (for `--json`), with depth and duration_ms."""
    return [
        {
            **asdict(row.span),
            "depth": row.depth,
            "duration_ms": row.span.duration_ns / 1e6,
        }
        for row in tree_order(spans)
    ]
