"""Decisions made as local activities (gate.LOCAL_DECISIONS) audit as the activity's did.

The same scenario recorded before the patch (its decisions are policy.decide activities)
and after it (core_local_activity markers, which keep no input) must give the same
decisions: when, about whom, with what outcome and credential.
"""

from __future__ import annotations

import pytest

from orchestrator.audit.history import LOCAL_ACTIVITY_MARKER, read_run
from orchestrator.audit.records import AuditDecision, AuditRecord
from tests.audit.support import CONVERTER, load

# (before the patch, after it): one recording of each scenario.
PAIRS = [
    ("governed_lowrisk_v6", "governed_lowrisk_v7"),
    ("governed_denied_v6", "governed_denied_v7"),
    ("governed_approved_v6", "governed_approved_v7"),
    ("governed_rejected_v6", "governed_rejected_v7"),
    ("governed_expired_v6", "governed_expired_v7"),
    ("declarative_release_v4", "declarative_release_v5"),
    ("declarative_check_policy_approval_v4", "declarative_check_policy_approval_v5"),
]


def shown(decision: AuditDecision) -> tuple[str, ...]:
    answer = decision.answer
    return (
        decision.subject,
        decision.outcome,
        answer.action,
        ",".join(answer.reasons),
        decision.approval_digest and "digest",
        decision.credential_subject,
        decision.credential_issuer,
        decision.credential_nonce and "nonce",
        answer.authenticated_approver,
        answer.requester_issuer,
    )


async def record(name: str) -> AuditRecord:
    record = await read_run(load(name), CONVERTER)
    assert isinstance(record, AuditRecord), record
    return record


def local_markers(name: str) -> int:
    return sum(
        1
        for event in load(name).events
        if event.HasField("marker_recorded_event_attributes")
        and event.marker_recorded_event_attributes.marker_name == LOCAL_ACTIVITY_MARKER
    )


@pytest.mark.parametrize(("before", "after"), PAIRS, ids=[after for _, after in PAIRS])
async def test_the_same_scenario_audits_the_same_decisions(before: str, after: str) -> None:
    old, new = await record(before), await record(after)
    # The new recording really holds its decisions as local activities.
    assert local_markers(after) > local_markers(before)
    assert not any(
        event.activity_task_scheduled_event_attributes.activity_type.name == "policy.decide"
        for event in load(after).events
        if event.HasField("activity_task_scheduled_event_attributes")
    )
    assert [shown(d) for d in new.decisions] == [shown(d) for d in old.decisions]
    assert all(d.answer.decision_id for d in new.decisions)
    assert (new.status, len(new.steps), len(new.approvals)) == (
        old.status,
        len(old.steps),
        len(old.approvals),
    )
