"""The shadow report's counting and rendering, on audit records built by hand."""

from __future__ import annotations

from typing import Any

from orchestrator.audit.records import AuditDecision, AuditRecord, DecisionOutcome
from orchestrator.audit.shadow_report import render, summarise
from orchestrator.policy.contract import PolicyDecision, ShadowResult


def decision(
    action: str = "workflow.start",
    shadow: ShadowResult | None = None,
    outcome: DecisionOutcome = "allow",
    policy_revision: str = "r1",
) -> AuditDecision:
    answer = PolicyDecision(
        action=action,
        allow=outcome != "deny",
        reasons=[],
        require_approval=outcome == "approval_required",
        risk="low",
        decision_id="d",
        policy_revision=policy_revision,
        opa_version="1",
        decision_path="orchestrator/main/decision",
        shadow=shadow,
        unavailable=outcome == "unavailable",
    )
    return AuditDecision(
        at="2026-11-24T10:00:00Z", subject="workflow", outcome=outcome, answer=answer
    )


def shadow(**fields: Any) -> ShadowResult:
    return ShadowResult(decision_path="shadow/main/decision", **fields)


def record(workflow_id: str, *decisions: AuditDecision) -> AuditRecord:
    return AuditRecord(
        workflow_id=workflow_id,
        run_id=f"{workflow_id}-run",
        workflow_type="GovernedWorkflow",
        started_at="2026-11-24T10:00:00Z",
        requester="alice",
        request={},
        decisions=list(decisions),
    )


AGREE = shadow(agrees=True, outcome="allow", policy_revision="r1+c")
STRICTER = shadow(
    agrees=False,
    outcome="approval_required",
    policy_revision="r1+c",
    differences=["outcome: allow -> approval_required", "risk: low -> high"],
    reasons_added=["Approval required: the amount 7000 is above 5000."],
    reasons_removed=["Risk low."],
)
LOOSER = shadow(
    agrees=False,
    outcome="allow",
    policy_revision="r1+c",
    differences=["outcome: deny -> allow"],
)
BROKEN = shadow(agrees=False, outcome="error", policy_revision="", error="HTTP 500")


def test_counts_each_decision_once_by_verdict() -> None:
    records = [
        record("wf-a", decision(shadow=STRICTER), decision("approval.decide", shadow=AGREE)),
        record("wf-b", decision(shadow=AGREE)),
        record("wf-c", decision(shadow=LOOSER, outcome="deny"), decision(shadow=BROKEN)),
        # No answer from OPA: not a decision; a decision before shadows existed: not evaluated.
        record("wf-d", decision(outcome="unavailable"), decision(shadow=None)),
    ]
    report = summarise(records, since="2026-11-24T09:00:00Z")
    assert (report.workflow_runs, report.decisions, report.evaluated) == (4, 6, 5)
    assert (report.agreed, report.disagreed, report.errors) == (2, 2, 1)
    assert report.changes == {
        "outcome: allow -> approval_required": 1,
        "risk: low -> high": 1,
        "outcome: deny -> allow": 1,
    }
    assert report.by_action == {"workflow.start": 2}
    assert report.reasons_added == {"Approval required: the amount 7000 is above 5000.": 1}
    assert report.reasons_removed == {"Risk low.": 1}
    assert report.error_messages == {"HTTP 500": 1}
    assert report.candidate_revisions == {"r1+c": 4}
    assert [(w.workflow_id, w.disagreements) for w in report.workflows] == [
        ("wf-a", 1),
        ("wf-c", 1),
    ]

    text = render(report)
    assert "workflows started since 2026-11-24T09:00:00Z (4 runs)" in text
    assert "would change         2" in text
    assert "+ Approval required: the amount 7000 is above 5000." in text
    assert "wf-c  (GovernedWorkflow, 1 decision(s)): outcome: deny -> allow" in text


def test_says_when_no_candidate_answered() -> None:
    text = render(summarise([record("wf-a", decision())]))
    assert "no decision carries a shadow result (1 decisions)" in text
    assert "policies/shadow/" in text
