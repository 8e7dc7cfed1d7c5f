"""Structured logs: one JSON object per line, joined to traces by trace_id and span_id.

Each line has `ts` (ISO 8601, UTC), `level`, `logger`, `message`, `service`, `trace_id` and
`span_id` (hex, only when a span is current), then every `extra=` field of the call (Temporal's
workflow and activity loggers add `temporal_workflow` / `temporal_activity` dicts this way)
and `exception` / `stack` text when there is one. Values JSON cannot hold are written with
str(), so a log call never fails because of what it carries. The Temporal SDK core's own
records arrive on the `temporalio.core` logger with `core_target` and `core_fields`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

# Attributes every LogRecord has; anything else on a record came from `extra=`.
_RECORD_FIELDS = frozenset(logging.LogRecord("", logging.INFO, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON line with the current span's ids."""

    def __init__(self, service_name: str) -> None:
        super().__init__()
        self.service_name = service_name

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "service": self.service_name,
        }
        # Formatting runs in the logging call's thread and context (no queue handler in
        # between), so the current span is the one the code was in when it logged.
        context = trace.get_current_span().get_span_context()
        if context.is_valid:
            entry["trace_id"] = format(context.trace_id, "032x")
            entry["span_id"] = format(context.span_id, "016x")
        for key, value in record.__dict__.items():
            # Our own fields win over an `extra=` that reuses their names.
            if key not in _RECORD_FIELDS and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


# The logger the Temporal SDK core's (Rust) records are forwarded to, see
# telemetry.metrics.create_runtime: without forwarding the core writes coloured text to
# stderr, lines in the middle of a JSON log that no log pipeline can parse.
CORE_LOGGER = "temporalio.core"


class CoreLogFields(logging.Filter):
    """Makes a forwarded core record plain: its `temporal_log` (an SDK object that would be
    written as its repr) becomes `core_target` (the Rust module) and `core_fields`."""

    def filter(self, record: logging.LogRecord) -> bool:
        entry = record.__dict__.pop("temporal_log", None)
        if entry is not None:
            record.core_target = entry.target
            # The SDK converts the fields on every access and documents that it can fail.
            with contextlib.suppress(Exception):
                record.core_fields = dict(entry.fields)
        return True


def core_logger() -> logging.Logger:
    """The logger for the core's records, with CoreLogFields on it once."""
    logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(f, CoreLogFields) for f in logger.filters):
        logger.addFilter(CoreLogFields())
    return logger


class _JsonHandler(logging.StreamHandler[TextIO]):
    """Marks the handler setup_logging owns, so a second call replaces it, not adds one."""


def setup_logging(
    service_name: str, level: str | int = "INFO", stream: TextIO | None = None
) -> None:
    """Send the root logger's records to `stream` (stderr by default) as JSON lines.

    Idempotent: calling again replaces the handler this function installed (new service,
    level or stream) and leaves handlers installed by others alone.
    """
    resolved = _level(level)
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _JsonHandler)]:
        root.removeHandler(handler)
    # sys.stderr is looked up at call time, not import time: pytest swaps it per test.
    handler = _JsonHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter(service_name))
    root.addHandler(handler)
    root.setLevel(resolved)


def _level(level: str | int) -> int:
    if isinstance(level, int):
        return level
    resolved = logging.getLevelNamesMapping().get(level.strip().upper())
    if resolved is None:
        raise ValueError(
            f"log level {level!r} is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL."
        )
    return resolved
