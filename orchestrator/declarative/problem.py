"""A problem of a definition, with its path, and the path text problems are written in.

Paths read like `execution.blocks[2].blocks[0].activityName`; `join_path` adds a key
(quoted when it is not a plain name), `suggest` offers the closest known word.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    path: str  # "" for the document as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(definition)'}: {self.message}"


def join_path(path: str, key: str) -> str:
    """The path of `key` inside the object at `path`."""
    if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def suggest(word: str, options: list[str]) -> str:
    """` (did you mean X?)` for the closest option, or nothing."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""
