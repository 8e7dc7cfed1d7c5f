"""A trace as a terminal waterfall (and as JSON), drawn from `telemetry.trace_model`.

The console's trace page draws from the same tree. Pure functions of the span list: no
I/O, no clock, so the output is the same every time.

Every line fits the width asked for (at least `MIN_WIDTH`): names, services and the
header are cut with "…", detail lines wrap (a word longer than the line is cut too), and
the duration column ends at the last column on every span line.
"""

from __future__ import annotations

import textwrap
from dataclasses import asdict, dataclass
from typing import Any

from telemetry.jaeger import Span
from telemetry.trace_model import (
    LABEL_SEPARATOR,
    ORPHAN_NOTE,
    TraceNode,
    TraceTree,
    build_tree,
    format_ms,
    value_text,
)

__all__ = [
    "DURATION_WIDTH",
    "ERROR_MARK",
    "EXCEPTION_MARK",
    "MIN_WIDTH",
    "hidden_note",
    "render_tree",
    "render_waterfall",
    "spans_to_json",
    "tree_order",
]

ERROR_MARK = "✗"
# An exception event on a span whose status is not error. Temporal's CompleteWorkflow span
# of a failed workflow looks like this: the SDK records the failure but sets no status.
EXCEPTION_MARK = "!"
ORPHAN_MARK = "…"
INSTANT_MARK = "│"
BAR = "█"
DURATION_WIDTH = 11  # "123456.7 ms"
# Narrower than this, a line has no room for a name, a service and a bar: drawn this wide.
MIN_WIDTH = 40
NAME_MIN, SERVICE_MIN, SERVICE_MAX, BAR_MIN = 20, len("service"), 24, 12
# gutter(2) name ' ' service ' ' bar ' ' duration
FIXED = 2 + 1 + 1 + 1 + DURATION_WIDTH

_RED, _CYAN, _DIM, _BOLD, _RESET = "\x1b[31m", "\x1b[36m", "\x1b[2m", "\x1b[1m", "\x1b[0m"


# A span in display order: how deep it sits and whether its parent is missing.
Row = TraceNode


def tree_order(spans: list[Span]) -> list[Row]:
    """Depth-first from the roots, siblings by start time (see `trace_model.build_tree`)."""
    return list(build_tree(spans).walk())


