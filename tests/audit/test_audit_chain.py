"""The hash-chained audit stream: each kind of tampering is caught, named, on its line.

Pure tests: records are built from the recorded histories (tests/histories), so they also
prove old histories still make audit records, with the newer fields at their defaults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from orchestrator.audit import chain as audit_chain
from orchestrator.audit.chain import GENESIS, ExportFormat
from orchestrator.audit.encodable import MAX_DEPTH
from orchestrator.audit.entries import record_entries, run_entries
from orchestrator.audit.history import build_audit
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.audit.verify import ProblemKind, verify
from orchestrator.policy.canonical import canonical_json
from orchestrator.vocabulary import POLICY_ACTIVITY
from tests.audit.support import (
    CONVERTER,
    HISTORIES,
    bob_credential,
    load,
    with_bound_approval,
    with_policy_timeout,
    with_request,
)

EDITED, REMOVED, REORDERED, TRUNCATED = (
    ProblemKind.EDITED,
    ProblemKind.REMOVED,
    ProblemKind.REORDERED,
    ProblemKind.TRUNCATED,
)
APPENDED, NOT_JSON, MIXED_FORMATS, HEAD_MISMATCH = (
    ProblemKind.APPENDED,
    ProblemKind.NOT_JSON,
    ProblemKind.MIXED_FORMATS,
    ProblemKind.HEAD_MISMATCH,
)


async def records(*names: str) -> list[AuditRecord]:
    return [await build_audit(load(name), CONVERTER) for name in names]


@pytest.fixture(scope="module")
async def entries() -> list[dict[str, Any]]:
    found = await records("governed_lowrisk_v3", "governed_approved_v3", "governed_denied_v3")
    bodies = [entry for record in found for entry in record_entries(record)]
    return audit_chain.chain(bodies, exported_at="2026-11-24T12:00:00.000Z", since=None)


def stream(entries: list[dict[str, Any]], form: ExportFormat) -> list[str]:
    return list(audit_chain.lines(entries, form))


def found(lines: list[str], head: str | None = None) -> list[tuple[int, str]]:
    return [(p.line, p.kind) for p in verify(lines, head).problems]


def edit(line: str, change: Callable[[dict[str, Any]], None]) -> str:
    """Change a line's entry (its `data` for CloudEvents) without fixing any hash."""
    document = json.loads(line)
    change(document.get("data", document) if "specversion" in document else document)
    return canonical_json(document).decode()


FORMS = pytest.mark.parametrize("form", audit_chain.FORMATS)


def first_decision(lines: list[str]) -> int:
    return next(i for i, line in enumerate(lines) if '"kind":"decision"' in line)


@FORMS
def test_an_intact_stream_verifies(entries: list[dict[str, Any]], form: ExportFormat) -> None:
    result = verify(stream(entries, form))
    assert result.ok, result.problems
    assert result.form == form
    assert result.records == len(entries) - 1
    # One head: the last record's hash, which the trailer states as `head`.
    assert result.head == audit_chain.head(entries) == entries[-1]["head"] == entries[-2]["hash"]
    assert entries[0]["prev_hash"] == GENESIS
    assert entries[-1] | {"kind": "end", "count": len(entries) - 1} == entries[-1]
    # Bytes (as read from a file), a trailing newline and the right head change nothing.
    raw = ("\n".join(stream(entries, form)) + "\n").encode().splitlines()
    assert verify(raw, expected_head=result.head).ok


@FORMS
def test_an_edited_field_is_caught_on_its_line(
    entries: list[dict[str, Any]], form: ExportFormat
) -> None:
    lines = stream(entries, form)
    at = first_decision(lines)
    lines[at] = edit(lines[at], lambda entry: entry.update(decision_id="forged"))
    assert found(lines) == [(at + 1, EDITED)]


@FORMS
def test_a_removed_record_is_caught(entries: list[dict[str, Any]], form: ExportFormat) -> None:
    lines = stream(entries, form)
    del lines[3]
    # The record that now sits on line 4 names the gap before it.
    assert found(lines) == [(4, REMOVED)]


