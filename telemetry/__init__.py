"""Tracing, metrics and log correlation shared by every process of the orchestrator."""
