"""The waterfall view of a hand-made trace."""

from __future__ import annotations

import json
from typing import cast

from telemetry.jaeger import JsonValue, Span, SpanEvent
from telemetry.policy_attributes import decision_attributes
from telemetry.waterfall import (
    ERROR_MARK,
    EXCEPTION_MARK,
    render_waterfall,
    spans_to_json,
    tree_order,
)

TRACE = "0af7651916cd43dd8448eb211c80319c"
MS = 1_000_000
T0 = 1_800_000_000 * 10**9


def span(
    span_id: str,
    name: str,
    parent: str | None,
    start_ms: float,
    duration_ms: float,
    service: str = "orchestrator-worker",
    *,
    kind: str = "internal",
    status_code: str = "unset",
    status_message: str = "",
    attributes: dict[str, JsonValue] | None = None,
    events: tuple[SpanEvent, ...] = (),
) -> Span:
    start = T0 + int(start_ms * MS)
    return Span(
        trace_id=TRACE,
        span_id=span_id,
        parent_span_id=parent,
        name=name,
        service=service,
        kind=kind,
        start_ns=start,
        end_ns=start + int(duration_ms * MS),
        status_code=status_code,
        status_message=status_message,
        attributes=attributes or {},
        events=events,
    )


# Decision attributes are all str/bool/int, which JsonValue covers.
POLICY = cast(
    dict[str, JsonValue],
    decision_attributes(
        action="workflow.start",
        allow=False,
        reasons_count=1,
        require_approval=False,
        risk="high",
        decision_id="d-1",
        revision="rev-7",
        opa_version="1.22.2",
    ),
)

# Listed out of order on purpose: the viewer must sort by tree, then by start time.
SPANS = [
    span("a5", "POST", "a4", 22, 6, kind="client"),
    span("a1", "orchestrator start", None, 0, 100, service="orchestrator-cli"),
    span("a3", "RunWorkflow:GovernedWorkflow", "a1", 20, 0),
    span("a6", "data.orchestrator.decision", "a5", 23, 4, service="opa"),
    span("a4", "RunActivity:policy.decide", "a3", 21, 9, attributes=POLICY),
    span("a2", "StartWorkflow:GovernedWorkflow", "a1", 5, 10, service="orchestrator-cli"),
    span(
        "a7",
        "CompleteWorkflow:GovernedWorkflow",
        "a3",
        90,
        0,
        status_code="error",
        status_message="PolicyDenied: risk high needs approval",
    ),
    span("b1", "late OPA span", "ff", 40, 2, service="opa"),
]


def test_tree_order_depths_and_orphans() -> None:
    rows = tree_order(SPANS)
    assert [(row.span.name, row.depth) for row in rows] == [
        ("orchestrator start", 0),
        ("StartWorkflow:GovernedWorkflow", 1),
        ("RunWorkflow:GovernedWorkflow", 1),
        ("RunActivity:policy.decide", 2),
        ("POST", 3),
        ("data.orchestrator.decision", 4),
        ("CompleteWorkflow:GovernedWorkflow", 2),
        ("late OPA span", 0),
    ]
    assert [row.orphan for row in rows] == [False] * 7 + [True]


def test_render_header_lines_and_markers() -> None:
    text = render_waterfall(SPANS, width=100)
    lines = text.splitlines()
    assert lines[0] == f"trace {TRACE} · 100.0 ms · 8 spans · 1 {ERROR_MARK}"
    assert lines[1] == "services: opa, orchestrator-cli, orchestrator-worker"
    assert all(len(line) <= 100 for line in lines), text

    body = [line for line in lines[4:] if line.strip()]
    names = [line for line in body if line.endswith(" ms")]
    assert names[0].startswith("  orchestrator start ")
    assert names[1].startswith("    StartWorkflow:GovernedWorkflow ")
    assert any(line.startswith("        POST ") for line in names)
    assert any(line.startswith("          data.orchestrator.decision ") for line in names)

    failed = next(line for line in body if "CompleteWorkflow" in line)
    assert failed.startswith(f"{ERROR_MARK}     CompleteWorkflow")
    error_detail = body[body.index(failed) + 1]
    assert error_detail.strip() == f"{ERROR_MARK} ERROR: PolicyDenied: risk high needs approval"

    activity = next(line for line in body if "RunActivity:policy.decide" in line)
    policy = " ".join(body[body.index(activity) + 1 : body.index(activity) + 3])
    assert policy.strip().startswith("policy action=workflow.start allow=false")
    assert "risk=high" in policy and "decision_id=d-1" in policy and "revision=rev-7" in policy
    assert "…late OPA span" in text
    assert "parent span not in this trace" in text


def test_bars_are_placed_by_start_and_duration() -> None:
    lines = render_waterfall(SPANS, width=100).splitlines()
    root = next(line for line in lines if "orchestrator start" in line)
    start = next(line for line in lines if "StartWorkflow" in line)
    instant = next(line for line in lines if "RunWorkflow" in line)
    bar_start = root.index("█")
    assert root.count("█") >= 25  # the whole timeline
    assert start.index("█") > bar_start  # starts 5 % in
    assert "│" in instant and "█" not in instant  # zero duration: a tick
    assert root.rstrip().endswith("100.0 ms")


def test_narrow_terminal_still_fits() -> None:
    for width in (80, 120):
        text = render_waterfall(SPANS, width=width)
        assert all(len(line) <= width for line in text.splitlines()), text


def test_color_wraps_errors_in_red() -> None:
    assert "\x1b[31m" in render_waterfall(SPANS, color=True)
    assert "\x1b[" not in render_waterfall(SPANS)


def test_exception_event_stands_in_for_a_missing_status_message() -> None:
    event = SpanEvent(
        "exception", T0, {"exception.type": "TimeoutError", "exception.message": "OPA slow"}
    )
    failed = span("c1", "decide", None, 0, 5, status_code="error", events=(event,))
    assert "ERROR: TimeoutError: OPA slow" in render_waterfall([failed])


def test_exception_without_error_status_gets_its_own_mark() -> None:
    # What temporalio's interceptor leaves on CompleteWorkflow:<type> of a failed workflow.
    event = SpanEvent(
        "exception",
        T0,
        {"exception.type": "ActivityError", "exception.message": "Activity task failed"},
    )
    completed = span("d1", "CompleteWorkflow:GovernedWorkflow", None, 0, 0, events=(event,))
    text = render_waterfall([completed])
    assert f"1 {EXCEPTION_MARK}" in text.splitlines()[0]
    line = next(line for line in text.splitlines() if "CompleteWorkflow" in line)
    assert line.startswith(f"{EXCEPTION_MARK} CompleteWorkflow")
    assert f"{EXCEPTION_MARK} exception: ActivityError: Activity task failed" in text
    assert "ERROR" not in text


def test_empty_trace() -> None:
    assert render_waterfall([]) == "(no spans)"


def test_spans_to_json_is_tree_ordered_and_serialisable() -> None:
    rows = spans_to_json(SPANS)
    json.dumps(rows)
    assert rows[0]["name"] == "orchestrator start"
    assert rows[0]["depth"] == 0
    assert rows[0]["duration_ms"] == 100.0
    activity = next(row for row in rows if row["name"] == "RunActivity:policy.decide")
    assert activity["attributes"]["orchestrator.policy.allow"] is False
    assert activity["parent_span_id"] == "a3"
