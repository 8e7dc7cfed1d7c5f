"""Signing what is started: the requester of every run is an identity a key proves.

The CLI signs with the key of its configured identity (ORCH_IDENTITY, else the requester
itself), the API with its own `api` key on behalf of the caller its bearer token
authenticated (or of the service account an event mapping names), schedules with the
creator's key for every run of the schedule. The worker verifies the credential before
each policy decision; OPA refuses work whose requester nothing proves, and decides who
may start work on whose behalf.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from orchestrator.declarative.model import DeclarativeRequest
from orchestrator.governed.model import GovernedRequest
from orchestrator.policy.identity import IdentityError, IdentityKey, Keyring, sign_start

Startable = TypeVar("Startable", GovernedRequest, DeclarativeRequest)


def signed(
    request: Startable,
    key: IdentityKey,
    workflow_id: str,
    *,
    schedule_id: str | None = None,
    now: datetime | None = None,
) -> Startable:
    """The request with a start credential for `workflow_id` (or every run of a schedule).

    `now` is the signing time (default: the clock's); the time-skipping test server runs
    ahead of it. Raises IdentityError when the key may not sign for the request's requester.
    """
    credential = sign_start(
        key, request.requester, workflow_id, request.start_digest(), now, schedule_id=schedule_id
    )
    return replace(request, credential=credential)


def signing_key(keys_file: Path, identity: str | None, requester: str) -> IdentityKey:
    """The key the CLI signs a start with: its configured identity's, else the requester's.

    Raises IdentityError naming what is missing, or that this identity may not start work
    as someone else.
    """
    signer = identity or requester
    key = Keyring.load(keys_file).key(signer)
    if key.name != requester and not key.asserts_any_subject:
        raise IdentityError(
            f"You are {signer} (ORCH_IDENTITY) and may start work only as yourself, not as "
            f"{requester}: drop --requester or set it to {signer}."
        )
    return key
