"""Values decoded from history, made into what canonical JSON can carry, never raising.

NaN and infinities, text with a lone surrogate, nesting deeper than MAX_DEPTH and objects
JSON has no type for are exported as text in their place; each such place is named, so
an entry says where it is not a faithful copy (the `unencodable` list of
orchestrator/audit/chain.py). `audit ID --json` prints records through the same walk.
"""

from __future__ import annotations

import math
from typing import Any

# Far deeper than any request validation accepts, far shallower than Python's recursion
# limit, so walking (and encoding) what is kept can never exhaust the stack.
MAX_DEPTH = 128
# Places named per entry; a value with thousands of NaNs names the first ones and a count.
MAX_UNENCODABLE_NAMED = 10


def encodable(body: dict[str, Any]) -> dict[str, Any]:
    """`body` as canonical JSON can carry it; what it could not is listed in `unencodable`."""
    places: list[str] = []
    value = plain(body, "", places)
    clean: dict[str, Any] = value if isinstance(value, dict) else {"value": value}
    if places:
        named = places[:MAX_UNENCODABLE_NAMED]
        if len(places) > len(named):
            named.append(f"and {len(places) - len(named)} more")
        clean["unencodable"] = named
    return clean


def plain(value: Any, path: str, places: list[str], depth: int = 0) -> Any:
    """`value` with only what JSON can carry; each substitution is appended to `places`.

    Never raises on a value decoded from history: NaN and infinities become the text
    JSON readers know them by ("NaN", "Infinity"), text that is not valid Unicode keeps
    its lone surrogates as \\uXXXX escapes, nesting deeper than MAX_DEPTH and objects of
    other types become a description of what was there.
    """
    # A path 128 levels deep is no help to read: its start and end say where it is.
    where = (path if len(path) <= 100 else f"{path[:48]}...{path[-48:]}") or "(entry)"
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        text = "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
        places.append(f"{where}: {text} is not a JSON number; exported as the text {text!r}")
        return text
    if isinstance(value, str):
        return _text(value, where, places)
    if depth >= MAX_DEPTH:
        places.append(f"{where}: nested deeper than {MAX_DEPTH} levels; not exported")
        return f"<nested deeper than {MAX_DEPTH} levels>"
    if isinstance(value, dict):
        result: dict[str, Any] = {}
        for key, item in value.items():
            name = _text(key if isinstance(key, str) else str(key), f"{where} (a key)", places)
            result[name] = plain(item, f"{path}.{name}" if path else name, places, depth + 1)
        return result
    if isinstance(value, list | tuple):
        return [plain(item, f"{path}[{i}]", places, depth + 1) for i, item in enumerate(value)]
    places.append(f"{where}: a {type(value).__name__}, not JSON; exported as its text")
    try:
        return _text(str(value), where, places)
    except Exception:  # a str() that fails is still no reason to lose the stream
        return f"<{type(value).__name__}>"


def _text(text: str, where: str, places: list[str]) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        places.append(f"{where}: not valid Unicode text; exported with \\u escapes")
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
