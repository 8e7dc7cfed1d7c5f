"""Signed checkpoints: the audit chain's head anchored by a key the exporter alone holds.

A hash chain proves nothing against someone who rewrites the whole export: they recompute
every hash. A checkpoint states what one export was (its record count, its head, the
time window it covers, the policy revisions its decisions name) and is signed with an
Ed25519 key kept apart from the approval keys. Checkpoints are appended to a log, each
naming the hash of the one before (`previous`) and numbered (`seq`), like CloudTrail's
digest files or a transparency log's signed tree heads.

What verifying against the log and the public key proves: the export is the one the
holder of the signing key checkpointed (same count, same head, so every record and its
order); no checkpoint was edited, forged with another key, removed from the middle of the
log or reordered; and the checkpointed windows leave no stretch of time uncovered.
What it does not prove: that the newest checkpoints were not cut from the end of the log
(keep a copy of the log, or its last `seq`, elsewhere); that runs were exported at all
(a run Temporal did not list is in no export); anything once the signing key leaks.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from orchestrator.audit.chain import GENESIS
from orchestrator.audit.entries import EntryKind
from orchestrator.audit.verify import Verification
from orchestrator.policy.canonical import canonical_json

KIND = "audit.checkpoint"
VERSION = 1


class CheckpointError(Exception):
    """A key or log cannot be used; the message names the file and what is wrong."""


class Finding(StrEnum):
    """What `audit verify --checkpoints` found wrong, as it prints it."""

    REWRITTEN = "rewritten"
    TRUNCATED = "truncated"
    UNCHECKPOINTED = "no checkpoint"
    FOREIGN_KEY = "signed by another key"
    FORGED = "bad signature"
    GAP = "gap"
    UNREADABLE = "unreadable checkpoint"


@dataclass(frozen=True)
class Problem:
    kind: Finding
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


# --- keys ----------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    """A short name of a public key: the first 16 hex digits of its raw bytes' SHA-256."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def write_keypair(private_path: Path, public_path: Path) -> bool:
    """A new signing key (PEM, readable by its owner only) and its public half; False
    when the private key file exists already (it is never replaced)."""
    if private_path.exists():
        return False
    private = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    public_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return True


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = _load(path, private=True)
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(f"{path}: not an Ed25519 private key (PEM).")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    key = _load(path, private=False)
    if isinstance(key, Ed25519PrivateKey):
        key = key.public_key()
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(f"{path}: not an Ed25519 public key (PEM).")
    return key


def _load(path: Path, *, private: bool) -> object:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}.") from None
    try:
        if private or b"PRIVATE KEY" in data:
            return serialization.load_pem_private_key(data, password=None)
        return serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise CheckpointError(f"{path}: not a PEM key ({error}).") from None


# --- making ----------------------------------------------------------------------------


def policy_revisions(entries: Iterable[dict[str, Any]]) -> list[str]:
    """The policy revisions the export's decisions name (enforcing and shadow), sorted."""
    seen = set()
    for entry in entries:
        if entry.get("kind") != EntryKind.DECISION.value:
            continue
        for revision in (
            entry.get("policy_revision"),
            (entry.get("shadow") or {}).get("policy_revision"),
        ):
            if isinstance(revision, str) and revision:
                seen.add(revision)
    return sorted(seen)


