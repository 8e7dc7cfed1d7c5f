"""Trace outgoing httpx calls (the policy client's calls to OPA) without leaking user data.

The instrumentation injects W3C `traceparent`, so OPA's own span joins the caller's trace.
It records method, status, host/port and the URL; the URL is rewritten below to drop the
query string, because a query can carry values a caller put there. Bodies are never
recorded by the instrumentation, and headers only when the operator opts in through
OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* (not set anywhere in this project).
"""

from __future__ import annotations

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.trace import Span, TracerProvider

# Both spellings: the instrumentation writes the old or the new HTTP semantic conventions,
# or both, depending on OTEL_SEMCONV_STABILITY_OPT_IN.
URL_ATTRIBUTES = ("http.url", "url.full")


def instrument_client(
    client: httpx.AsyncClient, *, tracer_provider: TracerProvider | None = None
) -> None:
    """Trace every request of this one client (the global `instrument()` misses custom
    transports). `tracer_provider` defaults to the global one; tests pass their own."""
    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=tracer_provider, request_hook=_strip_query
    )


def uninstrument_client(client: httpx.AsyncClient) -> None:
    HTTPXClientInstrumentor.uninstrument_client(client)


def url_without_query(url: str) -> str:
    """The URL without query, fragment and credentials: scheme, host, port and path."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(query=None, fragment=None, username=None, password=None))


async def _strip_query(span: Span, request: RequestInfo) -> None:
    # Runs after the span started with the full URL; overwriting replaces the value
    # before anything is exported (span attributes are only read at span end).
    if not span.is_recording():
        return
    recorded = getattr(span, "attributes", None) or {}
    clean = url_without_query(str(request.url))
    for key in URL_ATTRIBUTES:
        if key in recorded:
            span.set_attribute(key, clean)
