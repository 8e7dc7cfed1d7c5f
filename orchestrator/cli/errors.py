"""Errors the CLI reports as one line and an exit code, never as a traceback.

`code` is the word a script can branch on: it is the `code` of the JSON error object a
command prints on stdout under --json (orchestrator/cli/output.py).
"""

from __future__ import annotations


class CliError(Exception):
    exit_code = 1
    default_code = "failed"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.default_code


class UsageError(CliError):
    exit_code = 2
    default_code = "usage"
