"""One spelling of a duration for every option and setting: `90s`, `30m`, `24h`, `7d`.

A bare number is seconds. Used by the CLI, schedules and the API's event mappings, each of
which wraps the ValueError into its own error naming the option.
"""

from __future__ import annotations

import math
import re

DURATION = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)?$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXAMPLES = "90s, 30m, 24h or 7d"


def seconds(text: str) -> float:
    """The duration's length in seconds; ValueError when it is not a duration."""
    match = DURATION.match(text.strip())
    if not match:
        raise ValueError(f"expected a duration like {EXAMPLES}")
    value = float(match.group(1)) * UNIT_SECONDS[match.group(2) or "s"]
    # A very long digit string parses as a float of infinity; no duration means that.
    if not math.isfinite(value):
        raise ValueError("too long a duration")
    return value


def compact(total: float) -> str:
    """The shortest exact spelling of a number of seconds: 3600 -> 1h, 90 -> 90s."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if total >= size and total % size == 0:
            return f"{int(total // size)}{unit}"
    return f"{total:g}s"
