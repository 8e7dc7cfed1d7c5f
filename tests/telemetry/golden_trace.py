"""A scheduled declarative run's trace, by hand, as the worker now exports it, and the
golden-file check the waterfall tests share.

One trace under the run's RunWorkflow span (no starter: a schedule). Two decisions, each
asking the enforcing and the shadow policy; the second about a step, where the shadow
policy disagrees. An approval refused, then the step runs and the run completes.
Regenerate the golden files with `UPDATE_GOLDEN=1 pytest tests/telemetry` and review the
diff: each file is what a person reads.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from telemetry.httpx_tracing import OPA_PATH, OPA_ROLE
from telemetry.jaeger import JsonValue, Span, SpanEvent
from telemetry.policy_attributes import SHADOW_AGREES, SHADOW_EVENT, decision_attributes
from tests.telemetry.test_waterfall import MS, T0, span

GOLDEN = Path(__file__).parent / "golden"
TRACE = "0194c3c18f2e7a4b9c5d6e7f80912345"
OPA_URL = "http://127.0.0.1:8181/v1/data/"
# Temporal's markers end as they start; Jaeger keeps them 1 ns long, so they are here too.
INSTANT = 1e-6
RUN = {"temporalWorkflowID": "nightly-2026-12-02T03:00:00Z", "temporalRunID": "0194c3c1"}


def decision(**fields: Any) -> dict[str, JsonValue]:
    base: dict[str, Any] = {
        "allow": True,
        "reasons_count": 1,
        "require_approval": False,
        "risk": "low",
        "decision_id": "d-1",
        "revision": "2026.12.01-1+3f2a",
        "opa_version": "1.22.2",
    }
    return cast(dict[str, JsonValue], decision_attributes(**{**base, **fields}))


def opa_calls(prefix: str, parent: str, start_ms: float) -> list[Span]:
    calls = []
    for offset, (role, path) in enumerate(
        (("enforcing", "orchestrator/main/decision"), ("shadow", "shadow/main/decision"))
    ):
        client = f"{prefix}{offset}"
        calls += [
            span(
                client,
                "POST",
                parent,
                start_ms + offset,
                5,
                kind="client",
                attributes={"url.full": OPA_URL + path, OPA_PATH: path, OPA_ROLE: role},
            ),
            span(f"{client}o", "POST /v1/data/{path...}", client, start_ms + offset + 1, 3, "opa"),
        ]
    return calls


DISAGREEMENT = SpanEvent(
    SHADOW_EVENT,
    T0 + 25 * MS,
    {
        "orchestrator.policy.action": "step.execute",
        "orchestrator.policy.outcome": "allow",
        "orchestrator.policy.shadow.outcome": "approval_required",
        "orchestrator.policy.shadow.revision": "2026.12.02-1",
        "orchestrator.policy.shadow.differences": [
            "outcome: allow -> approval_required",
            "risk: low -> high",
        ],
        "orchestrator.policy.shadow.error": "",
    },
)
REFUSED = SpanEvent("exception", T0 + 55 * MS, {"exception.type": "ApprovalRefused"})


def _scheduled() -> list[Span]:
    spans = [
        span("r0", "RunWorkflow:DeclarativeWorkflow", None, 0, INSTANT, attributes=dict(RUN)),
        span("s1", "StartActivity:policy.decide", "r0", 1, INSTANT, attributes=dict(RUN)),
        span(
            "a1",
            "RunActivity:policy.decide",
            "s1",
            2,
            10,
            kind="server",
            attributes={**RUN, **decision(action="workflow.start"), SHADOW_AGREES: True},
        ),
        *opa_calls("p1", "a1", 3),
        span("s2", "StartActivity:policy.decide", "r0", 15, INSTANT, attributes=dict(RUN)),
        span(
            "a2",
            "RunActivity:policy.decide",
            "s2",
            16,
            14,
            kind="server",
            attributes={
                **RUN,
                **decision(
                    action="step.execute",
                    step_path="execution.blocks[2]",
                    step_activity="deploy.service",
                    decision_id="d-2",
                ),
                SHADOW_AGREES: False,
            },
            events=(DISAGREEMENT,),
        ),
        *opa_calls("p2", "a2", 17),
        span("u1", "ValidateUpdate:approve", "r0", 40, INSTANT, attributes=dict(RUN)),
        span("u2", "HandleUpdate:approve", "r0", 40, 15, attributes=dict(RUN), events=(REFUSED,)),
        span("s3", "StartActivity:deploy.service", "r0", 60, INSTANT, attributes=dict(RUN)),
        span("a3", "RunActivity:deploy.service", "s3", 61, 19, kind="server"),
        span("c1", "CompleteWorkflow:DeclarativeWorkflow", "r0", 90, INSTANT, attributes=dict(RUN)),
    ]
    # Hex span ids, as Jaeger stores them, numbered in the order above.
    ids = {each.span_id: f"{number:016x}" for number, each in enumerate(spans, start=1)}
    return [
        replace(
            each,
            trace_id=TRACE,
            span_id=ids[each.span_id],
            parent_span_id=ids[each.parent_span_id] if each.parent_span_id else None,
        )
        for each in spans
    ]


SCHEDULED = _scheduled()


def assert_golden(name: str, actual: str) -> None:
    """`actual` is the file's text; UPDATE_GOLDEN=1 writes it instead."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual + "\n", encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual + "\n" == expected, f"{name} differs from the golden file (UPDATE_GOLDEN=1)"


def json_text(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True)
