"""JSON log lines with the current span's ids."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from telemetry.logs import setup_logging


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    buffer = io.StringIO()
    setup_logging("orchestrator-worker", "DEBUG", stream=buffer)
    yield buffer
    root.handlers[:] = handlers
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_one_json_object_per_line_without_span(stream: io.StringIO) -> None:
    log = logging.getLogger("orchestrator.test")
    log.info("first %s", "line")
    log.warning("second\nwith a newline")
    first, second = lines(stream)
    assert first["message"] == "first line"
    assert first["level"] == "INFO"
    assert first["logger"] == "orchestrator.test"
    assert first["service"] == "orchestrator-worker"
    assert first["ts"].endswith("Z") and "T" in first["ts"]
    assert "trace_id" not in first and "span_id" not in first
    assert second["message"] == "second\nwith a newline"


def test_inside_a_span_lines_carry_its_ids(stream: io.StringIO) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        logging.getLogger("orchestrator.test").info("inside")
    (line,) = lines(stream)
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")


def test_extra_fields_and_exceptions_are_kept(stream: io.StringIO) -> None:
    log = logging.getLogger("orchestrator.test")
    workflow = {"workflow_id": "governed-1", "run_id": "r1", "attempt": 1}
    log.info("with temporal context", extra={"temporal_workflow": workflow, "odd": object()})
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra={"level": "not ours to override"})
    info, error = lines(stream)
    assert info["temporal_workflow"] == workflow
    assert info["odd"].startswith("<object object")
    assert error["level"] == "ERROR"
    assert "ValueError: boom" in error["exception"]


def test_setup_is_idempotent(stream: io.StringIO) -> None:
    setup_logging("orchestrator-cli", "warning", stream=stream)
    log = logging.getLogger("orchestrator.test")
    log.info("dropped: below WARNING")
    log.warning("once")
    (line,) = lines(stream)
    assert line["service"] == "orchestrator-cli"


def test_unknown_level_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="'LOUD' is not one of DEBUG"):
        setup_logging("x", "LOUD")
