"""The demo catalog: the old demo's activity names, so its definitions run unchanged.

Every activity is deterministic and fast, and does exactly what its docstring says, no
more: nothing here reaches an external system. Data moves between steps as JSON; record
sets travel as `{"records": [{"id", "source", "value"}, ...]}`. The old demo's names take
loosely typed arguments (`*args: Any`, strings mostly) and the previous step's result as
their first parameter; three newer activities (FetchRecords, FilterRecords, SumField)
show strictly typed signatures, which validation checks argument by argument.

`CheckPolicy`, `RequestHumanApproval` and `RequestApproval` are not here: the interpreter
runs them itself (a real policy decision and real governed approvals, see catalog.BUILTINS).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.declarative import catalog
from orchestrator.governed.agent import plan

# Where the notification activities write: this demo sends no e-mail or chat message.
notifications = logging.getLogger("orchestrator.notifications")
# Where LogMetrics writes.
metrics_log = logging.getLogger("orchestrator.metrics")

MAX_RECORDS = 1000
RESOURCE_NAME = re.compile(r"^[\w.:/@-]{1,200}$")


def _records(data: Any) -> list[dict[str, Any]]:
    """The records in a flowing value: a list of objects, or an object's `records` list."""
    if isinstance(data, dict):
        data = data.get("records")
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return []


def _strings(args: tuple[Any, ...]) -> list[str]:
    return [arg for arg in args if isinstance(arg, str)]


def _first_int(args: tuple[Any, ...], default: int) -> int:
    for arg in args:
        if isinstance(arg, int) and not isinstance(arg, bool):
            return arg
        if isinstance(arg, str) and arg.strip().isdigit():
            return int(arg)
    return default


def _synthesise(source: str, count: int) -> list[dict[str, Any]]:
    if not 0 <= count <= MAX_RECORDS:
        raise ApplicationError(
            f"count {count}: between 0 and {MAX_RECORDS} records", non_retryable=True
        )
    return [
        {
            "id": index + 1,
            "source": source,
            "value": int(hashlib.sha256(f"{source}:{index}".encode()).hexdigest()[:8], 16) % 1000,
        }
        for index in range(count)
    ]


def _fingerprint(value: Any) -> str:
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _workflow_id() -> str:
    return activity.info().workflow_id or ""


# --- the old demo's names ----------------------------------------------------------------


@catalog.activity("InitializeWorkflow")
async def initialize_workflow(data: Any = None, *settings: Any) -> dict[str, Any]:
    """Records the start of the run: the workflow and run ids and the settings it was given."""
    info = activity.info()
    return {
        "workflow_id": info.workflow_id,
        "run_id": info.workflow_run_id,
        "settings": list(settings),
        "input": data,
    }


@catalog.activity("ValidateInput")
async def validate_input(data: Any = None, *required_fields: Any) -> dict[str, Any]:
    """Checks the flowing value is present and, for records, that each has the named fields.

    Reports (never fails): {valid, problems, records}; the records are passed on so a
    pipeline continues with them.
    """
    records = _records(data)
    problems = []
    if data is None:
        problems.append("no input: nothing flowed into this step")
    fields = [str(field) for field in required_fields]
    for record in records:
        missing = [field for field in fields if field not in record]
        if missing:
            problems.append(f"record {record.get('id', '?')}: missing {', '.join(missing)}")
    return {"valid": not problems, "problems": problems[:50], "records": records}


@catalog.activity("CheckPermissions")
async def check_permissions(data: Any = None, *permissions: Any) -> dict[str, Any]:
    """Lists the permissions the step asks for; grants nothing itself.

    Whether the requester may run this step was decided by OPA (step.execute) before it
    started, like every step's.
    """
    return {
        "requested": [str(permission) for permission in permissions],
        "decided_by": "policy gate (step.execute) before this step ran",
    }


@catalog.activity("VerifyResources")
async def verify_resources(data: Any = None, *resources: Any) -> dict[str, Any]:
    """Checks that each named resource is a well-formed name; contacts no system."""
    names = [str(resource) for resource in resources]
    invalid = [name for name in names if not RESOURCE_NAME.match(name)]
    return {"resources": names, "invalid": invalid, "all_valid": not invalid}


@catalog.activity("ExtractData")
async def extract_data(data: Any = None, *args: Any) -> dict[str, Any]:
    """Synthesises deterministic demo records for a source; reads no external system.

    The source is the first string argument (default "demo"); the count the first integer
    argument (default 5, at most 1000). The same source gives the same records.
    """
    strings = _strings(args)
    source = strings[0] if strings else "demo"
    records = _synthesise(source, _first_int(args, 5))
    return {"source": source, "count": len(records), "records": records}


TRANSFORMS = ("normalize", "double", "uppercase", "sort", "dedupe", "round")


