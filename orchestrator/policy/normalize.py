"""One normalisation of the policy input, so spelling cannot change what policy decides.

Rego compares bytes: a zero-width space inside "deploy", a Cyrillic "o" (U+043E) in "forbidden",
full-width letters, a combining accent, "Environment" for "environment" or "20000" for
20000 each made a rule miss. The client (client.py) applies `normalize_input` to every
input document right before OPA sees it, so the rules match one canonical spelling:

- text: Unicode NFKC (full-width and compatibility forms become plain ones), case-folded,
  combining marks (accents) and invisible characters removed (format characters such as
  zero-width spaces, joiners, the BOM, bidi controls and the soft hyphen; other control
  characters; a few letter-less fillers), common Cyrillic and Greek look-alikes mapped to
  the Latin letters they imitate, whitespace trimmed and collapsed to single spaces;
- object keys: the same, so keys compare case-insensitively. Keys that become equal keep
  every value, as a list in their original order, rather than letting one hide another;
- numbers: a string that is a finite decimal number ("20000", "1.5e3") becomes that
  number; "nan", "inf" and "1e309" stay strings (policy treats such amounts as unreadable).

Normalised: `task.description`, `task.kind`, `task.parameters` and `step.args` (any depth,
keys and values). Left alone: ids, the workflow reference, the requester, the approval,
and `step.activity`/`step.path` (names matched against catalog lists as written).

Pure and total: any JSON value (and anything else) goes in, nothing raises, and
normalising twice gives what normalising once gave. It walks nested values with an
explicit stack, so a very deep structure cannot exhaust the interpreter's recursion
limit here; encoding it (client.py) is what refuses it.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any

# Look-alike letters from other scripts, as the Latin letter they imitate (a small table
# of the ones common in spoofing, applied before and after case-folding so capitals and
# small letters are both covered).
CONFUSABLES = str.maketrans(
    {
        "\u0410": "A",  # cyrillic capital letter a
        "\u0412": "B",  # cyrillic capital letter ve
        "\u0415": "E",  # cyrillic capital letter ie
        "\u041a": "K",  # cyrillic capital letter ka
        "\u041c": "M",  # cyrillic capital letter em
        "\u041d": "H",  # cyrillic capital letter en
        "\u041e": "O",  # cyrillic capital letter o
        "\u0420": "P",  # cyrillic capital letter er
        "\u0421": "C",  # cyrillic capital letter es
        "\u0422": "T",  # cyrillic capital letter te
        "\u0423": "Y",  # cyrillic capital letter u
        "\u0425": "X",  # cyrillic capital letter ha
        "\u0405": "S",  # cyrillic capital letter dze
        "\u0406": "I",  # cyrillic capital letter byelorussian-ukrainian i
        "\u0408": "J",  # cyrillic capital letter je
        "\u0500": "D",  # cyrillic capital letter komi de
        "\u0430": "a",  # cyrillic small letter a
        "\u0435": "e",  # cyrillic small letter ie
        "\u043e": "o",  # cyrillic small letter o
        "\u0440": "p",  # cyrillic small letter er
        "\u0441": "c",  # cyrillic small letter es
        "\u0443": "y",  # cyrillic small letter u
        "\u0445": "x",  # cyrillic small letter ha
        "\u0455": "s",  # cyrillic small letter dze
        "\u0456": "i",  # cyrillic small letter byelorussian-ukrainian i
        "\u0458": "j",  # cyrillic small letter je
        "\u04bb": "h",  # cyrillic small letter shha
        "\u0501": "d",  # cyrillic small letter komi de
        "\u051b": "q",  # cyrillic small letter qa
        "\u051d": "w",  # cyrillic small letter we
        "\u04cf": "l",  # cyrillic small letter palochka
        "\u0261": "g",  # latin small letter script g
        "\u0391": "A",  # greek capital letter alpha
        "\u0392": "B",  # greek capital letter beta
        "\u0395": "E",  # greek capital letter epsilon
        "\u0396": "Z",  # greek capital letter zeta
        "\u0397": "H",  # greek capital letter eta
        "\u0399": "I",  # greek capital letter iota
        "\u039a": "K",  # greek capital letter kappa
        "\u039c": "M",  # greek capital letter mu
        "\u039d": "N",  # greek capital letter nu
        "\u039f": "O",  # greek capital letter omicron
        "\u03a1": "P",  # greek capital letter rho
        "\u03a4": "T",  # greek capital letter tau
        "\u03a5": "Y",  # greek capital letter upsilon
        "\u03a7": "X",  # greek capital letter chi
        "\u03b1": "a",  # greek small letter alpha
        "\u03bf": "o",  # greek small letter omicron
        "\u03b9": "i",  # greek small letter iota
        "\u03ba": "k",  # greek small letter kappa
        "\u03bd": "v",  # greek small letter nu
        "\u03c1": "p",  # greek small letter rho
        "\u03c5": "u",  # greek small letter upsilon
        "\u03c7": "x",  # greek small letter chi
    }
)

# Characters that render as nothing but are letters or symbols by category, so neither the
# format-character rule nor whitespace handling removes them: Hangul fillers, braille blank.
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")

# Removed characters' categories: format (Cf: zero-width space/joiner, BOM, bidi controls,
# soft hyphen, tags), combining marks (Mn, Me: accents, variation selectors) and controls
# (Cc; the whitespace ones among them become spaces first).
REMOVED_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc"})

# A decimal number, as JSON or a person writes one; anything else stays a string.
NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
INTEGER = re.compile(r"[+-]?\d+")
# Longer digit strings than this are left as strings: int() refuses very long ones and no
# amount has this many digits.
MAX_NUMBER_LENGTH = 400


def normalize_text(text: str) -> str:
    """The canonical spelling policy matches: see the module docstring."""
    text = unicodedata.normalize("NFKC", text).translate(CONFUSABLES).casefold()
    # Decompose so accents become separate combining marks, which are then dropped.
    decomposed = unicodedata.normalize("NFKD", text)
    kept = []
    for char in decomposed:
        if char.isspace():
            kept.append(" ")
        elif char in INVISIBLE or unicodedata.category(char) in REMOVED_CATEGORIES:
            continue
        else:
            kept.append(char)
    # Recompose what decomposition split without marks (Hangul syllables), map look-alikes
    # that case-folding produced, and collapse whitespace.
    text = unicodedata.normalize("NFC", "".join(kept)).translate(CONFUSABLES)
    return " ".join(text.split())


def normalize_value(value: Any) -> Any:
    """A nested value with every string and key normalised and numeric strings as numbers."""
    return _rebuild(value, _leaf)


def normalize_input(document: Any) -> Any:
    """The input document as OPA should see it (a copy; `document` is not changed)."""
    if not isinstance(document, dict):
        return document
    normalized = dict(document)
    task = document.get("task")
    if isinstance(task, dict):
        task = dict(task)
        for name in ("description", "kind"):
            if isinstance(task.get(name), str):
                task[name] = normalize_text(task[name])
        if "parameters" in task:
            task["parameters"] = normalize_value(task["parameters"])
        normalized["task"] = task
    step = document.get("step")
    if isinstance(step, dict) and "args" in step:
        normalized["step"] = {**step, "args": normalize_value(step["args"])}
    return normalized


def _leaf(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = normalize_text(value)
    return _number(text) if NUMBER.fullmatch(text) else text


def _number(text: str) -> int | float | str:
    """A finite number for a numeric string, else the string itself."""
    if len(text) > MAX_NUMBER_LENGTH:
        return text
    try:
        as_float = float(text)
        if not math.isfinite(as_float):
            return text
        return int(text) if INTEGER.fullmatch(text) else as_float
    except (ValueError, OverflowError):
        return text


def _key(key: Any) -> Any:
    return normalize_text(key) if isinstance(key, str) else key


def _children(node: dict[Any, Any] | list[Any] | tuple[Any, ...]) -> Iterator[tuple[Any, Any]]:
    return iter(node.items()) if isinstance(node, dict) else enumerate(node)


def _assemble(node: object, built: list[tuple[Any, Any]]) -> Any:
    if not isinstance(node, dict):
        return [value for _, value in built]
    # Keys that normalise alike keep all their values: policy sees each of them.
    grouped: dict[Any, list[Any]] = {}
    for key, value in built:
        grouped.setdefault(_key(key), []).append(value)
    return {key: values[0] if len(values) == 1 else values for key, values in grouped.items()}


def _rebuild(root: Any, leaf: Callable[[Any], Any]) -> Any:
    """`root` rebuilt bottom-up with `leaf` applied to scalars, without recursion.

    A container already open on the current path (a cycle, which JSON cannot express) is
    kept as it is; encoding it then fails with a clear error in the client.
    """
    containers = (dict, list, tuple)
    if not isinstance(root, containers):
        return leaf(root)
    # Each frame: the container, its remaining children, and what was rebuilt so far.
    stack: list[tuple[Any, Iterator[tuple[Any, Any]], list[tuple[Any, Any]]]] = [
        (root, _children(root), [])
    ]
    keys: list[Any] = []
    open_ids = {id(root)}
    while True:
        node, children, built = stack[-1]
        descended = False
        for key, child in children:
            if isinstance(child, containers) and id(child) not in open_ids:
                stack.append((child, _children(child), []))
                keys.append(key)
                open_ids.add(id(child))
                descended = True
                break
            built.append((key, child if isinstance(child, containers) else leaf(child)))
        if descended:
            continue
        stack.pop()
        open_ids.discard(id(node))
        done = _assemble(node, built)
        if not stack:
            return done
        stack[-1][2].append((keys.pop(), done))