@FORMS
def test_swapped_records_are_caught(entries: list[dict[str, Any]], form: ExportFormat) -> None:
    lines = stream(entries, form)
    lines[3], lines[4] = lines[4], lines[3]
    assert found(lines) == [(5, REORDERED)]


@FORMS
def test_a_cut_tail_is_caught_with_or_without_the_trailer(
    entries: list[dict[str, Any]], form: ExportFormat
) -> None:
    lines = stream(entries, form)
    cut = lines[:-3]
    assert found(cut) == [(len(cut) + 1, TRUNCATED)]
    kept_trailer = [*lines[:-3], lines[-1]]
    assert found(kept_trailer) == [(len(kept_trailer), TRUNCATED)]


@FORMS
def test_an_edited_trailer_is_caught(entries: list[dict[str, Any]], form: ExportFormat) -> None:
    lines = stream(entries, form)
    lines[-1] = edit(lines[-1], lambda entry: entry.update(count=entry["count"] - 2))
    assert found(lines) == [(len(lines), EDITED)]


@FORMS
def test_non_json_lines_are_caught(entries: list[dict[str, Any]], form: ExportFormat) -> None:
    lines = stream(entries, form)
    inserted = [*lines[:2], "not json {", *lines[2:]]
    assert found(inserted) == [(3, NOT_JSON)]
    # A record overwritten with garbage is also missing from the chain.
    overwritten = [*lines[:2], "\xff garbage", *lines[3:]]
    assert found(overwritten) == [(3, NOT_JSON), (4, REMOVED)]


def test_mixed_formats_are_caught(entries: list[dict[str, Any]]) -> None:
    lines = stream(entries, "jsonl")
    lines[2] = stream(entries, "cloudevents")[2]
    assert found(lines) == [(3, MIXED_FORMATS)]


def test_records_after_the_trailer_are_caught(entries: list[dict[str, Any]]) -> None:
    lines = stream(entries, "jsonl")
    lines.append(lines[0])
    assert (len(lines), APPENDED) in found(lines)


def test_a_cloud_event_envelope_must_agree_with_its_data(entries: list[dict[str, Any]]) -> None:
    lines = stream(entries, "cloudevents")
    event = json.loads(lines[1])
    event["subject"] = "someone-else"
    lines[1] = canonical_json(event).decode()
    assert found(lines) == [(2, EDITED)]


def test_cloud_events_carry_the_chain_as_extension_attributes(
    entries: list[dict[str, Any]],
) -> None:
    event = json.loads(stream(entries, "cloudevents")[1])
    data = event["data"]
    assert event["specversion"] == "1.0"
    assert event["type"] == f"dev.policy-orchestrator.audit.records.{data['kind']}"
    assert event["subject"] == data["workflow_id"]
    assert event["time"] == data["at"]
    assert event["datacontenttype"] == "application/json"
    assert (event["auditseq"], event["auditprevhash"], event["audithash"]) == (
        data["seq"],
        data["prev_hash"],
        data["hash"],
    )
    # CloudEvents attribute names: lower-case letters and digits only.
    assert all(name.isalnum() and name.islower() for name in event if name != "data")


def test_a_rehashed_rewrite_passes_the_chain_but_not_the_recorded_head(
    entries: list[dict[str, Any]],
) -> None:
    """Without a secret anyone can re-hash a forged stream; the head stored apart catches it."""
    bodies = [
        {k: v for k, v in entry.items() if k not in ("seq", "prev_hash", "hash")}
        for entry in entries[:-1]
    ]
    bodies[1]["decision_id"] = "forged"
    forged = audit_chain.chain(bodies, exported_at="2026-11-24T12:00:00.000Z", since=None)
    lines = stream(forged, "jsonl")
    assert verify(lines).ok
    assert found(lines, head=audit_chain.head(entries)) == [(len(lines), HEAD_MISMATCH)]


def test_an_empty_stream_is_truncated() -> None:
    assert found([]) == [(1, TRUNCATED)]


# Recorded before bound approvals (governed v4, declarative v2 are after).
OLD_HISTORIES = ("governed_*_v1", "governed_*_v2", "governed_*_v3", "declarative_*_v1")