@catalog.activity("TransformData")
async def transform_data(data: Any = None, *operations: Any) -> dict[str, Any]:
    """Applies operations, in order, to the records flowing in, and returns the new records.

    normalize: value / max value; double: value x 2; uppercase: string fields upper-cased;
    sort: by value, highest first; dedupe: one record per id; round: values to 3 places.
    Other names are listed under `ignored` (old definitions name transformations this demo
    does not implement).
    """
    records = [dict(record) for record in _records(data)]
    applied, ignored = [], []
    for raw in operations:
        name = str(raw).strip().lower().replace("normalise", "normalize")
        name = name.removesuffix("_data")
        if name not in TRANSFORMS:
            ignored.append(str(raw))
            continue
        applied.append(name)
        numeric = [r["value"] for r in records if isinstance(r.get("value"), int | float)]
        if name == "normalize" and numeric:
            top = max(abs(v) for v in numeric) or 1
            for record in records:
                if isinstance(record.get("value"), int | float):
                    record["value"] = record["value"] / top
        elif name == "double":
            for record in records:
                if isinstance(record.get("value"), int | float):
                    record["value"] = record["value"] * 2
        elif name == "uppercase":
            for record in records:
                for key, value in record.items():
                    if isinstance(value, str):
                        record[key] = value.upper()
        elif name == "sort":
            records.sort(
                key=lambda r: r["value"] if isinstance(r.get("value"), int | float) else 0,
                reverse=True,
            )
        elif name == "dedupe":
            seen: set[Any] = set()
            unique = []
            for record in records:
                key = json.dumps(record.get("id"))
                if key not in seen:
                    seen.add(key)
                    unique.append(record)
            records = unique
        elif name == "round":
            for record in records:
                if isinstance(record.get("value"), float):
                    record["value"] = round(record["value"], 3)
    return {"records": records, "count": len(records), "applied": applied, "ignored": ignored}


@catalog.activity("LoadData")
async def load_data(data: Any = None, *args: Any) -> dict[str, Any]:
    """Fingerprints the records as they would be loaded into the target; writes nothing.

    The target is the first string argument (default "warehouse"). The result says what
    would be loaded: the count and the SHA-256 of the records' canonical JSON. This demo
    catalog has no warehouse; `written` is false.
    """
    strings = _strings(args)
    records = _records(data)
    return {
        "target": strings[0] if strings else "warehouse",
        "count": len(records),
        "checksum": _fingerprint(records),
        "written": False,
    }


def _notification(kind: str, data: Any, args: tuple[Any, ...], default: str) -> dict[str, Any]:
    strings = _strings(args)
    recipients = [s for s in strings if "@" in s and " " not in s]
    message = " ".join(s for s in strings if s not in recipients) or default
    record = {
        "kind": kind,
        "to": recipients,
        "message": message,
        "workflow_id": _workflow_id(),
        "delivered_to": "log:orchestrator.notifications",
    }
    notifications.info(
        "%s notification for %s: %s", kind, recipients or ["(nobody named)"], message
    )
    return record


@catalog.activity("SendStartNotification")
async def send_start_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a start notification to the `orchestrator.notifications` log; sends nothing.

    String arguments containing @ are the recipients, the others the message.
    """
    return _notification("start", data, args, "The workflow started.")


@catalog.activity("SendNotification")
async def send_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a notification to the `orchestrator.notifications` log; sends nothing.

    String arguments containing @ are the recipients, the others the message.
    """
    return _notification("notification", data, args, "Notification from the workflow.")


