"""Errors the CLI reports as one line and an exit code, never as a traceback."""


class CliError(Exception):
    exit_code = 1


class UsageError(CliError):
    exit_code = 2
