"""Audit records as one hash-chained stream, and the check that finds any tampering.

Each workflow's AuditRecord is flattened into entries (request, decisions, approval
attempts, steps, outcome), and the entries of all workflows are chained: every entry
carries `seq`, the previous entry's hash (`prev_hash`, 64 zeros for the first) and its own
`hash`, the SHA-256 of its canonical JSON without `hash` (orchestrator/approvals/digest.py). A
trailer (`kind: end`) closes the stream with the record count, so a cut tail shows too.
The trailer's hash is the stream's head: stored elsewhere, it also catches a stream
rewritten and re-hashed from scratch, which a hash chain alone (no secret) cannot.

Two line formats: `jsonl` (one entry a line) and `cloudevents` (one CloudEvents 1.0
JSON event a line, the entry as `data`; the chain fields are repeated as extension
attributes `auditseq`, `auditprevhash`, `audithash`). Pure: no Temporal, no I/O.

Histories are input from anyone with a Temporal client, so nothing in one may break the
stream. A run whose history could not be read is one `kind: unreadable` entry naming it.
A value canonical JSON cannot carry (NaN or an infinity, text with a lone surrogate,
nesting deeper than MAX_DEPTH) is exported as text in its place, and the entry lists
each such place under `unencodable`. The trailer counts the runs affected either way
(`unreadable_runs`), so a stream that is not a faithful copy of every run says so.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.approvals.digest import canonical_json
from orchestrator.audit.records import AuditRecord, UnreadableRun

GENESIS = "0" * 64
FORMATS = ("jsonl", "cloudevents")
TRAILER = "end"
EVENT_TYPE = "dev.policy-orchestrator.audit.records."
EVENT_SOURCE = "/policy-orchestrator/audit/records"
UNREADABLE = "unreadable"
# Far deeper than any request validation accepts, far shallower than Python's recursion
# limit, so walking (and encoding) what is kept can never exhaust the stack.
MAX_DEPTH = 128
# Places named per entry; a value with thousands of NaNs names the first ones and a count.
MAX_UNENCODABLE_NAMED = 10


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of the entry's canonical JSON, leaving out its own `hash`."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def record_entries(record: AuditRecord) -> list[dict[str, Any]]:
    """One entry per request, decision, approval attempt, step and outcome, in time order."""
    common = {
        "workflow_id": record.workflow_id,
        "run_id": record.run_id,
        "workflow_type": record.workflow_type,
        "trace_id": record.trace_id,
    }
    middle: list[dict[str, Any]] = []
    for kind, items in (
        ("decision", record.decisions),
        ("approval", record.approvals),
        ("step", record.steps),
    ):
        middle += [{**common, "kind": kind, **asdict(item)} for item in items]
    # Stable sort: events of the same millisecond keep their history order.
    middle.sort(key=lambda entry: str(entry["at"]))
    request = {
        **common,
        "kind": "request",
        "at": record.started_at,
        "requester": record.requester,
        "request": record.request,
    }
    outcome = {
        **common,
        "kind": "outcome",
        "at": record.closed_at,
        "status": record.status,
        "result": record.result,
        "failure": record.failure,
    }
    return [request, *middle, outcome]


def unreadable_entry(run: UnreadableRun) -> dict[str, Any]:
    """The one entry of a run whose history could not be read: which run, and why not."""
    return {
        "workflow_id": run.workflow_id,
        "run_id": run.run_id,
        "workflow_type": run.workflow_type,
        "trace_id": None,
        "kind": UNREADABLE,
        "at": run.started_at,
        "error": run.error,
    }


def run_entries(run: AuditRecord | UnreadableRun) -> list[dict[str, Any]]:
    """The entries of one run, read or not."""
    if isinstance(run, UnreadableRun):
        return [unreadable_entry(run)]
    return record_entries(run)


def chain(bodies: Iterable[dict[str, Any]], **trailer: Any) -> list[dict[str, Any]]:
    """Link the entries and append the trailer (`trailer` adds fields such as exported_at)."""
    entries: list[dict[str, Any]] = []
    previous = GENESIS
    affected: set[tuple[Any, Any]] = set()
    for body in bodies:
        entry = _linked(_encodable(body), len(entries), previous)
        if entry.get("kind") == UNREADABLE or entry.get("unencodable"):
            affected.add((entry.get("workflow_id"), entry.get("run_id")))
        previous = entry["hash"]
        entries.append(entry)
    closing = _encodable({"kind": TRAILER, **trailer})
    closing.update(count=len(entries), head=previous, unreadable_runs=len(affected))
    entries.append(_linked(closing, len(entries), previous))
    return entries


def _linked(body: dict[str, Any], seq: int, previous: str) -> dict[str, Any]:
    # Round-trip through JSON first, so the hash covers exactly what a reader parses.
    entry: dict[str, Any] = json.loads(canonical_json(body))
    entry.update(seq=seq, prev_hash=previous)
    entry["hash"] = entry_hash(entry)
    return entry


def _encodable(body: dict[str, Any]) -> dict[str, Any]:
    """`body` as canonical JSON can carry it; what it could not is listed in `unencodable`."""
    places: list[str] = []
    value = plain(body, "", places)
    clean: dict[str, Any] = value if isinstance(value, dict) else {"value": value}
    if places:
        named = places[:MAX_UNENCODABLE_NAMED]
        if len(places) > len(named):
            named.append(f"and {len(places) - len(named)} more")
        clean["unencodable"] = named
    return clean


def plain(value: Any, path: str, places: list[str], depth: int = 0) -> Any:
    """`value` with only what JSON can carry; each substitution is appended to `places`.

    Never raises on a value decoded from history: NaN and infinities become the text
    JSON readers know them by ("NaN", "Infinity"), text that is not valid Unicode keeps
    its lone surrogates as \\uXXXX escapes, nesting deeper than MAX_DEPTH and objects of
    other types become a description of what was there.
    """
    # A path 128 levels deep is no help to read: its start and end say where it is.
    where = (path if len(path) <= 100 else f"{path[:48]}...{path[-48:]}") or "(entry)"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        places.append(f"{where}: {text} is not a JSON number; exported as the text {text!r}")
        return text
    if isinstance(value, str):
        return _text(value, where, places)
    if depth >= MAX_DEPTH:
        places.append(f"{where}: nested deeper than {MAX_DEPTH} levels; not exported")
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = _text(key if isinstance(key, str) else str(key), f"{where} (a key)", places)
            result[name] = plain(item, f"{path}.{name}" if path else name, places, depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [plain(item, f"{path}[{i}]", places, depth + 1) for i, item in enumerate(value)]
    places.append(f"{where}: a {type(value).__name__}, not JSON; exported as its text")
    try:
        return _text(str(value), where, places)
    except Exception:  # a str() that fails is still no reason to lose the stream
        return f"<{type(value).__name__}>"


def _text(text: str, where: str, places: list[str]) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        places.append(f"{where}: not valid Unicode text; exported with \\u escapes")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def problem_runs(entries: Iterable[dict[str, Any]]) -> list[str]:
    """One line per run the stream could not carry faithfully: unreadable, or with values
    exported as text; each names the workflow, the run and what happened."""
    found: dict[tuple[Any, Any], list[str]] = {}
    for entry in entries:
        if entry.get("kind") == UNREADABLE:
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
    return str(entries[-1]["hash"]) if entries else GENESIS


def lines(entries: Iterable[dict[str, Any]], form: str) -> Iterator[str]:
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


# --- verification --------------------------------------------------------------------

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
    kind: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.kind}: {self.message}"


@dataclass
class Verification:
    records: int = 0  # entries before the trailer
    head: str = GENESIS
    form: str | None = None
    problems: list[Problem] = field(default_factory=list)

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
                Problem(line.number, EDITED, f"seq {line.seq}: content does not match its hash")
            )
    _check_order(parsed, result)
    _check_links(parsed, result)
    _check_trailer(parsed, last_number, result)
    if parsed:
        result.head = parsed[-1].stored
    if expected_head is not None and result.head != expected_head.strip().lower():
        at = parsed[-1].number if parsed else 1
        result.problems.append(
            Problem(at, HEAD_MISMATCH, f"head is {result.head}, expected {expected_head.strip()}")
        )
    result.problems.sort(key=lambda problem: problem.line)
    return result


def _parse(number: int, raw: str | bytes, result: Verification) -> _Line | None:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError:
        result.problems.append(Problem(number, NOT_JSON, "not UTF-8 text"))
        return None
    if not text.strip():
        return None
    try:
        document = json.loads(text)
    except ValueError as error:
        result.problems.append(Problem(number, NOT_JSON, f"not a JSON line ({error})"))
        return None
    if not isinstance(document, dict):
        result.problems.append(Problem(number, NOT_JSON, "not a JSON object"))
        return None
    form = "cloudevents" if "specversion" in document else "jsonl"
    if result.form is None:
        result.form = form
    elif form != result.form:
        # Still chained below: the entry itself may be intact, only its envelope differs.
        result.problems.append(
            Problem(number, MIXED_FORMATS, f"a {form} line in a {result.form} stream")
        )
    entry = document.get("data") if form == "cloudevents" else document
    if not isinstance(entry, dict):
        result.problems.append(Problem(number, INVALID, "the event has no object `data`"))
        return None
    seq, stored = entry.get("seq"), entry.get("hash")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(stored, str):
        result.problems.append(Problem(number, INVALID, "no integer `seq` or string `hash`"))
        return None
    if form == "cloudevents":
        envelope = _envelope_mismatch(document, entry)
        if envelope:
            result.problems.append(Problem(number, EDITED, f"seq {seq}: {envelope}"))
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
                Problem(line.number, DUPLICATED, f"seq {line.seq} already on line {seen[line.seq]}")
            )
        elif line.seq < previous:
            result.problems.append(
                Problem(line.number, REORDERED, f"seq {line.seq} comes after seq {previous}")
            )
        elif line.seq > previous + 1:
            missing = [seq for seq in range(previous + 1, line.seq) if seq not in present]
            # A gap whose records all sit elsewhere is a reorder, reported where seq goes back.
            if missing and line.entry.get("kind") == TRAILER:
                message = f"seq {_spans(missing)} cut before the trailer"
                result.problems.append(Problem(line.number, TRUNCATED, message))
            elif missing:
                message = f"missing before this line: seq {_spans(missing)}"
                result.problems.append(Problem(line.number, REMOVED, message))
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
                    REMOVED,
                    f"seq {line.seq}: prev_hash is not {where}"
                    " (a record before it was removed or replaced)",
                )
            )


def _check_trailer(parsed: list[_Line], last_number: int, result: Verification) -> None:
    trailers = [line for line in parsed if line.entry.get("kind") == TRAILER]
    if not trailers:
        result.records = len(parsed)
        result.problems.append(
            Problem(last_number + 1, TRUNCATED, "the stream ends without its trailer (kind end)")
        )
        return
    trailer = trailers[0]
    for extra in parsed[parsed.index(trailer) + 1 :]:
        message = f"seq {extra.seq} after the trailer (line {trailer.number})"
        result.problems.append(Problem(extra.number, APPENDED, message))
    records = [line for line in parsed if line is not trailer]
    result.records = len(records)
    count = trailer.entry.get("count")
    # A gap, a duplicate or an edited trailer already explains a wrong count: say it once.
    explained = any(
        p.kind in (REMOVED, DUPLICATED, TRUNCATED) or p.line == trailer.number
        for p in result.problems
    )
    if count != len(records) and not explained:
        result.problems.append(
            Problem(
                trailer.number,
                TRUNCATED,
                f"the trailer counts {count} records; the stream has {len(records)}",
            )
        )
    if trailer.entry.get("head") != trailer.entry.get("prev_hash"):
        result.problems.append(
            Problem(trailer.number, EDITED, "the trailer's head is not its prev_hash")
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
