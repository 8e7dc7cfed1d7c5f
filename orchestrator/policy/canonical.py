"""Canonical JSON: the one byte form of a value that is signed, digested or hashed.

Sorted keys, no insignificant whitespace, UTF-8 (RFC 8785 for the values this project
sends: strings, integers, booleans, null, lists and objects; floats are written by
Python's shortest round-trip repr). Credentials are signed over it
(orchestrator/policy/identity.py), approvals bound to its digest
(orchestrator/approvals/digest.py) and audit entries chained by its hash. Pure: safe
inside workflow code.
"""

from __future__ import annotations

import json
from typing import Any


def canonical_json(value: Any) -> bytes:
    """`value` as canonical JSON; ValueError for NaN and the infinities, which it cannot carry."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")