@dataclass(frozen=True)
class _Layout:
    width: int
    name: int
    service: int
    bar: int

    @classmethod
    def fit(cls, rows: list[Row], width: int) -> _Layout:
        """Columns as wide as the content needs, within limits; the bar takes the rest.

        The line is exactly `width` wide. The bar keeps a fifth of it and names get the
        rest (cut with "…"); on a narrow terminal the service column gives way first, then
        the bar, then the names.
        """
        width = max(width, MIN_WIDTH)
        longest_name = max(len(_label(row, depth_cap=99)) for row in rows)
        longest_service = max(len(row.span.service) for row in rows)
        service = min(max(longest_service, SERVICE_MIN), SERVICE_MAX)
        bar_min = max(width // 5, BAR_MIN)
        short = NAME_MIN - (width - FIXED - service - bar_min)
        if short > 0:
            given = min(short, service - SERVICE_MIN)
            service, short = service - given, short - given
        if short > 0:
            given = min(short, bar_min - BAR_MIN // 2)
            bar_min, short = bar_min - given, short - given
        room = width - FIXED - service - bar_min  # what names may have
        name = min(max(longest_name, NAME_MIN), room) if room >= NAME_MIN else room
        bar = width - FIXED - service - name
        return cls(width, name, service, bar)

    @property
    def depth_cap(self) -> int:
        return self.name // 4


def render_waterfall(
    spans: list[Span], *, width: int = 100, color: bool = False, hide_markers: bool = False
) -> str:
    """The trace as text: a header, then one line per span in tree order.

    Each line: an error mark, the indented name (with its subject: a step decision's step,
    an OPA query's role), the service, a bar placed by start offset and duration within
    the trace, and the duration. Under a failed span its status message; under a policy
    span its `orchestrator.policy.*` attributes and the shadow policy's disagreement.
    `hide_markers`: leave out Temporal's quiet zero-length spans, and say how many.
    """
    return render_tree(build_tree(spans, hide_markers=hide_markers), width=width, color=color)


def render_tree(tree: TraceTree, *, width: int = 100, color: bool = False) -> str:
    """`render_waterfall` for a tree already built."""
    if not tree.spans:
        return "(no spans)"
    rows = list(tree.walk())
    layout = _Layout.fit(rows, width)
    paint = _Painter(color)
    start, total = tree.start_ns, tree.total_ns

    lines = [paint(line, _BOLD) for line in _header(tree, layout.width)]
    lines.append("")
    axis = "0" + format_ms(total).rjust(layout.bar - 1)
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
    notes = [f"{ORPHAN_MARK} {ORPHAN_NOTE}"] if tree.has_orphans else []
    if tree.hidden_count:
        notes.append(hidden_note(tree.hidden_count))
    if notes:
        lines.append("")
        lines.extend(paint(line, _DIM) for note in notes for line in _wrap(note, "", layout.width))
    return "\n".join(lines)


def hidden_note(count: int) -> str:
    spans = "span" if count == 1 else "spans"
    return f"{count} zero-length Temporal {spans} not shown (--all shows them)"


def _header(tree: TraceTree, width: int) -> list[str]:
    """The trace id and totals, broken at " · " where the line would be too long; then
    the services."""
    parts = [
        f"trace {tree.spans[0].trace_id}",
        tree.duration_text,
        f"{tree.span_count} span" + ("" if tree.span_count == 1 else "s"),
    ]
    if tree.error_count:
        parts.append(f"{tree.error_count} {ERROR_MARK}")
    if tree.exception_count:
        parts.append(f"{tree.exception_count} {EXCEPTION_MARK}")
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append("  " + part)
    return [_fit(line, width) for line in lines] + _wrap(
        f"services: {', '.join(tree.services)}", "", width
    )


def _span_line(row: Row, layout: _Layout, start: int, total: int, paint: _Painter) -> str:
    span = row.span
    label = _fit_label(row, layout).ljust(layout.name)
    service = _fit(span.service, layout.service)
    bar = _bar(row, start, total, layout.bar)
    gutter = _mark(row) + " "
    failed = gutter.strip() != ""
    line = (
        paint(gutter + label, _RED if failed else None)
        + " "
        + service.ljust(layout.service)
        + " "
        + paint(bar, _RED if failed else _CYAN)
        + " "
        + row.duration_text.rjust(DURATION_WIDTH)
    )
    return line


def _detail_lines(row: Row, layout: _Layout, paint: _Painter) -> list[str]:
    """Continuation lines under a span: its error message (a refused update's refusal),
    its policy decision, the shadow policy's disagreement."""
    indent = " " * (2 + 2 * min(row.depth, layout.depth_cap) + 2)
    lines: list[str] = []
    if row.error:
        message = row.error_text
        text = f"{ERROR_MARK} ERROR" + (f": {message}" if message else "")
        lines.extend(paint(line, _RED) for line in _wrap(text, indent, layout.width))
    elif row.exception:
        what = "update refused" if row.refused_update else "exception"
        text = f"{EXCEPTION_MARK} {what}: {row.exception}"
        lines.extend(paint(line, _RED) for line in _wrap(text, indent, layout.width))
    decision = row.policy
    if decision:
        text = "policy " + " ".join(f"{k}={value_text(v)}" for k, v in decision.items())
        lines.extend(paint(line, _DIM) for line in _wrap(text, indent, layout.width))
    for note in row.notes:
        lines.extend(paint(line, _BOLD) for line in _wrap(note, indent, layout.width))
    return lines


def _mark(row: Row) -> str:
    if row.error:
        return ERROR_MARK
    return EXCEPTION_MARK if row.exception else " "


def _fit_label(row: Row, layout: _Layout) -> str:
    """The label within the name column. Too long, the span's name is cut before its
    subject is: of fourteen step decisions, the step is what tells them apart."""
    label = _label(row, layout.depth_cap)
    if len(label) <= layout.name or not row.subject:
        return _fit(label, layout.name)
    tail = LABEL_SEPARATOR + row.subject
    head = label[: len(label) - len(tail)]
    keep = layout.name - len(tail)
    # The name keeps at least a few characters after the indentation, or the label is cut
    # as a whole.
    if keep - (len(head) - len(head.lstrip())) < 6:
        return _fit(label, layout.name)
    return _fit(head, keep) + tail


def _label(row: Row, depth_cap: int) -> str:
    # Indentation stops growing at depth_cap so deep trees still leave room for names.
    indent = "  " * min(row.depth, depth_cap)
    return indent + (ORPHAN_MARK if row.orphan else "") + row.label


def _bar(row: Row, start: int, total: int, width: int) -> str:
    span = row.span
    if total <= 0:
        offset, length = 0, width if span.duration_ns else 0
    else:
        offset = min(int((span.start_ns - start) / total * width), width - 1)
        length = min(max(round(span.duration_ns / total * width), 1), width - offset)
    if row.instant:
        # Temporal's workflow spans are instants (started and ended together for replay
        # safety): a tick, not a one-cell bar that would read as a short duration.
        return (" " * offset + INSTANT_MARK).ljust(width)
    return (" " * offset + BAR * length).ljust(width)


def _wrap(text: str, indent: str, width: int) -> list[str]:
    """`text` wrapped at word boundaries; a word too long for a line (an id, a URL) is cut
    with "…" rather than split over lines, where it could not be copied whole."""
    lines = textwrap.wrap(
        text,
        width=width,
        initial_indent=indent,
        subsequent_indent=indent + "  ",
        break_on_hyphens=False,
        break_long_words=False,
    )
    return [_fit(line, width) for line in lines]


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


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
        for row in build_tree(spans).walk()
    ]
