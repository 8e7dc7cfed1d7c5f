"""The waterfall and `--json` model by golden files, and the width contract by structure.

Golden files (tests/telemetry/golden/) are the whole text a person reads; regenerate with
`UPDATE_GOLDEN=1` and review the diff.
"""

from __future__ import annotations

import pytest

from telemetry.trace_model import build_tree, tree_document
from telemetry.waterfall import DURATION_WIDTH, MIN_WIDTH, render_tree, render_waterfall
from tests.telemetry.golden_trace import SCHEDULED, assert_golden, json_text
from tests.telemetry.test_trace_model import recorded
from tests.telemetry.test_waterfall import SPANS


def test_scheduled_run_hides_markers_and_says_what_each_decision_is() -> None:
    text = render_waterfall(SCHEDULED, width=100, hide_markers=True)
    assert_golden("scheduled_w100.txt", text)
    lines = text.splitlines()
    # Step decisions name their step; OPA's two POSTs say which policy they ask.
    [step] = [line for line in lines if "· execution.blocks[2] " in line]
    assert step.startswith("    RunActivity:")
    assert sum("POST · enforcing" in line for line in lines) == 2
    assert sum("POST · shadow" in line for line in lines) == 2
    disagreement = "shadow disagrees: allow -> approval_required (risk: low -> high)"
    assert any(line.strip() == f"{disagreement} [candidate 2026.12.02-1]" for line in lines)
    # The refused approval is marked on its update; the run's completion is not marked.
    [marked] = [line for line in lines if line.startswith("!")]
    assert "HandleUpdate:approve" in marked
    assert any(line.strip() == "! update refused: ApprovalRefused" for line in lines)
    # Zero-length markers are left out, and counted.
    assert not any("StartActivity" in line or "CompleteWorkflow" in line for line in lines)
    assert lines[-1] == "5 zero-length Temporal spans not shown (--all shows them)"
    # The root marker stays: the run's spans hang under it.
    assert lines[4].startswith("  RunWorkflow:DeclarativeWorkflow ")


def test_scheduled_run_with_every_span() -> None:
    text = render_waterfall(SCHEDULED, width=100)
    assert_golden("scheduled_all_w100.txt", text)
    assert "not shown" not in text
    assert "StartActivity:policy.decide" in text and "CompleteWorkflow:DeclarativeWorkflow" in text


def test_scheduled_run_on_a_narrow_terminal() -> None:
    assert_golden("scheduled_w60.txt", render_waterfall(SCHEDULED, width=60, hide_markers=True))


def test_recorded_trace_default_and_all() -> None:
    assert_golden("recorded_w100.txt", render_waterfall(recorded(), width=100, hide_markers=True))
    assert_golden("recorded_all_w100.txt", render_waterfall(recorded(), width=100))


def test_the_json_model() -> None:
    document = tree_document(build_tree(SCHEDULED, hide_markers=True))
    assert_golden("scheduled_tree.json", json_text(document))
    assert document["trace_ids"] == [SCHEDULED[0].trace_id]
    assert document["hidden_span_count"] == 5
    assert document["span_count"] == len(document["spans"]) == len(SCHEDULED) - 5
    step = next(s for s in document["spans"] if "execution.blocks[2]" in s["label"])
    assert step["notes"] == [
        "shadow disagrees: allow -> approval_required (risk: low -> high) [candidate 2026.12.02-1]"
    ]
    assert step["attributes"]["orchestrator.policy.step.path"] == "execution.blocks[2]"


@pytest.mark.parametrize("width", [1, 20, MIN_WIDTH, 50, 64, 80, 100, 133, 200])
@pytest.mark.parametrize("name", ["scheduled", "recorded", "hand-made"])
def test_every_line_fits_and_durations_align(width: int, name: str) -> None:
    spans = {"scheduled": SCHEDULED, "recorded": recorded(), "hand-made": SPANS}[name]
    for hide in (False, True):
        tree = build_tree(spans, hide_markers=hide)
        text = render_tree(tree, width=width)
        drawn = max(width, MIN_WIDTH)
        lines = text.splitlines()
        assert all(len(line) <= drawn for line in lines), "\n" + text
        span_lines = lines[4 : 4 + len(lines)]
        rows = [line for line in span_lines if line.endswith(" ms") and len(line) == drawn]
        # One line per span shown, each ending with its duration in the last column.
        assert len(rows) == tree.span_count, "\n" + text
        assert all(line[-DURATION_WIDTH - 1] == " " for line in rows)
