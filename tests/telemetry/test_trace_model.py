"""The trace tree both views draw, from a trace recorded off the real stack and by hand."""

from __future__ import annotations

import json
from pathlib import Path

from telemetry.jaeger import Span, SpanEvent, parse_traces
from telemetry.trace_model import TraceNode, build_tree, format_ms, value_text
from telemetry.waterfall import tree_order
from tests.telemetry.test_waterfall import SPANS, T0, span

# Recorded from the local stack (Jaeger module v1.76.0): `orchestrator start --task
# "Generate the weekly usage report" --wait` with a worker process and OPA exporting its
# own spans; GET /api/v3/traces/{id}. 14 spans from three services.
WITH_OPA = Path(__file__).parent / "data" / "jaeger_v3_trace_with_opa.json"


def recorded() -> list[Span]:
    return parse_traces(json.loads(WITH_OPA.read_text()))


def by_name(nodes: list[TraceNode], name: str) -> list[TraceNode]:
    return [node for node in nodes if node.name == name]


def test_opas_spans_sit_under_the_workers_http_calls() -> None:
    tree = build_tree(recorded())
    nodes = list(tree.walk())
    assert tree.span_count == len(nodes) == 14
    assert tree.services == ["opa", "orchestrator-cli", "orchestrator-worker"]
    [root] = tree.roots
    assert (root.name, root.service, root.depth, root.orphan) == (
        "orchestrator start",
        "orchestrator-cli",
        0,
        False,
    )
    [decide] = by_name(nodes, "RunActivity:policy.decide")
    assert decide.policy["action"] == "workflow.start"
    posts = [child for child in decide.children if child.name == "POST"]
    # The enforcing decision and the shadow candidate, each answered by OPA's own span.
    assert len(posts) == 2
    for post in posts:
        assert post.service == "orchestrator-worker" and post.kind == "client"
        [opa] = post.children
        assert opa.service == "opa" and opa.name == "POST /v1/data/{path...}"
        assert opa.depth == post.depth + 1 == decide.depth + 2
        # OPA's span lies within the call that waited for it.
        assert opa.start_offset_ms >= post.start_offset_ms
        assert opa.offset_pct + opa.width_pct <= post.offset_pct + post.width_pct + 0.01


def test_timeline_offsets_and_bar_percentages() -> None:
    tree = build_tree(SPANS)
    nodes = {node.name: node for node in tree.walk()}
    assert tree.duration_ms == 100.0 and tree.duration_text == "100.0 ms"
    root = nodes["orchestrator start"]
    assert (root.start_offset_ms, root.duration_ms, root.offset_pct, root.width_pct) == (
        0.0,
        100.0,
        0.0,
        100.0,
    )
    decide = nodes["RunActivity:policy.decide"]
    assert decide.start_offset_ms == 21.0 and decide.duration_ms == 9.0
    assert round(decide.offset_pct, 6) == 21.0 and round(decide.width_pct, 6) == 9.0
    assert decide.duration_text == "9.00 ms"
    assert nodes["RunWorkflow:GovernedWorkflow"].instant
    assert not decide.instant


def test_walk_is_the_terminals_tree_order() -> None:
    assert [node.span for node in build_tree(SPANS).walk()] == [
        row.span for row in tree_order(SPANS)
    ]


def test_errors_exceptions_and_orphans() -> None:
    tree = build_tree(SPANS)
    assert tree.error_count == 1 and tree.exception_count == 0
    [failed] = [node for node in tree.walk() if node.error]
    assert failed.error_text == "PolicyDenied: risk high needs approval"
    orphan = tree.roots[-1]
    assert orphan.name == "late OPA span" and orphan.orphan and tree.has_orphans

    event = SpanEvent(
        "exception",
        T0 + 2_000_000,
        {"exception.type": "ActivityError", "exception.message": "Activity task failed"},
    )
    completed = build_tree([span("d1", "CompleteWorkflow:X", None, 0, 5, events=(event,))])
    [node] = completed.roots
    assert not node.error and node.error_text == ""
    assert node.exception == "ActivityError: Activity task failed"
    assert completed.exception_count == 1
    [row] = node.event_rows
    assert row.name == "exception" and row.offset_text == "2.00 ms"
    assert ("exception.type", "ActivityError") in row.attribute_rows


def test_a_parent_cycle_loses_no_span() -> None:
    cycle = [span("x1", "one", "x2", 0, 1), span("x2", "two", "x1", 1, 1)]
    tree = build_tree(cycle)
    assert sorted(node.name for node in tree.walk()) == ["one", "two"]
    assert [node.name for node in tree.roots] == ["one"]
    assert [child.name for child in tree.roots[0].children] == ["two"]


def test_a_long_chain_needs_no_recursion() -> None:
    chain = [span(f"c{i}", f"step {i}", f"c{i - 1}" if i else None, i, 1) for i in range(3000)]
    nodes = list(build_tree(chain).walk())
    assert len(nodes) == 3000 and nodes[-1].depth == 2999


def test_max_depth_lifts_deeper_spans_in_walk_order() -> None:
    chain = [span(f"c{i}", f"step {i}", f"c{i - 1}" if i else None, i, 1) for i in range(6)]
    tree = build_tree(chain, max_depth=3)
    assert tree.folded and not build_tree(chain).folded
    assert [(node.name, node.depth) for node in tree.walk()] == [
        ("step 0", 0),
        ("step 1", 1),
        ("step 2", 2),
        ("step 3", 3),
        ("step 4", 3),
        ("step 5", 3),
    ]
    [two] = [node for node in tree.walk() if node.name == "step 2"]
    assert [child.name for child in two.children] == ["step 3", "step 4", "step 5"]


def test_empty_trace() -> None:
    tree = build_tree([])
    assert tree.roots == [] and tree.span_count == 0 and list(tree.walk()) == []


def test_attribute_text_and_durations() -> None:
    node = build_tree(
        [span("a1", "x", None, 0, 1, attributes={"b": True, "a": [1, "two"], "c": 3})]
    ).roots[0]
    assert node.attribute_rows == [("a", '[1, "two"]'), ("b", "true"), ("c", "3")]
    assert value_text(None) == "" and value_text({"k": "é"}) == '{"k": "é"}'
    assert format_ms(1_234_567) == "1.23 ms" and format_ms(123_456_789) == "123.5 ms"
