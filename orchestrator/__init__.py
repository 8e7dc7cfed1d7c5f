"""Policy-governed orchestration: Temporal workflows gated by Rego policies in OPA."""

__version__ = "0.1.0"
