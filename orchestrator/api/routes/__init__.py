"""The `/v1` routes, one module per kind of work: starting workflows (`starts`), deciding
approvals (`decisions`), and reading status (`status`)."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.api.routes import decisions, starts, status

# In this order: it is the order of the paths in the published OpenAPI document.
V1: tuple[APIRouter, ...] = (starts.router, decisions.router, status.router)
