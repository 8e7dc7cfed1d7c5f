"""Turning command-line text into typed values, with messages that name the argument."""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Collection, Sequence
from typing import Any

from orchestrator import durations
from orchestrator.cli.errors import UsageError

CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def duration_seconds(text: str, option: str, *, positive: bool = False) -> float:
    """`90s`, `30m`, `24h`, `7d` (a bare number is seconds); `positive` refuses zero."""
    try:
        seconds = durations.seconds(text)
    except ValueError as error:
        raise UsageError(f"{option} {text!r}: {error}.") from None
    if positive and seconds <= 0:
        raise UsageError(f"{option} {text!r}: must be longer than zero.")
    return seconds


# argparse `type=` functions: an option's domain sits with its definition, and a value
# outside it is a usage error (exit 2) naming the option, like a value that is no number.


def positive_int(text: str) -> int:
    """A count such as --limit: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def tcp_port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a TCP port (1 to 65535)")
    return value


def seconds(text: str) -> float:
    """A wait in seconds: 0 (do not wait) or more, finite."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds, 0 or more")
    return value


def task_details(parser: argparse.ArgumentParser) -> None:
    """--param and --kind, which `start` and `schedule create` take alike."""
    parser.add_argument(
        "--param", action="append", default=[], metavar="K=V", help="task parameter (repeatable)"
    )
    parser.add_argument("--kind", help="task kind, e.g. deploy or report (policy uses it)")


def parameters(pairs: list[str]) -> dict[str, Any]:
    """`--param k=v` pairs; true/false become booleans and numbers become numbers."""
    result: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--param {pair!r}: expected NAME=VALUE, e.g. environment=production.")
        result[name.strip()] = scalar(raw, f"--param {pair!r}")
    return result


def scalar(raw: str, where: str = "the value") -> Any:
    """`raw` as a boolean, integer, finite float or, failing those, the text itself.

    `nan`, `inf` and `1e309` parse as floats but have no JSON spelling: every signature,
    policy input and audit export downstream would have to refuse them, so they are
    refused here, naming where they came from.
    """
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return int(raw)
    except ValueError:
        pass
    try:
        number = float(raw)
    except ValueError:
        return raw
    if not math.isfinite(number):
        raise UsageError(f"{where}: a number must be finite (not NaN or infinity).")
    return number


def undecodable_argument(argv: Sequence[str], value_options: Collection[str] = ()) -> str | None:
    """Why an argument is not UTF-8 text, naming it; None when every one is.

    Python hands bytes it cannot decode to sys.argv as lone surrogates (PEP 383). They
    cannot be encoded again, so every print, signature and payload of them would fail
    somewhere later: they are refused once, before any command runs. `value_options` are
    the options that take a value, so the message can say whose value it is.
    """
    for index, argument in enumerate(argv):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            pass
        else:
            continue
        option, equals, _ = argument.partition("=")
        if argument.startswith("--") and equals:
            where = f"the value of {option}"
        elif index > 0 and argv[index - 1] in value_options:
            where = f"the value of {argv[index - 1]}"
        else:
            where = f"argument {index + 1}"
        return f"{where} ({shown(argument)}) is not valid UTF-8 text; arguments must be UTF-8."
    return None


def shown(text: str) -> str:
    """`text` quoted for a one-line message: bytes that were not UTF-8 as \\xNN, lone
    surrogates as \\uNNNN and control characters escaped, so printing it cannot fail."""
    try:
        # Undecodable argv bytes come back as the bytes they were (PEP 383).
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate from elsewhere, e.g. a JSON "\\ud800" escape
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return "'" + CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text) + "'"