def make(
    entries: Sequence[dict[str, Any]],
    key: Ed25519PrivateKey,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """The signed checkpoint of one export's chained entries (trailer last), following
    `previous`, the log's last checkpoint (None for the first)."""
    trailer = entries[-1]
    body = {
        "kind": KIND,
        "version": VERSION,
        "seq": 0 if previous is None else int(previous["seq"]) + 1,
        "previous": GENESIS if previous is None else checkpoint_hash(previous),
        "count": trailer["count"],
        "head": trailer["head"],
        "window": {"from": trailer.get("since"), "to": trailer.get("exported_at")},
        "policy_revisions": policy_revisions(entries[:-1]),
        "key_id": key_id(key.public_key()),
    }
    signature = key.sign(canonical_json(body))
    return {**body, "signature": base64.b64encode(signature).decode()}


def checkpoint_hash(checkpoint: dict[str, Any]) -> str:
    """SHA-256 of the whole checkpoint, signature included: what the next one links to."""
    return hashlib.sha256(canonical_json(checkpoint)).hexdigest()


# --- the log -------------------------------------------------------------------------


def read_log(path: Path) -> list[dict[str, Any]]:
    """Every checkpoint in the log, oldest first (an absent log has none)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}.") from None
    checkpoints = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            checkpoint = json.loads(line)
        except json.JSONDecodeError:
            raise CheckpointError(f"{path}:{number}: not JSON.") from None
        if not isinstance(checkpoint, dict):
            raise CheckpointError(f"{path}:{number}: not a checkpoint object.")
        checkpoints.append(checkpoint)
    return checkpoints


def last_checkpoint(path: Path) -> dict[str, Any] | None:
    """The log's newest checkpoint (None: no log, or an empty one), read from its end so a
    log of years is not read whole for every export."""
    try:
        with path.open("rb") as file:
            position = file.seek(0, os.SEEK_END)
            data = b""
            while position > 0:
                step = min(TAIL_BLOCK, position)
                position -= step
                file.seek(position)
                data = file.read(step) + data
                if b"\n" in data.rstrip():
                    break
    except FileNotFoundError:
        return None
    except OSError as error:
        raise CheckpointError(f"cannot read {path}: {error.strerror or error}.") from None
    line = data.rstrip().rpartition(b"\n")[2].strip()
    if not line:
        return None
    try:
        checkpoint = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{path}: its last line is not JSON.") from None
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: its last line is not a checkpoint object.")
    return checkpoint


# Bytes read at a time from the log's end; a checkpoint line is about 600.
TAIL_BLOCK = 4096


@contextlib.contextmanager
def _appending(path: Path) -> Iterator[int]:
    """The log opened for appending only, held under an exclusive lock: the CLI, the
    console and the scheduled checkpoint may append at once, and each must link to the
    line the one before it wrote."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield descriptor
    finally:
        os.close(descriptor)  # closing releases the lock


def checkpoint_export(
    entries: Sequence[dict[str, Any]], key: Ed25519PrivateKey, log: Path
) -> dict[str, Any]:
    """Sign the export, append the checkpoint to the log (flushed to disk before return),
    and return it."""
    with _appending(log) as descriptor:
        checkpoint = make(entries, key, last_checkpoint(log))
        os.write(descriptor, (json.dumps(checkpoint, sort_keys=True) + "\n").encode())
        os.fsync(descriptor)
    return checkpoint


def beside(export_file: Path) -> Path:
    """Where an export's own checkpoint is written: `FILE.checkpoint.json`."""
    return Path(f"{export_file}.checkpoint.json")


def write_beside(export_file: Path, signed: dict[str, Any]) -> Path:
    """Write the checkpoint beside the export it signs; the path written."""
    path = beside(export_file)
    path.write_text(json.dumps(signed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


# --- verifying -------------------------------------------------------------------------


def verify_log(checkpoints: Sequence[dict[str, Any]], public: Ed25519PublicKey) -> list[Problem]:
    """Every checkpoint signed by `public`, each linked to the one before, no window left
    uncovered between consecutive ones."""
    problems = []
    wanted = key_id(public)
    for index, checkpoint in enumerate(checkpoints):
        name = f"checkpoint {checkpoint.get('seq', f'#{index + 1}')}"
        problem = _signature_problem(checkpoint, public, wanted, name)
        if problem:
            problems.append(problem)
        if index == 0:
            continue
        before = checkpoints[index - 1]
        if checkpoint.get("previous") != checkpoint_hash(before) or checkpoint.get(
            "seq"
        ) != _next_seq(before):
            problems.append(
                Problem(
                    Finding.GAP,
                    f"{name} does not follow checkpoint {before.get('seq')} "
                    f"(expected seq {_next_seq(before)} linked to its hash): a checkpoint "
                    "between them was removed, reordered or replaced",
                )
            )
        start, end = (
            (checkpoint.get("window") or {}).get("from"),
            (before.get("window") or {}).get("to"),
        )
        if isinstance(start, str) and isinstance(end, str) and start > end:
            problems.append(
                Problem(
                    Finding.GAP,
                    f"no checkpoint covers {end} to {start}: checkpoint {before.get('seq')} "
                    f"ends there and {name} starts later",
                )
            )
    return problems


def _next_seq(checkpoint: dict[str, Any]) -> int | None:
    seq = checkpoint.get("seq")
    return seq + 1 if isinstance(seq, int) else None


def _signature_problem(
    checkpoint: dict[str, Any], public: Ed25519PublicKey, wanted: str, name: str
) -> Problem | None:
    body = {key: value for key, value in checkpoint.items() if key != "signature"}
    try:
        signature = base64.b64decode(str(checkpoint.get("signature", "")), validate=True)
    except ValueError:
        return Problem(Finding.UNREADABLE, f"{name}: its signature is not base64")
    try:
        public.verify(signature, canonical_json(body))
    except InvalidSignature:
        if checkpoint.get("key_id") != wanted:
            return Problem(
                Finding.FOREIGN_KEY,
                f"{name} names key {checkpoint.get('key_id')}, not {wanted} (the key given)",
            )
        return Problem(Finding.FORGED, f"{name} was edited after it was signed")
    return None


def match_export(
    checkpoints: Sequence[dict[str, Any]], trailer: dict[str, Any], records: int, head: str
) -> list[Problem]:
    """The export (its trailer, record count and head, as verify read them) against the
    checkpoint made when it was exported: the one for the same window."""
    window = {"from": trailer.get("since"), "to": trailer.get("exported_at")}
    made = [c for c in checkpoints if c.get("window") == window]
    if not made:
        return [
            Problem(
                Finding.UNCHECKPOINTED,
                f"no checkpoint in the log is for an export made at {window['to']} "
                f"(since {window['from'] or 'all time'}): the export, or its trailer, is not "
                "one that was checkpointed",
            )
        ]
    checkpoint = made[-1]
    name = f"checkpoint {checkpoint.get('seq')}"
    if records < int(checkpoint.get("count", 0)):
        return [
            Problem(
                Finding.TRUNCATED,
                f"{records} records, but {name} signed {checkpoint.get('count')}: the tail was cut",
            )
        ]
    if records != checkpoint.get("count") or head != checkpoint.get("head"):
        return [
            Problem(
                Finding.REWRITTEN,
                f"head {head} ({records} records), but {name} signed head "
                f"{checkpoint.get('head')} ({checkpoint.get('count')} records): the stream "
                "was rewritten and re-hashed",
            )
        ]
    return []


def check(
    verification: Verification, checkpoints: Sequence[dict[str, Any]], public: Ed25519PublicKey
) -> list[Problem]:
    """Everything `audit verify --checkpoints LOG --key PUB` adds to a stream's own check:
    the log's problems, then the stream against its export's checkpoint."""
    problems = verify_log(checkpoints, public)
    if verification.trailer is not None:
        problems += match_export(
            checkpoints, verification.trailer, verification.records, verification.head
        )
    return problems