@catalog.activity("SendProgressUpdate")
async def send_progress_update(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a progress update to the `orchestrator.notifications` log; sends nothing."""
    return _notification("progress", data, args, "The workflow is making progress.")


@catalog.activity("SendCompletionNotification")
async def send_completion_notification(data: Any = None, *args: Any) -> dict[str, Any]:
    """Writes a completion notification to the `orchestrator.notifications` log; sends nothing."""
    return _notification("completion", data, args, "The workflow completed.")


@catalog.activity("MonitorProgress")
async def monitor_progress(data: Any = None, *args: Any) -> dict[str, Any]:
    """Reports what the flowing value holds: how many records, which fields."""
    records = _records(data)
    fields = sorted({key for record in records for key in record})
    return {"has_input": data is not None, "records": len(records), "fields": fields}


@catalog.activity("LogMetrics")
async def log_metrics(data: Any = None, *labels: Any) -> dict[str, Any]:
    """Computes count, sum, min, max and mean of the records' numeric `value`, and logs them.

    Writes one line to the `orchestrator.metrics` log; returns the same figures.
    """
    values = [
        r["value"]
        for r in _records(data)
        if isinstance(r.get("value"), int | float) and not isinstance(r.get("value"), bool)
    ]
    figures: dict[str, Any] = {
        "labels": [str(label) for label in labels],
        "count": len(values),
        "sum": sum(values),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "mean": sum(values) / len(values) if values else None,
    }
    metrics_log.info("metrics of %s: %s", _workflow_id(), json.dumps(figures, sort_keys=True))
    return figures


QUALITY_CHECKS = ("ids_present", "ids_unique", "values_numeric", "not_empty")


@catalog.activity("RunQualityChecks")
async def run_quality_checks(data: Any = None, *checks: Any) -> dict[str, Any]:
    """Checks the records flowing in: not_empty, ids_present, ids_unique, values_numeric.

    With no arguments, all four; unknown check names are reported as skipped. Passes the
    records on with the verdict: {passed, checks, records}.
    """
    records = _records(data)
    wanted = [str(check) for check in checks] or list(QUALITY_CHECKS)
    ids = [record.get("id") for record in records]
    verdicts = {
        "not_empty": (bool(records), f"{len(records)} record(s)"),
        "ids_present": (all(i is not None for i in ids), "every record has an id"),
        "ids_unique": (len({json.dumps(i) for i in ids}) == len(ids), "no id repeats"),
        "values_numeric": (
            all(isinstance(r.get("value"), int | float) for r in records),
            "every value is a number",
        ),
    }
    results = []
    for name in wanted:
        if name in verdicts:
            passed, detail = verdicts[name]
            results.append({"name": name, "passed": passed, "detail": detail})
        else:
            results.append({"name": name, "passed": None, "detail": "unknown check: skipped"})
    passed = all(result["passed"] is not False for result in results)
    return {"passed": passed, "checks": results, "records": records}


@catalog.activity("GenerateQualityReport")
async def generate_quality_report(data: Any = None, *args: Any) -> dict[str, Any]:
    """Turns RunQualityChecks' verdict (flowing in) into report lines."""
    checks = data.get("checks", []) if isinstance(data, dict) else []
    lines = [
        f"{check.get('name')}: "
        f"{'pass' if check.get('passed') else 'skipped' if check.get('passed') is None else 'FAIL'}"
        f" ({check.get('detail')})"
        for check in checks
        if isinstance(check, dict)
    ]
    passed = bool(isinstance(data, dict) and data.get("passed"))
    return {"title": "Quality report", "passed": passed, "lines": lines or ["no checks ran"]}


def _summary_lines(data: Any) -> list[str]:
    if isinstance(data, list):
        return [f"branch {index + 1}: {_describe(item)}" for index, item in enumerate(data)]
    return [_describe(data)]


def _describe(value: Any) -> str:
    records = _records(value)
    if records:
        return f"{len(records)} record(s)"
    if isinstance(value, dict):
        return "fields " + ", ".join(sorted(value)[:10]) if value else "empty object"
    if value is None:
        return "nothing"
    return json.dumps(value)[:80]


@catalog.activity("GenerateReport")
async def generate_report(data: Any = None, *args: Any) -> dict[str, Any]:
    """Builds a report (title: the first string argument) summarising the flowing value."""
    strings = _strings(args)
    return {
        "title": strings[0] if strings else "Report",
        "workflow_id": _workflow_id(),
        "lines": _summary_lines(data),
    }


@catalog.activity("GenerateFinalReport")
async def generate_final_report(data: Any = None, *args: Any) -> dict[str, Any]:
    """Builds the final report summarising the flowing value (each branch of a parallel)."""
    strings = _strings(args)
    return {
        "title": strings[0] if strings else "Final report",
        "workflow_id": _workflow_id(),
        "lines": _summary_lines(data),
    }


@catalog.activity("ExecuteAgentTask")
async def execute_agent_task(data: Any = None, *args: Any) -> dict[str, Any]:
    """Plans the task (the first string argument) into its steps; delivers nothing.

    The governed workflow's agent delivers work orders; this step only plans, the same way.
    """
    strings = _strings(args)
    task = strings[0] if strings else "(no task given)"
    return {"task": task, "steps": plan(task), "delivered": False}


def _cleanup(args: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "requested": [str(arg) for arg in args],
        "released": [],
        "note": "demo activities hold no resources: nothing to release",
    }


@catalog.activity("CleanupTask")
async def cleanup_task(data: Any = None, *args: Any) -> dict[str, Any]:
    """Releases nothing (demo activities keep no state) and says so."""
    return _cleanup(args)


@catalog.activity("CleanupResources")
async def cleanup_resources(data: Any = None, *args: Any) -> dict[str, Any]:
    """Releases nothing (demo activities keep no state) and says so."""
    return _cleanup(args)


# --- typed activities ----------------------------------------------------------------------


@catalog.activity("FetchRecords", flow=False)
async def fetch_records(source: str, count: int = 5) -> list[dict[str, Any]]:
    """Synthesises `count` deterministic records for `source` (as ExtractData, typed)."""
    return _synthesise(source, count)


@catalog.activity("FilterRecords")
async def filter_records(records: list[dict[str, Any]], minimum: float) -> list[dict[str, Any]]:
    """Keeps the records (flowing in) whose numeric value is at least `minimum`."""
    return [
        record
        for record in records
        if isinstance(record.get("value"), int | float) and record["value"] >= minimum
    ]


@catalog.activity("SumField")
async def sum_field(records: list[dict[str, Any]], field: str = "value") -> float:
    """The sum of a numeric field over the records flowing in (missing or non-numeric: 0)."""
    return float(
        sum(
            record[field]
            for record in records
            if isinstance(record.get(field), int | float) and not isinstance(record[field], bool)
        )
    )
