"""OPA's last refused reload, read from its log: what `make status` shows beside OPA.

With `--watch`, OPA reloads policies/ on every save. When an edited file does not parse
or compile it keeps serving the policy it had, answers /health (and /health?bundles,
which knows only bundles downloaded from a bundle service) with 200, and says why only
in its log, at level info, on the line that ends each reload (OPA 1.x, `--log-format
json`, as the local stack runs it, orchestrator/devstack/services.py):

    {"msg": "Processed file watch event.", "err": "bundle /p: 1 error occurred:
     /p/orchestrator/start/start.rego:60: rego_parse_error: unexpected eof token\\n\\t...",
     "level": "info", "time": "2026-12-02T04:06:41Z", ...}

A reload that succeeds logs the same message with `"err": null`; a restarted OPA logs
"Initializing server." and loads everything afresh (it refuses to start on a bad file,
which `make up` reports). So the last of those lines says whether OPA serves what the
files say. The log also holds every decision (decision_logs.console), so it is read from
its end, a block at a time, and only as far back as that last line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

RELOADED = "Processed file watch event."
STARTED = "Initializing server."
BLOCK = 1 << 20
# "bundle /p: 1 error occurred: " or "2 errors occurred:\n" before the errors themselves.
_PREAMBLE = re.compile(r"^(?:bundle [^:]+: )?(?:\d+ errors? occurred:\s*)?")


def last_load_error(opa_log: Path) -> str | None:
    """OPA's last load error, e.g. "2026-12-02T04:06:41Z .../start.rego:60: rego_parse_error:
    unexpected eof token" (several errors joined by "; "), or None when its last reload
    succeeded, it has (re)started since, it never reloaded, or the log does not exist."""
    for line in _lines_backwards(opa_log):
        event = _event(line)
        if event is None:
            continue
        if event.get("msg") == STARTED:
            return None
        if event.get("msg") == RELOADED:
            error = event.get("err")
            if not error:
                return None
            when = str(event.get("time") or "")
            return f"{when} {describe(str(error))}".strip()
    return None


def describe(error: str) -> str:
    """OPA's error text as one line: each error's `file:line: code: message`, without the
    "N errors occurred" preamble and the indented source excerpt OPA adds after a parse error."""
    text = _PREAMBLE.sub("", error.strip())
    # "bundle load failed on /p/x/data.yaml: yaml: line 11: ..." names the file already.
    text = text.removeprefix("bundle load failed on ")
    errors = [line.strip() for line in text.splitlines() if line.strip() and line[0] != "\t"]
    return "; ".join(errors)


def _event(line: bytes) -> dict[str, Any] | None:
    if not line.startswith(b"{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) else None


def _lines_backwards(path: Path) -> Iterator[bytes]:
    """The file's lines, last first, reading BLOCK bytes at a time from the end."""
    try:
        log = path.open("rb")
    except OSError:
        return
    with log:
        position = log.seek(0, 2)
        tail = b""
        while position > 0:
            size = min(BLOCK, position)
            position -= size
            log.seek(position)
            chunk = log.read(size) + tail
            lines = chunk.split(b"\n")
            tail = lines.pop(0)  # may continue in the block before
            yield from (line.strip() for line in reversed(lines) if line.strip())
        if tail.strip():
            yield tail.strip()
