"""Tracing, metrics and log correlation shared by every process of the orchestrator.

- `tracing`: `setup_tracing()` once per process (OTLP to Jaeger, standard OTEL_* variables).
- `temporal`: the Temporal client/worker tracing interceptor (Temporal's, plus the fixes of
  `workflow_spans`: a run's own root when started without trace context, from
  `workflow_roots`; an update's refusal on the update's span).
- `httpx_tracing`: trace the OPA client's calls (traceparent out, no user data on spans).
- `policy_attributes`: the `orchestrator.policy.*` span attributes of a decision.
- `logs`: JSON log lines carrying trace_id / span_id.
- `metrics`: Prometheus through Temporal's runtime; the policy gate's counters and histogram.
- `jaeger`: read a trace back from Jaeger's v3 query API, waiting until it is settled.
- `workflow_traces`: which traces hold a workflow's spans (its `TraceId`, else Jaeger's search).
- `trace_model`: a trace as a tree of spans, the one model the terminal and the console draw;
  `span_kinds` says what a span is about (a decision's step, an OPA query's role, a shadow
  disagreement, Temporal's zero-length markers).
- `waterfall`: render such a tree for a terminal, or the spans as JSON.
"""
