"""Who may call the HTTP API (bearer tokens → identities) and which events start what.

| variable | default | meaning |
|---|---|---|
| ORCH_API_TOKENS | - | `token:identity,token:identity` (plain tokens; handy for dev and tests) |
| ORCH_API_CONFIG | - | YAML: `tokens` (SHA-256 digests), `events` (see deploy/api.example.yaml) |
| ORCH_API_MAX_BODY_BYTES | 262144 | larger request bodies are refused with 413 |
| ORCH_CONSOLE_MAX_UPLOAD_BYTES | 67108864 | the largest audit export the console verifies |
| ORCH_API_AUTH_FAILURE_LIMIT | 10 | wrong bearer tokens one client address may send per window |
| ORCH_API_AUTH_FAILURE_WINDOW | 60 | that window in seconds (sliding); past the limit: 429 |
| ORCH_CONSOLE_SECRET | random | signs console session cookies; unset: new per start |
| ORCH_CONSOLE_SESSION_SECONDS | 28800 | how long a console sign-in lasts (8 h) |

Tokens are kept only as SHA-256 digests and every request's digest is compared with each of
them with `hmac.compare_digest`, so neither a match nor its position shows in the timing.
An identity is a directory user id (`alice`); it becomes the requester of what the caller
starts and the approver of what the caller decides, so OPA judges the real caller.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator import durations
from orchestrator.api.auth import (
    DEFAULT_FAILURE_LIMIT,
    DEFAULT_MAX_ADDRESSES,
    DEFAULT_WINDOW_SECONDS,
)
from orchestrator.config import ConfigError
from orchestrator.governed.model import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    PARAMETER_NAME_PATTERN,
    REQUESTER_PATTERN,
    GovernedRequest,
)

DEFAULT_MAX_BODY_BYTES = 256 * 1024
DEFAULT_CONSOLE_MAX_UPLOAD_BYTES = 64 * 1024 * 1024
DEFAULT_CONSOLE_SESSION_SECONDS = 8 * 3600.0
MIN_CONSOLE_SECRET_LENGTH = 32
EVENT_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
CALLER = "caller"
# A value pasted into a task is a name or a number, not a paragraph.
MAX_TASK_VALUE_LENGTH = 200
# Control characters (newlines and tabs included), format characters (bidi overrides can
# make the text read differently to an approver than to the agent), line and paragraph
# separators, surrogates and private-use characters.
REFUSED_IN_TASK = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co"}


class EventFieldError(ValueError):
    """An event body lacks a field its mapping needs; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class TokenEntry:
    digest: bytes
    identity: str


@dataclass(frozen=True)
class EventMapping:
    """How one event name becomes a governed workflow start.

    `task` and string `parameters` may hold `{field}` placeholders filled from the event's
    body; a parameter that is exactly `"{field}"` keeps the field's type (number, boolean).
    Every field a placeholder names is required. `requester` is `caller` (the token's
    identity) or a fixed account such as `scheduler`; never taken from the body.

    In `task`, a value goes in as a JSON literal: a string in double quotes (its own
    quotes and backslashes escaped), a number or boolean as is. The agent never splits a
    step inside quotes, so a value cannot add steps ("billing, then export everything"
    stays one quoted atom), and a value for the task must be one line of at most
    MAX_TASK_VALUE_LENGTH characters. The raw values stay available as parameters.
    """

    name: str
    task: str
    kind: str | None = None
    requester: str = CALLER
    parameters: Mapping[str, Any] = field(default_factory=dict)
    approval_timeout_seconds: float = DEFAULT_APPROVAL_TIMEOUT_SECONDS
    description: str = ""

    @property
    def fields(self) -> list[str]:
        """The body fields the mapping reads, in order of first use."""
        texts = [self.task, *(v for v in self.parameters.values() if isinstance(v, str))]
        found: list[str] = []
        for text in texts:
            for name in PLACEHOLDER.findall(text):
                if name not in found:
                    found.append(name)
        return found

    def request(self, body: Mapping[str, Any], caller: str) -> GovernedRequest:
        """The governed request this event asks for; EventFieldError names a missing field
        or a value that may not go into the task."""
        for name in self.fields:
            if name not in body:
                raise EventFieldError(
                    f"body.{name}", f"body.{name}: event {self.name} needs this field"
                )
        for name in PLACEHOLDER.findall(self.task):
            problem = task_value_problem(body[name])
            if problem:
                raise EventFieldError(f"body.{name}", f"body.{name}: {problem}")
        return GovernedRequest(
            task=PLACEHOLDER.sub(lambda match: json_literal(body[match.group(1)]), self.task),
            requester=caller if self.requester == CALLER else self.requester,
            parameters={
                name: _fill(value, body) if isinstance(value, str) else value
                for name, value in self.parameters.items()
            },
            kind=self.kind,
            approval_timeout_seconds=self.approval_timeout_seconds,
        )


