"""What a JSON value from outside must be before anything starts: finite, valid text, shallow.

Refused at every edge (CLI, API, workflow input validation): a lone surrogate cannot be
encoded as UTF-8, NaN and infinities have no JSON spelling, and very deep nesting
exhausts recursion in every JSON encoder downstream (policy input, audit export). Pure:
safe inside workflow code.
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DEPTH = 64
# C0 controls other than tab, newline and carriage return, DEL, and C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def text_problem(text: str, *, controls: bool = True) -> str | None:
    """Why `text` is not usable text (None when it is)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (it holds a lone surrogate or undecodable bytes)"
    if controls and CONTROL.search(text):
        return "holds a control character"
    return None


def problems(value: Any, where: str, max_depth: int = MAX_DEPTH) -> list[str]:
    """Every reason `value` is unusable, each naming its place (`where.key[2]`); first 10."""
    found: list[str] = []
    # Iterative, so a 5,000-deep value is measured without exhausting the stack.
    pending: list[tuple[Any, str, int]] = [(value, where, 0)]
    while pending and len(found) < 10:
        item, place, depth = pending.pop()
        if depth > max_depth:
            found.append(f"{place}: nested deeper than {max_depth} levels")
            continue
        if isinstance(item, str):
            problem = text_problem(item, controls=False)
            if problem:
                found.append(f"{place}: {problem}")
        elif isinstance(item, float) and not math.isfinite(item):
            found.append(f"{place}: {item!r} is not a finite number")
        elif isinstance(item, dict):
            for key, child in reversed(list(item.items())):
                name = str(key)
                if isinstance(key, str) and text_problem(key, controls=False):
                    found.append(f"{place}: a key is not valid Unicode text")
                    name = ascii(key)
                pending.append((child, f"{place}.{name}", depth + 1))
        elif isinstance(item, list | tuple):
            for index in reversed(range(len(item))):
                pending.append((item[index], f"{place}[{index}]", depth + 1))
    return found
