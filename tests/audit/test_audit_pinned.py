"""Exports and records made before the restructure of issue 14 stay exactly as they were.

tests/audit/exports/ was written by the audit code of commit 0c75254 from the histories of
tests/audit/support.py (recorded ones, and copies edited to hold a bound approval with a
requirement and a shadow result, a policy call timed out or failed, a request JSON cannot
carry, a history that does not decode, and a run Temporal refused). An export made then
must still verify, the same histories must export the same lines (so every entry hashes
as it did), and `audit ID` must print the same JSON and text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit import chain as audit_chain
from orchestrator.audit.chain import ExportFormat
from orchestrator.audit.entries import run_entries
from orchestrator.audit.history import read_run
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.audit.text import record_json, record_text
from orchestrator.audit.verify import verify
from orchestrator.config import Settings
from tests.audit.support import CONVERTER, pinned_histories

EXPORTS = Path(__file__).parent / "exports"
# The head of tests/audit/exports/pinned.*: its last record's hash, its trailer's `head`.
PINNED_HEAD = "7ef7c773dd4a094648281c6b3cb5ab09f3d8af0b253f88a3b4b3e188f335172d"
# What `audit export` printed as the head for them at commit 0c75254: the trailer's hash.
PINNED_TRAILER_HASH = "51dace1c13b551cd773309bf214098f3394a7fb4197e782d689dc4e1e35c6483"
REFUSED = UnreadableRun(
    "w-gone",
    "r-gone",
    "GovernedWorkflow",
    "2026-11-24T10:00:00.000Z",
    "Temporal refused the history: gone",
)


@pytest.fixture(scope="module")
async def runs() -> dict[str, AuditRecord | UnreadableRun]:
    return {
        name: await read_run(history, CONVERTER)
        for name, history in (await pinned_histories()).items()
    }


def pinned(form: ExportFormat) -> list[str]:
    return (EXPORTS / f"pinned.{form}").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("form", audit_chain.FORMATS)
def test_an_export_made_before_still_verifies(form: ExportFormat) -> None:
    lines = pinned(form)
    result = verify([line.encode() for line in lines], expected_head=PINNED_HEAD)
    assert result.ok, result.problems
    assert (result.records, result.head, result.form) == (len(lines) - 1, PINNED_HEAD, form)
    # The head printed before the head was the trailer's `head` still names the stream.
    assert verify([line.encode() for line in lines], expected_head=PINNED_TRAILER_HASH).ok


@pytest.mark.parametrize("form", audit_chain.FORMATS)
def test_the_same_histories_export_the_same_lines(
    runs: dict[str, AuditRecord | UnreadableRun], form: ExportFormat
) -> None:
    entries = audit_chain.chain(
        (entry for run in [*runs.values(), REFUSED] for entry in run_entries(run)),
        exported_at="2026-11-24T12:00:00.000Z",
        since="2026-11-24T00:00:00Z",
    )
    assert audit_chain.head(entries) == PINNED_HEAD
    assert list(audit_chain.lines(entries, form)) == pinned(form)
    # What the pinned stream covers: each kind of entry, and each way a run is not faithful.
    kinds = {entry["kind"] for entry in entries}
    assert kinds == {"request", "decision", "approval", "step", "outcome", "unreadable", "end"}
    outcomes = {entry.get("outcome") for entry in entries if entry["kind"] == "decision"}
    assert {"allow", "deny", "approval_required", "unavailable", "error"} <= outcomes
    assert entries[-1]["unreadable_runs"] == 3


def test_audit_prints_the_same_json_and_text(runs: dict[str, AuditRecord | UnreadableRun]) -> None:
    shown: dict[str, dict[str, Any]] = json.loads(
        (EXPORTS / "pinned_records.json").read_text(encoding="utf-8")
    )
    records = {name: run for name, run in runs.items() if isinstance(run, AuditRecord)}
    assert sorted(records) == sorted(shown)
    settings = Settings.from_env({})
    for name, record in records.items():
        assert record_json(record) == shown[name]["json"], name
        assert record_text(record, settings) == shown[name]["text"], name