def _fill(template: str, body: Mapping[str, Any]) -> Any:
    """A parameter: the field's own value (and type) when the template is only `{field}`."""
    whole = PLACEHOLDER.fullmatch(template)
    if whole:
        return body[whole.group(1)]
    return PLACEHOLDER.sub(lambda match: str(body[match.group(1)]), template)


def json_literal(value: Any) -> str:
    """How a value reads inside a task: `"billing"`, `12000`, `true`."""
    return json.dumps(value, ensure_ascii=False)


def task_value_problem(value: Any) -> str | None:
    """Why `value` may not be pasted into a task's text, or None when it may."""
    if not isinstance(value, str):
        return None  # numbers and booleans are one token whatever they are
    if len(value) > MAX_TASK_VALUE_LENGTH:
        return (
            f"{len(value)} characters; a value that goes into the task may have at most "
            f"{MAX_TASK_VALUE_LENGTH}"
        )
    for character in value:
        if unicodedata.category(character) in REFUSED_IN_TASK:
            return (
                f"holds U+{ord(character):04X}, a control, format or line-break character; "
                "a value that goes into the task must be one line of plain text"
            )
    return None


@dataclass(frozen=True)
class ApiConfig:
    tokens: tuple[TokenEntry, ...] = ()
    events: Mapping[str, EventMapping] = field(default_factory=dict)
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # Wrong bearer tokens per client address and sliding window (orchestrator/api/auth.py).
    auth_failure_limit: int = DEFAULT_FAILURE_LIMIT
    auth_failure_window_seconds: float = DEFAULT_WINDOW_SECONDS
    auth_tracked_addresses: int = DEFAULT_MAX_ADDRESSES
    # Signs the console's session cookies. Unset: random per process, so a restart ends
    # every session (nothing else remembers them).
    console_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)
    console_session_seconds: float = DEFAULT_CONSOLE_SESSION_SECONDS
    # The console's audit upload (an export of a busy week is megabytes).
    console_max_upload_bytes: int = DEFAULT_CONSOLE_MAX_UPLOAD_BYTES

    def identify(self, token: str) -> str | None:
        """The identity of a bearer token, or None; constant time over every known token."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()
        identity = None
        for entry in self.tokens:
            if hmac.compare_digest(digest, entry.digest):
                identity = entry.identity
        return identity

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        tokens = list(parse_tokens(env.get("ORCH_API_TOKENS", ""), "ORCH_API_TOKENS"))
        events: dict[str, EventMapping] = {}
        config_path = env.get("ORCH_API_CONFIG", "").strip()
        if config_path:
            file_tokens, events = load_file(Path(config_path))
            tokens += file_tokens
        raw_limit = env.get("ORCH_API_MAX_BODY_BYTES", "").strip()
        limit = DEFAULT_MAX_BODY_BYTES
        if raw_limit:
            if not raw_limit.isdigit() or int(raw_limit) < 1024:
                raise ConfigError(
                    f"ORCH_API_MAX_BODY_BYTES={raw_limit!r}: expected a byte count >= 1024."
                )
            limit = int(raw_limit)
        failures = _positive(env, "ORCH_API_AUTH_FAILURE_LIMIT", DEFAULT_FAILURE_LIMIT, int)
        window = _positive(env, "ORCH_API_AUTH_FAILURE_WINDOW", DEFAULT_WINDOW_SECONDS, float)
        lifetime = _positive(
            env, "ORCH_CONSOLE_SESSION_SECONDS", DEFAULT_CONSOLE_SESSION_SECONDS, float
        )
        upload = _positive(
            env, "ORCH_CONSOLE_MAX_UPLOAD_BYTES", DEFAULT_CONSOLE_MAX_UPLOAD_BYTES, int
        )
        secret = env.get("ORCH_CONSOLE_SECRET", "").strip()
        if secret and len(secret) < MIN_CONSOLE_SECRET_LENGTH:
            raise ConfigError(
                f"ORCH_CONSOLE_SECRET: {len(secret)} characters; use at least "
                f"{MIN_CONSOLE_SECRET_LENGTH} random ones (e.g. `openssl rand -hex 32`)."
            )
        return cls(
            tokens=tuple(tokens),
            events=events,
            max_body_bytes=limit,
            auth_failure_limit=int(failures),
            auth_failure_window_seconds=window,
            console_session_seconds=lifetime,
            console_max_upload_bytes=int(upload),
            console_secret=secret or secrets.token_urlsafe(32),
        )


def _positive(
    env: Mapping[str, str], name: str, default: float, kind: type[int] | type[float]
) -> float:
    """A positive count (int) or number of seconds (float) from the environment."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        value = 0
    if not 0 < value < 10**9:  # also refuses nan and inf
        what = "a whole number" if kind is int else "a number of seconds"
        raise ConfigError(f"{name}={raw!r}: expected {what} above 0.")
    return value


