"""What each run of a schedule starts: a governed task or a definition, validated and signed.

A schedule only starts the workflow; the workflow's first step is the policy gate, so every
scheduled run is decided by OPA exactly like a start from the CLI or the HTTP API. What a
schedule starts is checked here before anything is created (an invalid request or
definition creates nothing).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from orchestrator.governed.model import REQUESTER_PATTERN, GovernedRequest
from orchestrator.governed.workflow import WORKFLOW_NAME
from orchestrator.policy.identity import IdentityKey
from orchestrator.schedules.errors import ScheduleInputError
from orchestrator.vocabulary import REQUESTER, WORKFLOW_DEFINITION

MAX_PROBLEMS_SHOWN = 10


@dataclass(frozen=True)
class ScheduledStart:
    """The workflow every run of a schedule starts, already validated."""

    workflow: str
    argument: Any
    requester: str
    label: str  # names default schedule ids (slugged): never task text
    definition: str | None = None  # a declarative workflow's definition name

    def search_attributes(self) -> TypedSearchAttributes:
        pairs: list[SearchAttributePair[Any]] = [SearchAttributePair(REQUESTER, self.requester)]
        if self.definition:
            pairs.append(SearchAttributePair(WORKFLOW_DEFINITION, self.definition))
        return TypedSearchAttributes(pairs)


def governed_start(request: GovernedRequest) -> ScheduledStart:
    """A governed task to run on schedule; refused (ScheduleInputError) when invalid."""
    problems = request.problems()
    if problems:
        raise ScheduleInputError("invalid request: " + "; ".join(problems))
    # The label names default ids, which Temporal stores in clear: the kind, not the task.
    return ScheduledStart(WORKFLOW_NAME, request, request.requester, request.kind or "task")


def definition_start(path: Path, requester: str) -> ScheduledStart:
    """A declarative definition file to run on schedule, validated before anything is created.

    The document itself goes into the schedule's action, so later edits of the file do not
    change what the schedule runs (update it by deleting and creating the schedule).
    """
    # Imported here: the declarative package (and its activity catalog) loads only when a
    # definition is scheduled.
    from orchestrator.declarative import parse as loader
    from orchestrator.declarative import validate
    from orchestrator.declarative.model import DeclarativeRequest
    from orchestrator.declarative.workflow import WORKFLOW_NAME as DECLARATIVE_WORKFLOW

    if not REQUESTER_PATTERN.match(requester):
        raise ScheduleInputError(
            f"--requester {requester!r}: must be a user id like 'alice' "
            "(lower case letters, digits, . _ @ -)."
        )
    try:
        document = loader.load_file(path)
    except loader.LoadError as error:
        raise ScheduleInputError(f"--definition {error}") from None
    found = validate.problems(document, source=str(path))
    if found:
        raise ScheduleInputError(
            f"--definition {path}: {len(found)} problem(s), nothing was created: "
            + validate.summarize(found, MAX_PROBLEMS_SHOWN)
        )
    name = loader.definition_name(document, str(path))
    return ScheduledStart(
        DECLARATIVE_WORKFLOW,
        DeclarativeRequest(definition=document, requester=requester, source=path.name),
        requester,
        label=name,
        definition=name,
    )


def signed_start(start: ScheduledStart, key: IdentityKey, schedule_id: str) -> ScheduledStart:
    """`start` with the creator's start credential, standing for every run of the schedule.

    Temporal names the runs `<schedule_id>-<scheduled time>`, unknown until each is due,
    so the credential names the schedule and the worker checks each run's id against it.
    IdentityError when the key may not sign for the requester.
    """
    # Imported here: starts.py imports the declarative model, which this module loads
    # only when a schedule is made (see definition_start).
    from orchestrator import starts

    try:
        argument = starts.signed(start.argument, key, schedule_id, schedule_id=schedule_id)
    except ValueError as error:  # canonical JSON refuses NaN and lone surrogates
        raise ScheduleInputError(f"cannot sign what the schedule starts: {error}") from None
    return replace(start, argument=argument)


def shown_request(request: Any) -> Any:
    """What `describe` shows of the stored request: its credential without the signature.

    A schedule's credential stands for every run of it; its signature is for the worker,
    not for every terminal and script that describes the schedule.
    """
    if not isinstance(request, dict) or not isinstance(request.get("credential"), dict):
        return request
    credential = {k: v for k, v in request["credential"].items() if k != "signature"}
    return {**request, "credential": credential}
