"""Turning command-line text into typed values, with messages that name the argument."""

from __future__ import annotations

import re
from typing import Any

from orchestrator.cli.errors import UsageError

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration_seconds(text: str, option: str) -> float:
    match = DURATION.match(text.strip())
    if not match:
        raise UsageError(f"{option} {text!r}: expected a duration like 90s, 30m, 24h or 7d.")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]


def parameters(pairs: list[str]) -> dict[str, Any]:
    """`--param k=v` pairs; true/false become booleans and numbers become numbers."""
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE, e.g. environment=production.")
        result[name.strip()] = scalar(raw)
    return result


def scalar(raw: str) -> Any:
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for kind in (int, float):
        try:
            return kind(raw)
        except ValueError:
            pass
    return raw
