"""Audit entries as one hash-chained stream, and the stream's line formats.

The entries of all runs (orchestrator/audit/entries.py) are chained: every entry carries
`seq`, the previous entry's hash (`prev_hash`, 64 zeros for the first) and its own
`hash`, the SHA-256 of its canonical JSON without `hash` (orchestrator/policy/canonical.py).
A trailer (`kind: end`) closes the stream with the record count, so a cut tail shows too.

**The head** is one value: the hash of the last record, the one the trailer links to.
The trailer states it as `head` (equal to its `prev_hash`), `audit export` prints it on
stderr (the console sends it as `X-Audit-Head`), and `audit verify --head` checks it.
Stored apart from the stream, it catches a stream rewritten and re-hashed from scratch,
which a hash chain alone (no secret) cannot. The trailer's own hash is not the head: no
line can state its own hash, so a head taken from it could never be read off the stream.
What the head does not cover, the trailer's counts, verify checks against the stream
itself (`count`, `unreadable_runs`); `exported_at` and `since` are informative only.
Exports made before 2026-12-02 printed the trailer's own hash as the head; verify still
accepts that value (it pins the whole stream, the trailer included).
orchestrator/audit/verify.py checks a stream.

Two line formats: `jsonl` (one entry a line) and `cloudevents` (one CloudEvents 1.0
JSON event a line, the entry as `data`; the chain fields are repeated as extension
attributes `auditseq`, `auditprevhash`, `audithash`). Pure: no Temporal, no I/O.

Histories are input from anyone with a Temporal client, so nothing in one may break the
stream. A run whose history could not be read is one `kind: unreadable` entry naming it.
A value canonical JSON cannot carry is exported as text in its place, and the entry
lists each such place under `unencodable` (orchestrator/audit/encodable.py). The trailer
counts the runs affected either way (`unreadable_runs`), so a stream that is not a
faithful copy of every run says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, get_args

from orchestrator.audit.encodable import encodable
from orchestrator.audit.entries import EntryKind
from orchestrator.policy.canonical import canonical_json

GENESIS = "0" * 64
ExportFormat = Literal["jsonl", "cloudevents"]
FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
EVENT_TYPE = "dev.policy-orchestrator.audit.records."
EVENT_SOURCE = "/policy-orchestrator/audit/records"


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of the entry's canonical JSON, leaving out its own `hash`."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def chain(bodies: Iterable[dict[str, Any]], **trailer: Any) -> list[dict[str, Any]]:
    """Link the entries and append the trailer (`trailer` adds fields such as exported_at)."""
    entries: list[dict[str, Any]] = []
    previous = GENESIS
    affected: set[tuple[Any, Any]] = set()
    for body in bodies:
        entry = _linked(encodable(body), len(entries), previous)
        if entry.get("kind") == EntryKind.UNREADABLE or entry.get("unencodable"):
            affected.add((entry.get("workflow_id"), entry.get("run_id")))
        previous = entry["hash"]
        entries.append(entry)
    closing = encodable({"kind": EntryKind.END.value, **trailer})
    closing.update(count=len(entries), head=previous, unreadable_runs=len(affected))
    entries.append(_linked(closing, len(entries), previous))
    return entries


def _linked(body: dict[str, Any], seq: int, previous: str) -> dict[str, Any]:
    # Round-trip through JSON first, so the hash covers exactly what a reader parses.
    entry: dict[str, Any] = json.loads(canonical_json(body))
    entry.update(seq=seq, prev_hash=previous)
    entry["hash"] = entry_hash(entry)
    return entry


def problem_runs(entries: Iterable[dict[str, Any]]) -> list[str]:
    """One line per run the stream could not carry faithfully: unreadable, or with values
    exported as text; each names the workflow, the run and what happened."""
    found: dict[tuple[Any, Any], list[str]] = {}
    for entry in entries:
        if entry.get("kind") == EntryKind.UNREADABLE:
            what = [f"history unreadable: {entry.get('error')}"]
        elif entry.get("unencodable"):
            what = [f"{entry.get('kind')} record: {place}" for place in entry["unencodable"]]
        else:
            continue
        key = (entry.get("workflow_id"), entry.get("run_id"))
        found.setdefault(key, []).extend(what)
    return [
        f"{workflow_id} (run {run_id}): {'; '.join(what)}"
        for (workflow_id, run_id), what in found.items()
    ]


def head(entries: Sequence[dict[str, Any]]) -> str:
    """The stream's head: the hash of its last record (the trailer's `head`), see above."""
    records = [entry for entry in entries if entry.get("kind") != EntryKind.END]
    return str(records[-1]["hash"]) if records else GENESIS


def lines(entries: Iterable[dict[str, Any]], form: ExportFormat) -> Iterator[str]:
    """The stream's lines (without newline) in `form`, `jsonl` or `cloudevents`."""
    if form not in FORMATS:
        raise ValueError(f"unknown audit format {form!r}; expected one of {', '.join(FORMATS)}")
    for entry in entries:
        document = entry if form == "jsonl" else cloud_event(entry)
        yield canonical_json(document).decode("utf-8")


def cloud_event(entry: dict[str, Any]) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": entry["hash"],  # unique per source, and derived from the content
        "source": EVENT_SOURCE,
        "type": EVENT_TYPE + str(entry["kind"]),
        "datacontenttype": "application/json",
        "data": entry,
        "auditseq": entry["seq"],
        "auditprevhash": entry["prev_hash"],
        "audithash": entry["hash"],
    }
    if entry.get("at"):
        event["time"] = entry["at"]
    if entry.get("workflow_id"):
        event["subject"] = entry["workflow_id"]
    return event
