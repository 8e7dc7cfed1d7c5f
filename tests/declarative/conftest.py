"""Declarative tests: the test-only activities installed before any worker is built."""

from __future__ import annotations

from orchestrator.declarative.catalogs import install
from tests.declarative import activities

install(activities.CATALOG)  # Echo, Sleep, Flaky, ...
