"""Declarative tests: the test-only activities registered before any worker is built."""

from __future__ import annotations

import tests.declarative.activities  # noqa: F401  (registers Echo, Sleep, Flaky, ...)
