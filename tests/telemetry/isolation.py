"""Helpers that give a test its own OpenTelemetry globals and OTEL_* environment."""

from __future__ import annotations

import os

import pytest
from opentelemetry import trace
from opentelemetry.util._once import Once

from telemetry import tracing


def isolate_tracing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo-able reset of the global tracer provider, setup_tracing's handle and OTEL_* vars.

    The OpenTelemetry API lets a process set its provider once; tests of setup_tracing need
    a fresh "once" each, and monkeypatch puts the real globals back afterwards.
    """
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setattr(tracing, "_active", None)
    for name in list(os.environ):
        if name.startswith("OTEL_"):
            monkeypatch.delenv(name)
