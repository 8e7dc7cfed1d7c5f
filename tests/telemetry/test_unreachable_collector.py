"""A collector that is down or does not answer: exit is not held, and the log stays quiet.

The collectors here are real sockets: one that closes every connection at once (what a
stopped Jaeger looks like to gRPC: UNAVAILABLE), one that accepts and never answers (a
hung or firewalled one: the deadline is all that ends the call), and a real Jaeger that
starts while spans are being dropped. Each counts the connections it got, which is the
number of attempts the exporter made.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orchestrator.devstack import LocalStack, Ports, StackLayout, process
from telemetry import tracing
from telemetry.tracing import OTLP_LOGGERS, guarded_otlp_exporter, setup_tracing
from tests.telemetry.isolation import isolate_tracing

BIN = Path(sys.executable).parent


class Collector:
    """A listening socket that counts connections and either drops or holds each one."""

    def __init__(self, *, hold: bool) -> None:
        self.hold = hold
        self.connections = 0
        self._held: list[socket.socket] = []
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return  # closed
            self.connections += 1
            if self.hold:
                self._held.append(connection)  # accepted, never read, never answered
            else:
                connection.close()

    def close(self) -> None:
        self._server.close()
        for connection in self._held:
            connection.close()


@pytest.fixture(params=["closes", "never-answers"])
def collector(request: pytest.FixtureRequest) -> Iterator[Collector]:
    running = Collector(hold=request.param == "never-answers")
    yield running
    running.close()


@pytest.fixture
def fresh_tracing(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    isolate_tracing(monkeypatch)
    yield
    if tracing._active is not None:
        tracing._active.shutdown()


def exporter_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name in OTLP_LOGGERS]


def test_exit_with_a_broken_collector_is_one_short_silent_attempt(
    fresh_tracing: None,
    collector: Collector,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint)
    handle = setup_tracing("orchestrator-cli")
    with trace.get_tracer("test").start_as_current_span("command"):
        pass

    started = time.monotonic()
    handle.shutdown()
    waited = time.monotonic() - started

    assert collector.connections == 1  # one attempt: no retry
    assert waited < 2.0  # the exporter's retries took 1-3 s here, a silent collector 3 s
    assert exporter_records(caplog) == []
    assert [r for r in caplog.records if r.levelno >= logging.INFO] == []


def finished_spans(count: int) -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    for number in range(count):
        with provider.get_tracer("test").start_as_current_span(f"span {number}"):
            pass
    return list(memory.get_finished_spans())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_long_running_process_logs_an_outage_once_and_its_end_once(
    stack: LocalStack,
    tmp_path: Path,
    fresh_tracing: None,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Batch after batch fails while Jaeger is down (as on a worker's exporter thread);
    then a Jaeger starts on that address and the next batch goes through."""
    caplog.set_level(logging.DEBUG)
    ports = Ports.free()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{ports.jaeger_otlp_grpc}")
    # Keeps each failing batch short; the retries themselves are the exporter's.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "0.5")
    guard = guarded_otlp_exporter()
    jaeger = LocalStack(ports, StackLayout(root=tmp_path), stack.binaries).service("jaeger")
    try:
        for _ in range(4):
            assert guard.export(finished_spans(2)) is SpanExportResult.FAILURE
        process.start_all([jaeger], StackLayout(root=tmp_path))
        assert guard.export(finished_spans(1)) is SpanExportResult.SUCCESS
        assert guard.export(finished_spans(1)) is SpanExportResult.SUCCESS
    finally:
        guard.shutdown()
        process.stop("jaeger", StackLayout(root=tmp_path))

    assert exporter_records(caplog) == []
    ours = [(r.levelname, r.getMessage()) for r in caplog.records if r.name == "telemetry.tracing"]
    endpoint = f"http://127.0.0.1:{ports.jaeger_otlp_grpc}"
    assert len(ours) == 2, ours
    (warning, warned), (info, recovered) = ours
    assert warning == "WARNING"
    assert warned.startswith(f"cannot export spans to {endpoint} (")
    assert "UNAVAILABLE" in warned  # the exporter's own detail, in the one line
    assert info == "INFO"
    assert recovered == f"span export to {endpoint} works again; 8 span(s) were dropped meanwhile"


def cli_env(temporal_port: int, **otel: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    return {**env, "TEMPORAL_ADDRESS": f"127.0.0.1:{temporal_port}", **otel}


def run_cli(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    result = subprocess.run(
        [str(BIN / "orchestrator"), "status", "some-workflow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return result, time.monotonic() - started


def test_a_cli_error_with_the_stack_down_is_one_line_and_no_wait(collector: Collector) -> None:
    nothing = free_port()  # no Temporal there, as with the stack down
    # The same command without tracing: what the process costs anyway on this machine.
    _, baseline = run_cli(cli_env(nothing, OTEL_SDK_DISABLED="true"))

    result, took = run_cli(cli_env(nothing, OTEL_EXPORTER_OTLP_ENDPOINT=collector.endpoint))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"orchestrator: cannot reach Temporal at 127.0.0.1:{nothing}")
    assert collector.connections == 1
    # With the exporter's retries this was 1-3 s more (3 s with a silent collector).
    assert took - baseline < 2.0, (took, baseline)
