"""Who approves, proven: HMAC-signed approval credentials, made by the CLI or the API.

An approval names no approver in its payload, and a start is only as good as its
credential. The CLI signs with the key of its configured identity (ORCH_IDENTITY), the
API with its own `api` key on behalf of the caller its bearer token authenticated; the
worker verifies the signature in the policy activity and hands OPA only the proven
subject.

- An *approval* credential is bound to one run of one workflow (its run id: a new run
  under the same id, or a reset, never accepts one issued before it) and one digest of
  what is approved, and carries a nonce so it is used once.
- A *start* credential says who asks for the work of one digest in one workflow id, and
  must have been issued within START_WINDOW of the workflow's start; a schedule's is
  issued for `schedule:<id>` and stands for every run of that schedule.

The keys file (ORCH_IDENTITY_KEYS_FILE, JSON):

    {"keys": {"bob": {"secret": "<random>"},
              "api": {"secret": "<random>", "asserts_any_subject": true}}}

A key may sign only for its own name unless it asserts any subject (the API's key). The
worker needs every key; an operator's machine needs only its own. `make up` writes a dev
file with a key per directory person under .data/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from orchestrator.policy.canonical import canonical_json
from orchestrator.policy.contract import Credential

DEFAULT_KEYS_FILE = Path(".data/identities.json")
API_ISSUER = "api"
# Long enough for a slow policy check; short enough that a leaked credential goes stale.
MAX_AGE = timedelta(minutes=15)
CLOCK_SKEW = timedelta(minutes=1)
# A start is signed right before the workflow starts: a credential lifted from history
# cannot start the same work again under the same id once this has passed.
START_WINDOW = timedelta(minutes=2)
APPROVAL = "approval"
START = "start"
SCHEDULE_PREFIX = "schedule:"


class IdentityError(Exception):
    """The keys file is missing or wrong, or this identity has no key; says which."""


class CredentialRejected(Exception):
    """Why a credential proves nothing; the reason goes into OPA's input and the audit."""


@dataclass(frozen=True)
class IdentityKey:
    name: str
    secret: bytes
    asserts_any_subject: bool = False


class Keyring:
    def __init__(self, keys: Iterable[IdentityKey], source: str = "(in memory)") -> None:
        self.keys = {key.name: key for key in keys}
        self.source = source

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise IdentityError(
                f"{path}: no identity keys file (set ORCH_IDENTITY_KEYS_FILE; `make up` "
                f"writes a development one at {DEFAULT_KEYS_FILE})."
            ) from None
        except (OSError, json.JSONDecodeError) as error:
            raise IdentityError(f"{path}: cannot read identity keys: {error}") from None
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, dict) or not entries:
            raise IdentityError(f'{path}: expected {{"keys": {{"name": {{"secret": "..."}}}}}}.')
        keys = []
        for name, entry in entries.items():
            secret = entry.get("secret") if isinstance(entry, dict) else None
            if not isinstance(secret, str) or len(secret) < 16:
                raise IdentityError(f"{path}: keys.{name}.secret must be at least 16 characters.")
            keys.append(
                IdentityKey(name, secret.encode(), entry.get("asserts_any_subject") is True)
            )
        return cls(keys, str(path))

    def key(self, name: str) -> IdentityKey:
        found = self.keys.get(name)
        if found is None:
            raise IdentityError(f"No key for {name!r} in {self.source}.")
        return found


def write_development_keys(path: Path, people: Iterable[str]) -> bool:
    """Create a keys file with a fresh random key per person and the API; False if present."""
    if path.exists():
        return False
    keys: dict[str, dict[str, str | bool]] = {
        name: {"secret": secrets.token_urlsafe(32)} for name in people
    }
    keys[API_ISSUER] = {"secret": secrets.token_urlsafe(32), "asserts_any_subject": True}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"keys": keys}, indent=2) + "\n")
    path.chmod(0o600)
    return True


def sign(
    key: IdentityKey,
    subject: str,
    workflow_id: str,
    digest: str,
    now: datetime | None = None,
    *,
    run_id: str = "",
    purpose: str = APPROVAL,
) -> Credential:
    """A credential saying `subject` decides on (or asks for) `digest` of `workflow_id`."""
    if subject != key.name and not key.asserts_any_subject:
        raise IdentityError(f"The key {key.name!r} may sign only as {key.name!r}, not {subject!r}.")
    unsigned = Credential(
        subject=subject,
        issuer=key.name,
        workflow_id=workflow_id,
        digest=digest,
        nonce=secrets.token_hex(16),
        issued_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        signature="",
        run_id=run_id,
        purpose=purpose,
    )
    return Credential(**{**unsigned.__dict__, "signature": _signature(key, unsigned)})