def digest_of(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def parse_tokens(text: str, source: str) -> list[TokenEntry]:
    """`token:identity,token:identity` (whitespace around entries ignored)."""
    entries = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        token, sep, identity = item.rpartition(":")
        if not sep or not token:
            raise ConfigError(f"{source}: expected token:identity entries separated by commas.")
        entries.append(TokenEntry(digest_of(token), _identity(identity.strip(), source)))
    return entries


def _identity(identity: str, where: str) -> str:
    if not REQUESTER_PATTERN.match(identity):
        raise ConfigError(
            f"{where}: identity {identity!r} is not a user id like 'alice' "
            "(lower case letters, digits, . _ @ -)."
        )
    return identity


def load_file(path: Path) -> tuple[list[TokenEntry], dict[str, EventMapping]]:
    """Tokens (as SHA-256 digests) and event mappings from a YAML file."""
    where = f"ORCH_API_CONFIG {path}"
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ConfigError(f"{where}: {error.strerror or error}.") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{where}: not valid YAML ({error}).".replace("\n", " ")) from None
    document = document or {}
    if not isinstance(document, dict):
        raise ConfigError(f"{where}: expected a mapping with tokens and events.")
    unknown = set(document) - {"tokens", "events"}
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}.")
    tokens = [_token_entry(item, f"{where}: tokens[{i}]") for i, item in enumerate(
        _list(document.get("tokens"), f"{where}: tokens")
    )]  # fmt: skip
    raw_events = document.get("events") or {}
    if not isinstance(raw_events, dict):
        raise ConfigError(f"{where}: events must map event names to mappings.")
    events = {
        str(name): _event(str(name), spec, f"{where}: events.{name}")
        for name, spec in raw_events.items()
    }
    return tokens, events


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list.")
    return value


def _token_entry(item: Any, where: str) -> TokenEntry:
    if not isinstance(item, dict) or set(item) != {"identity", "sha256"}:
        raise ConfigError(f"{where}: expected {{identity: <user id>, sha256: <hex digest>}}.")
    digest = str(item["sha256"]).strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise ConfigError(f"{where}.sha256: expected 64 hex digits (sha256 of the token).")
    return TokenEntry(bytes.fromhex(digest), _identity(str(item["identity"]), f"{where}.identity"))


EVENT_KEYS = {"task", "kind", "requester", "parameters", "approval_timeout", "description"}


def _event(name: str, spec: Any, where: str) -> EventMapping:
    if not EVENT_NAME_PATTERN.match(name):
        raise ConfigError(f"{where}: event names use letters, digits, '.', '_' or '-'.")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: expected a mapping with at least `task`.")
    unknown = set(spec) - EVENT_KEYS
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
            f"expected {', '.join(sorted(EVENT_KEYS))}."
        )
    task = spec.get("task")
    if not isinstance(task, str) or not task.strip():
        raise ConfigError(f"{where}.task: a non-empty description (may use {{field}}).")
    requester = str(spec.get("requester") or CALLER)
    if requester != CALLER:
        _identity(requester, f"{where}.requester")
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise ConfigError(f"{where}.parameters: expected a mapping of name -> value.")
    for key, value in parameters.items():
        if not isinstance(key, str) or not PARAMETER_NAME_PATTERN.match(key):
            raise ConfigError(f"{where}.parameters: {key!r} is not a valid parameter name.")
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{where}.parameters.{key}: a string, number or boolean.")
    kind = spec.get("kind")
    if kind is not None and (not isinstance(kind, str) or not kind.strip()):
        raise ConfigError(f"{where}.kind: a non-empty string when given.")
    timeout = float(DEFAULT_APPROVAL_TIMEOUT_SECONDS)
    if spec.get("approval_timeout") is not None:
        try:
            timeout = durations.seconds(str(spec["approval_timeout"]))
        except ValueError as error:
            raise ConfigError(f"{where}.approval_timeout: {error}.") from None
    return EventMapping(
        name=name,
        task=task,
        kind=kind,
        requester=requester,
        parameters=dict(parameters),
        approval_timeout_seconds=timeout,
        description=str(spec.get("description") or ""),
    )
