"""Temporal's OpenTelemetry interceptor, configured once for clients and workers."""

from __future__ import annotations

from temporalio.contrib.opentelemetry import TracingInterceptor


def tracing_interceptor() -> TracingInterceptor:
    """The interceptor for `Client.connect(interceptors=...)`; workers inherit it from the client.

    `always_create_workflow_spans=True`: by default the SDK only creates workflow spans
    when the start came from an instrumented client, so workflows started by a schedule or
    the `temporal` CLI would have no spans at all. With it they get spans that start a new
    trace (the SDK warns they may be orphans after replay, which is the lesser loss). The
    tracer is resolved through the global provider when spans are made, so creating the
    interceptor before `setup_tracing` is fine.
    """
    return TracingInterceptor(always_create_workflow_spans=True)
