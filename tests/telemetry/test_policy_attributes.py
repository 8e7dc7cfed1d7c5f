"""The decision attributes on the policy activity's span."""

from __future__ import annotations

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from telemetry.policy_attributes import (
    annotate_current_span,
    decision_attributes,
    policy_attributes,
)

EXPECTED = {
    "orchestrator.policy.action": "workflow.start",
    "orchestrator.policy.allow": False,
    "orchestrator.policy.reasons_count": 2,
    "orchestrator.policy.require_approval": False,
    "orchestrator.policy.risk": "high",
    "orchestrator.policy.decision_id": "4a7c1d2e",
    "orchestrator.policy.revision": "rev-42",
    "orchestrator.policy.opa_version": "1.22.2",
}


def annotate_deny() -> None:
    annotate_current_span(
        action="workflow.start",
        allow=False,
        reasons_count=2,
        require_approval=False,
        risk="high",
        decision_id="4a7c1d2e",
        revision="rev-42",
        opa_version="1.22.2",
    )


def test_names_carry_the_prefix_and_keep_their_types() -> None:
    attributes = decision_attributes(
        action="workflow.start",
        allow=False,
        reasons_count=2,
        require_approval=False,
        risk="high",
        decision_id="4a7c1d2e",
        revision="rev-42",
        opa_version="1.22.2",
    )
    assert attributes == EXPECTED
    assert isinstance(attributes["orchestrator.policy.allow"], bool)
    assert isinstance(attributes["orchestrator.policy.reasons_count"], int)


def test_annotates_the_current_span_without_marking_a_deny_as_error() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("test").start_as_current_span("RunActivity:policy.decide"):
        annotate_deny()
    (span,) = exporter.get_finished_spans()
    assert dict(span.attributes or {}) == EXPECTED
    assert span.status.status_code is StatusCode.UNSET


def test_annotating_without_a_span_is_harmless() -> None:
    annotate_deny()


def test_policy_attributes_picks_them_out_in_display_order() -> None:
    found = policy_attributes(
        {"http.method": "POST", "orchestrator.policy.zz_future": 1, **EXPECTED}
    )
    assert list(found) == [
        "action",
        "allow",
        "require_approval",
        "risk",
        "reasons_count",
        "decision_id",
        "revision",
        "opa_version",
        "zz_future",
    ]


def test_a_step_decision_names_its_step_and_others_do_not() -> None:
    step = decision_attributes(
        action="step.execute",
        allow=True,
        reasons_count=0,
        require_approval=False,
        risk="low",
        decision_id="d-2",
        revision="rev-42",
        opa_version="1.22.2",
        step_path="execution.blocks[2]",
        step_activity="deploy.service",
    )
    assert step["orchestrator.policy.step.path"] == "execution.blocks[2]"
    assert step["orchestrator.policy.step.activity"] == "deploy.service"
    # Shown right after the action, before the verdict.
    assert list(policy_attributes(step))[:3] == ["action", "step.path", "step.activity"]
    assert "orchestrator.policy.step.path" not in EXPECTED
