"""`audit verify`: checks an exported stream line by line, offline, naming every problem.

Each entry's hash must match its content, its `prev_hash` the entry before it, `seq`
must run without gaps, duplicates or going back, and the trailer (`kind: end`) must close
the stream with the right count; a CloudEvents envelope must repeat its `data` exactly.
Given the head stored at export (the last record's hash, which the trailer states as `head`;
orchestrator/audit/chain.py), a stream rewritten and re-hashed from scratch shows too.
See orchestrator/audit/chain.py for how the stream is made.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from orchestrator.audit.chain import GENESIS, ExportFormat, cloud_event, entry_hash
from orchestrator.audit.entries import EntryKind


class ProblemKind(StrEnum):
    """What is wrong with a line, as `audit verify` prints it."""

    EDITED = "edited"
    REMOVED = "removed"
    REORDERED = "reordered"
    DUPLICATED = "duplicated"
    TRUNCATED = "truncated"
    APPENDED = "appended"
    NOT_JSON = "not JSON"
    MIXED_FORMATS = "mixed formats"
    INVALID = "invalid"
    HEAD_MISMATCH = "head mismatch"


@dataclass(frozen=True)
class Problem:
    line: int  # 1-based line of the file; one past the end for a missing trailer
    kind: ProblemKind
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.message}"


@dataclass
class Verification:
    records: int = 0  # entries before the trailer
    head: str = GENESIS
    form: ExportFormat | None = None
    problems: list[Problem] = field(default_factory=list)
    trailer: dict[str, Any] | None = None  # the trailer's entry, when the stream has one

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class _Line:
    number: int
    entry: dict[str, Any]
    seq: int
    stored: str


def verify(stream: Iterable[str | bytes], expected_head: str | None = None) -> Verification:
    """Check a stream line by line; every problem names its line. Blank lines are ignored."""
    result = Verification()
    parsed: list[_Line] = []
    last_number = 0
    for number, raw in enumerate(stream, start=1):
        if raw.strip():
            last_number = number  # where a missing trailer is reported: after the last line
        line = _parse(number, raw, result)
        if line is not None:
            parsed.append(line)
    for line in parsed:
        if entry_hash(line.entry) != line.stored:
            result.problems.append(
                Problem(
                    line.number,
                    ProblemKind.EDITED,
                    f"seq {line.seq}: content does not match its hash",
                )
            )
    _check_order(parsed, result)
    _check_links(parsed, result)
    _check_trailer(parsed, last_number, result)
    records = [line for line in parsed if line.entry.get("kind") != EntryKind.END]
    if records:
        result.head = records[-1].stored
    if expected_head is not None and not _is_head(expected_head, result.head, parsed):
        at = parsed[-1].number if parsed else 1
        result.problems.append(
            Problem(
                at,
                ProblemKind.HEAD_MISMATCH,
                f"head is {result.head}, expected {expected_head.strip()}",
            )
        )
    result.problems.sort(key=lambda problem: problem.line)
    return result


def _is_head(expected: str, head: str, parsed: list[_Line]) -> bool:
    """The stored head names this stream: its last record's hash (chain.py, "The head").
    Exports made before printed the trailer's own hash instead; it pins the whole stream
    (the trailer links to every record), so a value stored then is accepted too."""
    wanted = expected.strip().lower()
    trailers = [line.stored for line in parsed if line.entry.get("kind") == EntryKind.END]
    return wanted == head or wanted in trailers[:1]


def _parse(number: int, raw: str | bytes, result: Verification) -> _Line | None:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        result.problems.append(Problem(number, ProblemKind.NOT_JSON, "not UTF-8 text"))
        return None
    if not text.strip():
        return None
    try:
        document = json.loads(text)
    except ValueError as error:
        result.problems.append(Problem(number, ProblemKind.NOT_JSON, f"not a JSON line ({error})"))
        return None
    if not isinstance(document, dict):
        result.problems.append(Problem(number, ProblemKind.NOT_JSON, "not a JSON object"))
        return None
    form: ExportFormat = "cloudevents" if "specversion" in document else "jsonl"
    if result.form is None:
        result.form = form
    elif form != result.form:
        # Still chained below: the entry itself may be intact, only its envelope differs.
        result.problems.append(
            Problem(number, ProblemKind.MIXED_FORMATS, f"a {form} line in a {result.form} stream")
        )
    entry = document.get("data") if form == "cloudevents" else document
    if not isinstance(entry, dict):
        result.problems.append(
            Problem(number, ProblemKind.INVALID, "the event has no object `data`")
        )
        return None
    seq, stored = entry.get("seq"), entry.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(stored, str):
        result.problems.append(
            Problem(number, ProblemKind.INVALID, "no integer `seq` or string `hash`")
        )
        return None
    if form == "cloudevents":
        envelope = _envelope_mismatch(document, entry)
        if envelope:
            result.problems.append(Problem(number, ProblemKind.EDITED, f"seq {seq}: {envelope}"))
    return _Line(number, entry, seq, stored)


def _envelope_mismatch(event: dict[str, Any], entry: dict[str, Any]) -> str:
    """The hash covers `data`; the envelope must repeat it exactly, or it was edited."""
    expected = cloud_event(entry)
    keys = (expected.keys() | event.keys()) - {"data"}
    wrong = sorted(key for key in keys if event.get(key) != expected.get(key))
    return f"event attribute(s) {', '.join(wrong)} disagree with its data" if wrong else ""


def _check_order(parsed: list[_Line], result: Verification) -> None:
    seen: dict[int, int] = {}
    present = {line.seq for line in parsed}
    previous = -1
    for line in parsed:
        if line.seq in seen:
            result.problems.append(
                Problem(
                    line.number,
                    ProblemKind.DUPLICATED,
                    f"seq {line.seq} already on line {seen[line.seq]}",
                )
            )
        elif line.seq < previous:
            result.problems.append(
                Problem(
                    line.number, ProblemKind.REORDERED, f"seq {line.seq} comes after seq {previous}"
                )
            )
        elif line.seq > previous + 1:
            missing = [seq for seq in range(previous + 1, line.seq) if seq not in present]
            # A gap whose records all sit elsewhere is a reorder, reported where seq goes back.
            if missing and line.entry.get("kind") == EntryKind.END:
                message = f"seq {_spans(missing)} cut before the trailer"
                result.problems.append(Problem(line.number, ProblemKind.TRUNCATED, message))
            elif missing:
                message = f"missing before this line: seq {_spans(missing)}"
                result.problems.append(Problem(line.number, ProblemKind.REMOVED, message))
        seen.setdefault(line.seq, line.number)
        previous = line.seq


def _check_links(parsed: list[_Line], result: Verification) -> None:
    """Each entry must name the stored hash of the entry before it in sequence."""
    by_seq: dict[int, _Line] = {}
    for line in parsed:
        by_seq.setdefault(line.seq, line)
    for line in parsed:
        before = by_seq.get(line.seq - 1)
        if line.seq == 0:
            expected, where = GENESIS, "the genesis hash"
        elif before is not None:
            expected, where = before.stored, f"the hash of line {before.number}"
        else:
            continue  # the gap is reported by _check_order
        if line.entry.get("prev_hash") != expected:
            result.problems.append(
                Problem(
                    line.number,
                    ProblemKind.REMOVED,
                    f"seq {line.seq}: prev_hash is not {where}"
                    " (a record before it was removed or replaced)",
                )
            )


def _check_trailer(parsed: list[_Line], last_number: int, result: Verification) -> None:
    trailers = [line for line in parsed if line.entry.get("kind") == EntryKind.END]
    if not trailers:
        result.records = len(parsed)
        result.problems.append(
            Problem(
                last_number + 1,
                ProblemKind.TRUNCATED,
                "the stream ends without its trailer (kind end)",
            )
        )
        return
    trailer = trailers[0]
    result.trailer = trailer.entry
    for extra in parsed[parsed.index(trailer) + 1 :]:
        message = f"seq {extra.seq} after the trailer (line {trailer.number})"
        result.problems.append(Problem(extra.number, ProblemKind.APPENDED, message))
    records = [line for line in parsed if line is not trailer]
    result.records = len(records)
    count = trailer.entry.get("count")
    # A gap, a duplicate or an edited trailer already explains a wrong count: say it once.
    explained = any(
        p.kind in (ProblemKind.REMOVED, ProblemKind.DUPLICATED, ProblemKind.TRUNCATED)
        or p.line == trailer.number
        for p in result.problems
    )
    if count != len(records) and not explained:
        result.problems.append(
            Problem(
                trailer.number,
                ProblemKind.TRUNCATED,
                f"the trailer counts {count} records; the stream has {len(records)}",
            )
        )
    # The head does not cover the trailer's own fields: its counts are checked here.
    affected = {
        (line.entry.get("workflow_id"), line.entry.get("run_id"))
        for line in records
        if line.entry.get("kind") == EntryKind.UNREADABLE or line.entry.get("unencodable")
    }
    unreadable = trailer.entry.get("unreadable_runs")
    if unreadable is not None and unreadable != len(affected) and not explained:
        result.problems.append(
            Problem(
                trailer.number,
                ProblemKind.EDITED,
                f"the trailer counts {unreadable} runs not exported faithfully;"
                f" the stream marks {len(affected)}",
            )
        )
    if trailer.entry.get("head") != trailer.entry.get("prev_hash"):
        result.problems.append(
            Problem(trailer.number, ProblemKind.EDITED, "the trailer's head is not its prev_hash")
        )


def _spans(numbers: list[int]) -> str:
    """[3, 4, 5, 9] -> "3-5, 9"."""
    spans: list[str] = []
    start = end = numbers[0]
    for number in [*numbers[1:], None]:
        if number is not None and number == end + 1:
            end = number
            continue
        spans.append(str(start) if start == end else f"{start}-{end}")
        if number is not None:
            start = end = number
    return ", ".join(spans)