def sign_start(
    key: IdentityKey,
    requester: str,
    workflow_id: str,
    digest: str,
    now: datetime | None = None,
    *,
    schedule_id: str | None = None,
) -> Credential:
    """A start credential: `requester` asks for the work of `digest` in `workflow_id`
    (every run of `schedule_id` instead, when given)."""
    target = f"{SCHEDULE_PREFIX}{schedule_id}" if schedule_id else workflow_id
    return sign(key, requester, target, digest, now, purpose=START)


def _signed_by(keyring: Keyring, credential: Credential) -> IdentityKey:
    key = keyring.keys.get(credential.issuer)
    if key is None:
        raise CredentialRejected(f"unknown signing key {credential.issuer!r}")
    if not hmac.compare_digest(_signature(key, credential), credential.signature):
        raise CredentialRejected("the signature does not match")
    if credential.subject != key.name and not key.asserts_any_subject:
        raise CredentialRejected(f"the key {key.name!r} may not sign for {credential.subject!r}")
    return key


def verify(
    keyring: Keyring,
    credential: Credential,
    workflow_id: str,
    digest: str,
    now: datetime | None = None,
    *,
    run_id: str,
) -> str:
    """The approver the credential proves for this run, or CredentialRejected saying why not."""
    _signed_by(keyring, credential)
    if credential.purpose != APPROVAL:
        raise CredentialRejected(
            f"a {credential.purpose or 'legacy'} credential, not an approval: sign it again"
        )
    if credential.workflow_id != workflow_id:
        raise CredentialRejected(f"signed for workflow {credential.workflow_id!r}")
    if credential.run_id != run_id:
        raise CredentialRejected(
            f"signed for run {credential.run_id or '(none)'!r} of this workflow, not this run "
            f"{run_id!r}: a new run or a reset needs a new approval"
        )
    if credential.digest != digest:
        raise CredentialRejected(
            f"signed for {credential.digest[:19]}…, but what awaits approval is {digest[:19]}…: "
            "the request changed since it was shown"
        )
    try:
        issued = datetime.fromisoformat(credential.issued_at)
    except ValueError:
        raise CredentialRejected("issued_at is not a timestamp") from None
    moment = now or datetime.now(UTC)
    if issued > moment + CLOCK_SKEW or moment - issued > MAX_AGE:
        raise CredentialRejected(f"issued at {credential.issued_at}, outside {MAX_AGE} of now")
    return credential.subject


def verify_start(
    keyring: Keyring,
    credential: Credential,
    requester: str,
    workflow_id: str,
    digest: str,
    started_at: datetime,
) -> str:
    """The key that proves `requester` asked for this start, or CredentialRejected."""
    key = _signed_by(keyring, credential)
    if credential.purpose != START:
        raise CredentialRejected(f"a {credential.purpose or 'legacy'} credential, not a start")
    if credential.subject != requester:
        raise CredentialRejected(f"signed for requester {credential.subject!r}, not {requester!r}")
    if credential.digest != digest:
        raise CredentialRejected("signed for other work: the request changed since it was signed")
    schedule_id = credential.workflow_id.removeprefix(SCHEDULE_PREFIX)
    if credential.workflow_id.startswith(SCHEDULE_PREFIX):
        # Temporal names each run of a schedule `<schedule id>-<scheduled time>`.
        if not workflow_id.startswith(f"{schedule_id}-"):
            raise CredentialRejected(f"signed for the runs of schedule {schedule_id!r}")
        return key.name
    if credential.workflow_id != workflow_id:
        raise CredentialRejected(f"signed for workflow {credential.workflow_id!r}")
    try:
        issued = datetime.fromisoformat(credential.issued_at)
    except ValueError:
        raise CredentialRejected("issued_at is not a timestamp") from None
    if abs(started_at - issued) > START_WINDOW + CLOCK_SKEW:
        raise CredentialRejected(
            f"issued at {credential.issued_at}, not within {START_WINDOW} of the workflow's "
            f"start ({started_at.isoformat(timespec='seconds')})"
        )
    return key.name


def _signature(key: IdentityKey, credential: Credential) -> str:
    fields = {**credential.__dict__}
    fields.pop("signature")
    return hmac.new(key.secret, canonical_json(fields), hashlib.sha256).hexdigest()
