"""What text from outside must be before anything starts, and how deep a value may nest.

Refused at every edge (CLI, API body checks in api/body.py, workflow input validation): a
lone surrogate cannot be encoded as UTF-8, and very deep nesting exhausts recursion in
every JSON encoder downstream (policy input, audit export). Pure: safe inside workflow code.
"""

from __future__ import annotations

import re

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
