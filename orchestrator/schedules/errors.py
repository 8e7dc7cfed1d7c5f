"""The one error a schedule's options raise; the CLI reports it as a usage error (exit 2)."""


class ScheduleInputError(ValueError):
    """A schedule option has a value we cannot use; the message names the option."""
