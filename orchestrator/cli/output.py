"""How every command prints: `-o text|json|jsonl` (and `--json`, the same as `-o json`).

One place decides the format, so each command hands over its data and its text and never
formats JSON itself; refusals take the same route (`error_document`), so a script reading
stdout under `--json` gets a JSON object for a failure too, with the same exit code.

`jsonl` is one compact JSON value per line: a list is one line per element (a row of
`list`, a schedule), anything else one line, ready for `jq -c` or a log shipper.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

TEXT, JSON, JSONL = "text", "json", "jsonl"
FORMATS = (TEXT, JSON, JSONL)


def add_options(parser: argparse.ArgumentParser, *, output_option: bool = True) -> None:
    """`-o/--output FORMAT` and `--json` on `parser`, both setting `output_format`.

    `output_option=False` adds `--json` alone: for `audit`, whose `--output FILE` (where an
    export is written) came first and must keep meaning that.
    """
    if output_option:
        parser.add_argument(
            "-o",
            "--output",
            dest="output_format",
            choices=FORMATS,
            metavar="FORMAT",
            help="text (default), json, or jsonl (one JSON value a line)",
        )
    parser.add_argument(
        "--json",
        dest="output_format",
        action="store_const",
        const=JSON,
        help="print JSON (the same as -o json)",
    )


def chosen(args: argparse.Namespace) -> str:
    """The format asked for; text unless said otherwise.

    `--json` of a command that declares it the old way (a boolean `json`) counts too.
    """
    declared = getattr(args, "output_format", None)
    if declared in FORMATS:
        return str(declared)
    return JSON if getattr(args, "json", False) is True else TEXT


def machine(args: argparse.Namespace) -> bool:
    """True under json or jsonl: stdout is for programs, not people."""
    return chosen(args) != TEXT


def encoded(data: Any, format_: str) -> str:
    """`data` as json (indented) or jsonl (a list one element a line, else one line)."""
    if format_ == JSONL:
        items = data if isinstance(data, list) else [data]
        return "\n".join(json.dumps(item, default=str) for item in items)
    return json.dumps(data, indent=2, default=str)


def emit(args: argparse.Namespace, data: Any, text: str | Callable[[], str]) -> None:
    """Print `data` in the chosen machine format, or `text` (a string or what makes it)."""
    format_ = chosen(args)
    if format_ == TEXT:
        print(text() if callable(text) else text)
        return
    rendered = encoded(data, format_)
    if rendered:  # an empty list under jsonl is no lines at all
        print(rendered)


def error_document(code: str, message: str, exit_code: int) -> dict[str, Any]:
    """What a refusal looks like on stdout under --json: `{"error": {...}}`."""
    return {"error": {"code": code, "message": message, "exit_code": exit_code}}


def emit_error(format_: str, code: str, message: str, exit_code: int) -> None:
    """The refusal on stdout as well, under json or jsonl (stderr keeps its one line)."""
    if format_ != TEXT:
        print(encoded(error_document(code, message, exit_code), format_), file=sys.stdout)


def requested_in(argv: Sequence[str]) -> str:
    """The format an argument list asks for, read before (or without) parsing it.

    For the one case parsing itself fails (a usage error found by argparse): the parsed
    namespace does not exist then, yet a script that said --json still wants JSON.
    """
    format_ = TEXT
    for index, argument in enumerate(argv):
        if argument == "--":
            break
        if argument == "--json":
            format_ = JSON
        value = None
        if argument in ("-o", "--output") and index + 1 < len(argv):
            value = argv[index + 1]
        elif argument.startswith("--output="):
            value = argument.partition("=")[2]
        elif argument.startswith("-o") and len(argument) > 2:
            value = argument[2:]
        if value in (JSON, JSONL):
            format_ = value
    return format_
