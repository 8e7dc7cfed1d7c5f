"""Trace outgoing httpx calls (the policy client's calls to OPA) without leaking user data.

The instrumentation injects W3C `traceparent`, so OPA's own span joins the caller's trace.
It records method, status, host/port and the URL; the URL is rewritten below to drop the
query string, because a query can carry values a caller put there. Bodies are never
recorded by the instrumentation, and headers only when the operator opts in through
OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_* (not set anywhere in this project).

A call to OPA's data API also says which policy it asks and why: `orchestrator.opa.path`
(the data path, e.g. `orchestrator/main/decision`) and `orchestrator.opa.role`
(`enforcing`, `shadow` or `batch`), so the trace tells the decision that counts from the
candidate asked beside it, although both are the same POST.
"""

from __future__ import annotations

import httpx
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor, RequestInfo
from opentelemetry.trace import Span, TracerProvider

OPA_PATH = "orchestrator.opa.path"
OPA_ROLE = "orchestrator.opa.role"
DATA_API = "/v1/data/"
# The defaults of OPA_DECISION_PATH and OPA_SHADOW_DECISION_PATH (orchestrator/config.py)
# and the batch rule's path (orchestrator/policy/client.py): telemetry imports no
# orchestrator code, so a deployment with other paths passes them to instrument_client.
DEFAULT_ENFORCING_PATH = "orchestrator/main/decision"
DEFAULT_SHADOW_PATH = "shadow/main/decision"
DEFAULT_BATCH_PATH = "orchestrator/batch/verdicts"
# The enforcing decision with the candidate's beside it, in one request.
PAIRED_PATH = "orchestrator/paired/decision"

# Both spellings: the instrumentation writes the old or the new HTTP semantic conventions,
# or both, depending on OTEL_SEMCONV_STABILITY_OPT_IN.
URL_ATTRIBUTES = ("http.url", "url.full")


def instrument_client(
    client: httpx.AsyncClient,
    *,
    tracer_provider: TracerProvider | None = None,
    enforcing_path: str = DEFAULT_ENFORCING_PATH,
    shadow_path: str | None = DEFAULT_SHADOW_PATH,
    batch_path: str = DEFAULT_BATCH_PATH,
) -> None:
    """Trace every request of this one client (the global `instrument()` misses custom
    transports). `tracer_provider` defaults to the global one; tests pass their own.

    The paths name the role of a query to OPA's data API (`orchestrator.opa.role`):
    the settings' decision path, shadow decision path (None: no shadow) and batch path.
    """
    roles = {enforcing_path.strip("/"): "enforcing", batch_path.strip("/"): "batch"}
    if shadow_path:
        roles[shadow_path.strip("/")] = "shadow"
        roles[PAIRED_PATH] = "enforcing+shadow"

    async def request_hook(span: Span, request: RequestInfo) -> None:
        await _strip_query(span, request)
        _label_opa_query(span, request, roles)

    HTTPXClientInstrumentor.instrument_client(
        client, tracer_provider=tracer_provider, request_hook=request_hook
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


def _label_opa_query(span: Span, request: RequestInfo, roles: dict[str, str]) -> None:
    if not span.is_recording():
        return
    path = httpx.URL(str(request.url)).path
    if not path.startswith(DATA_API):
        return
    data_path = path.removeprefix(DATA_API).strip("/")
    span.set_attribute(OPA_PATH, data_path)
    role = roles.get(data_path)
    if role:
        span.set_attribute(OPA_ROLE, role)
