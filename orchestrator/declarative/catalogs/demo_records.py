"""The demo catalog's record activities: synthesise, check, transform, sum, load.

Record sets travel as `{"records": [{"id", "source", "value"}, ...]}` (or a plain list of
records). Every activity is deterministic and fast, and reaches no external system.
ExtractData, TransformData, LoadData and the other old demo names take loosely typed
arguments and the previous step's result first; FetchRecords, FilterRecords and SumField
show strictly typed signatures, which validation checks argument by argument.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from orchestrator.declarative.catalog import ActivityCatalog

# Where LogMetrics writes.
metrics_log = logging.getLogger("orchestrator.metrics")

MAX_RECORDS = 1000

CATALOG = ActivityCatalog()


def records_of(data: Any) -> list[dict[str, Any]]:
    """The records in a flowing value: a list of objects, or an object's `records` list."""
    if isinstance(data, dict):
        data = data.get("records")
    if isinstance(data, list):
        return [item for item in data if isinstance(item, dict)]
    return []


def strings_of(args: tuple[Any, ...]) -> list[str]:
    """The string arguments, in order."""
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


def current_workflow_id() -> str:
    """The workflow the running activity serves."""
    return activity.info().workflow_id or ""


@CATALOG.activity("ValidateInput")
async def validate_input(data: Any = None, *required_fields: Any) -> dict[str, Any]:
    """Checks the flowing value is present and, for records, that each has the named fields.

    Reports (never fails): {valid, problems, records}; the records are passed on so a
    pipeline continues with them.
    """
    records = records_of(data)
    problems = []
    if data is None:
        problems.append("no input: nothing flowed into this step")
    fields = [str(field) for field in required_fields]
    for record in records:
        missing = [field for field in fields if field not in record]
        if missing:
            problems.append(f"record {record.get('id', '?')}: missing {', '.join(missing)}")
    return {"valid": not problems, "problems": problems[:50], "records": records}


@CATALOG.activity("ExtractData")
async def extract_data(data: Any = None, *args: Any) -> dict[str, Any]:
    """Synthesises deterministic demo records for a source; reads no external system.

    The source is the first string argument (default "demo"); the count the first integer
    argument (default 5, at most 1000). The same source gives the same records.
    """
    strings = strings_of(args)
    source = strings[0] if strings else "demo"
    records = _synthesise(source, _first_int(args, 5))
    return {"source": source, "count": len(records), "records": records}


TRANSFORMS = ("normalize", "double", "uppercase", "sort", "dedupe", "round")


@CATALOG.activity("TransformData")
async def transform_data(data: Any = None, *operations: Any) -> dict[str, Any]:
    """Applies operations, in order, to the records flowing in, and returns the new records.

    normalize: value / max value; double: value x 2; uppercase: string fields upper-cased;
    sort: by value, highest first; dedupe: one record per id; round: values to 3 places.
    Other names are listed under `ignored` (old definitions name transformations this demo
    does not implement).
    """
    records = [dict(record) for record in records_of(data)]
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


@CATALOG.activity("LoadData")
async def load_data(data: Any = None, *args: Any) -> dict[str, Any]:
    """Fingerprints the records as they would be loaded into the target; writes nothing.

    The target is the first string argument (default "warehouse"). The result says what
    would be loaded: the count and the SHA-256 of the records' canonical JSON. This demo
    catalog has no warehouse; `written` is false.
    """
    strings = strings_of(args)
    records = records_of(data)
    return {
        "target": strings[0] if strings else "warehouse",
        "count": len(records),
        "checksum": _fingerprint(records),
        "written": False,
    }


@CATALOG.activity("MonitorProgress")
async def monitor_progress(data: Any = None, *args: Any) -> dict[str, Any]:
    """Reports what the flowing value holds: how many records, which fields."""
    records = records_of(data)
    fields = sorted({key for record in records for key in record})
    return {"has_input": data is not None, "records": len(records), "fields": fields}


@CATALOG.activity("LogMetrics")
async def log_metrics(data: Any = None, *labels: Any) -> dict[str, Any]:
    """Computes count, sum, min, max and mean of the records' numeric `value`, and logs them.

    Writes one line to the `orchestrator.metrics` log; returns the same figures.
    """
    values = [
        r["value"]
        for r in records_of(data)
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
    metrics_log.info(
        "metrics of %s: %s", current_workflow_id(), json.dumps(figures, sort_keys=True)
    )
    return figures


QUALITY_CHECKS = ("ids_present", "ids_unique", "values_numeric", "not_empty")


@CATALOG.activity("RunQualityChecks")
async def run_quality_checks(data: Any = None, *checks: Any) -> dict[str, Any]:
    """Checks the records flowing in: not_empty, ids_present, ids_unique, values_numeric.

    With no arguments, all four; unknown check names are reported as skipped. Passes the
    records on with the verdict: {passed, checks, records}.
    """
    records = records_of(data)
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


@CATALOG.activity("GenerateQualityReport")
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


# --- typed activities ----------------------------------------------------------------------


@CATALOG.activity("FetchRecords", flow=False)
async def fetch_records(source: str, count: int = 5) -> list[dict[str, Any]]:
    """Synthesises `count` deterministic records for `source` (as ExtractData, typed)."""
    return _synthesise(source, count)


@CATALOG.activity("FilterRecords")
async def filter_records(records: list[dict[str, Any]], minimum: float) -> list[dict[str, Any]]:
    """Keeps the records (flowing in) whose numeric value is at least `minimum`."""
    return [
        record
        for record in records
        if isinstance(record.get("value"), int | float) and record["value"] >= minimum
    ]


@CATALOG.activity("SumField")
async def sum_field(records: list[dict[str, Any]], field: str = "value") -> float:
    """The sum of a numeric field over the records flowing in (missing or non-numeric: 0)."""
    return float(
        sum(
            record[field]
            for record in records
            if isinstance(record.get(field), int | float) and not isinstance(record[field], bool)
        )
    )