async def test_old_histories_build_records_with_the_new_fields_defaulted() -> None:
    paths = sorted(path for pattern in OLD_HISTORIES for path in HISTORIES.glob(f"{pattern}.json"))
    assert len(paths) >= 10
    for path in paths:
        (record,) = await records(path.stem)
        assert record.decisions, path.stem
        for decision in record.decisions:
            assert decision.outcome in ("allow", "deny", "approval_required"), path.stem
            assert decision.answer.decision_id and decision.answer.policy_revision
            assert (decision.approval_digest, decision.answer.authenticated_approver) == ("", "")
            assert (decision.answer.approval, decision.answer.shadow) == (None, None)
        for approval in record.approvals:
            assert (approval.digest, approval.credential_subject) == ("", "")
        entries = audit_chain.chain(record_entries(record))
        assert verify(audit_chain.lines(entries, "jsonl")).ok


async def test_new_histories_carry_requirements_digests_and_authenticated_approvers() -> None:
    (record,) = await records("governed_approved_v4")
    start, *approvals = record.decisions
    assert start.outcome == "approval_required"
    assert start.answer.approval is not None and start.answer.approval.quorum == 2
    accepted = [d for d in approvals if d.answer.action == "approval.decide" and d.answer.allow]
    assert [d.answer.authenticated_approver for d in accepted] == ["bob", "carol"]
    assert all(d.approval_digest.startswith("sha256:") for d in accepted)
    assert all(a.digest and a.credential_subject == a.approver for a in record.approvals)
    entries = audit_chain.chain(record_entries(record))
    assert verify(audit_chain.lines(entries, "jsonl")).ok


async def test_new_decision_fields_surface_and_the_signature_never_does() -> None:
    # The third policy call is bob's approval.decide: give it a credential and a digest,
    # and give its answer a requirement, a shadow result and the proven identity.
    history = await with_bound_approval(
        "governed_approved_v3",
        credential=bob_credential(load("governed_approved_v3").workflow_id),
        answer={
            "authenticated_approver": "bob",
            "approval": {"approver_roles": ["approver", "sre"], "quorum": 2},
            "shadow": {
                "decision_path": "orchestrator/candidate/decision",
                "policy_revision": "2026.12.01-1",
                "outcome": "deny",
                "agrees": False,
                "differences": ["outcome: allow -> deny"],
            },
        },
    )
    record = await build_audit(history, CONVERTER)
    decision = next(d for d in record.decisions if d.answer.authenticated_approver)
    assert (decision.approval_digest, decision.answer.authenticated_approver) == (
        "sha256:abc",
        "bob",
    )
    assert (decision.credential_issuer, decision.credential_nonce) == ("orchestrator-cli", "n-1")
    requirement = decision.answer.approval
    assert requirement is not None
    assert (requirement.quorum, requirement.approver_roles) == (2, ["approver", "sre"])
    # Not in the answer: the contract's default, as the workflow itself decoded it.
    assert requirement.deadline_seconds == 24 * 3600
    shadow = decision.answer.shadow
    assert shadow is not None
    assert (shadow.agrees, shadow.outcome) == (False, "deny")
    assert shadow.policy_revision == "2026.12.01-1"
    text = "\n".join(audit_chain.lines(audit_chain.chain(record_entries(record)), "jsonl"))
    assert "sha256:abc" in text and "orchestrator-cli" in text
    assert "SECRET-SIGNATURE" not in text


async def test_a_policy_call_out_of_budget_is_an_unavailable_decision() -> None:
    # What history holds when the budget (schedule-to-close) runs out while OPA is down.
    record = await build_audit(with_policy_timeout("governed_lowrisk_v3"), CONVERTER)
    decision = record.decisions[0]
    assert (decision.answer.action, decision.outcome, decision.answer.allow) == (
        "workflow.start",
        "unavailable",
        False,
    )
    assert "OpaUnreachable: OPA unreachable" in decision.answer.reasons[0]
    assert not [step for step in record.steps if step.activity == POLICY_ACTIVITY]


# --- values from history that JSON cannot carry ----------------------------------------


def test_values_json_cannot_carry_are_text_in_their_place_and_named() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(MAX_DEPTH + 10):
        inner["a"] = {}
        inner = inner["a"]
    body = {
        "workflow_id": "w-1",
        "run_id": "r-1",
        "kind": "request",
        "at": "2026-12-01T00:00:00.000Z",
        "request": {
            "parameters": {"amount": float("nan"), "limit": float("inf"), "fine": 1.5},
            "task": "report \udcff",
            "args": [float("-inf"), "\ud800", b"raw"],
            "deep": deep,
        },
    }
    entries = audit_chain.chain([body], exported_at="2026-12-01T00:00:00.000Z", since=None)
    request = entries[0]["request"]
    assert request["parameters"] == {"amount": "NaN", "limit": "Infinity", "fine": 1.5}
    assert request["task"] == "report \\udcff"
    assert request["args"] == ["-Infinity", "\\ud800", "b'raw'"]
    assert entries[0]["unencodable"][:3] == [
        "request.parameters.amount: NaN is not a JSON number; exported as the text 'NaN'",
        "request.parameters.limit: Infinity is not a JSON number; exported as the text 'Infinity'",
        "request.task: not valid Unicode text; exported with \\u escapes",
    ]
    assert entries[0]["unencodable"][-1].endswith(
        f"nested deeper than {MAX_DEPTH} levels; not exported"
    )
    assert entries[-1]["unreadable_runs"] == 1
    [problem] = audit_chain.problem_runs(entries)
    assert problem.startswith("w-1 (run r-1): request record: request.parameters.amount: NaN")
    for form in audit_chain.FORMATS:
        assert verify(stream(entries, form)).ok


def test_an_unreadable_run_is_one_entry_and_counted() -> None:
    run = UnreadableRun("w-2", "r-2", "GovernedWorkflow", "2026-12-01T00:00:00.000Z", "boom")
    entries = audit_chain.chain(run_entries(run), since=None)
    assert [entry["kind"] for entry in entries] == ["unreadable", "end"]
    assert (entries[0]["workflow_id"], entries[0]["error"]) == ("w-2", "boom")
    assert entries[-1]["unreadable_runs"] == 1
    assert audit_chain.problem_runs(entries) == ["w-2 (run r-2): history unreadable: boom"]
    assert verify(stream(entries, "jsonl")).ok


async def test_the_exported_request_leaves_the_start_signature_out() -> None:
    (record,) = await records("governed_lowrisk_v3")
    record.request = {
        **record.request,
        "credential": {"subject": "alice", "issuer": "alice", "signature": "SECRET-START"},
    }
    rebuilt = await build_audit(
        await with_request("governed_lowrisk_v3", record.request), CONVERTER
    )
    assert rebuilt.request["credential"] == {"subject": "alice", "issuer": "alice"}
    text = "\n".join(audit_chain.lines(audit_chain.chain(record_entries(rebuilt)), "jsonl"))
    assert "SECRET-START" not in text


@FORMS
def test_the_trailer_s_head_is_the_head_verify_accepts(
    entries: list[dict[str, Any]], form: ExportFormat
) -> None:
    """What a reader copies from the trailer line is what `verify --head` checks."""
    lines = stream(entries, form)
    trailer = json.loads(lines[-1])
    trailer = trailer.get("data", trailer)
    assert verify(lines, expected_head=trailer["head"]).ok
    assert verify(lines, expected_head=trailer["head"].upper() + " ").ok
    assert found(lines, head="0" * 63 + "1") == [(len(lines), HEAD_MISMATCH)]


@FORMS
def test_a_forged_unreadable_count_in_a_rehashed_trailer_is_caught(
    entries: list[dict[str, Any]], form: ExportFormat
) -> None:
    """The head does not cover the trailer's own fields, so verify checks its counts."""
    body = {k: v for k, v in entries[-1].items() if k not in ("hash",)}
    body["unreadable_runs"] = 3
    body["hash"] = audit_chain.entry_hash(body)
    lines = stream([*entries[:-1], body], form)
    assert found(lines, head=audit_chain.head(entries)) == [(len(lines), EDITED)]
