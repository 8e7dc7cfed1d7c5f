"""Payload encryption: AES-256-GCM, with the key id in each payload so keys can rotate.

Switched on by `ORCH_ENCRYPTION_KEYS_FILE` (Settings.temporal.encryption_keys_file, read
in orchestrator/config.py), a JSON file:

    {"active": "2026-11", "keys": {"2026-11": "<base64 of 32 bytes>", "2026-05": "..."}}

New payloads are encrypted with the active key; old ones decrypt with whichever key their
metadata names, so rotating is: add a key, make it active, keep the old one until no
open workflow or retained history needs it. Payloads that were never encrypted pass
through unchanged. Search attributes are not payloads: Temporal stores them in clear,
which is why nothing sensitive is ever put there.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class CodecError(Exception):
    """A payload or key that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class KeyRing:
    active: str
    keys: Mapping[str, bytes]

    @classmethod
    def load(cls, path: Path) -> KeyRing:
        try:
            document = json.loads(path.read_text())
            keys = {
                kid: base64.b64decode(value, validate=True)
                for kid, value in document["keys"].items()
            }
            active = str(document["active"])
        except FileNotFoundError:
            raise CodecError(f"{path}: no such key file.") from None
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as error:
            raise CodecError(
                f'{path}: expected {{"active": ID, "keys": {{ID: base64 key}}}} ({error}).'
            ) from None
        for kid, key in keys.items():
            if len(key) != 32:
                raise CodecError(f"{path}: key {kid!r} is {len(key)} bytes; AES-256 needs 32.")
        if active not in keys:
            raise CodecError(f"{path}: the active key {active!r} is not among the keys.")
        return cls(active, keys)


class EncryptionCodec(PayloadCodec):
    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.ciphers = {kid: AESGCM(key) for kid, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        kid = self.ring.active
        nonce = os.urandom(NONCE_BYTES)
        # The key id is authenticated too: a payload cannot be relabelled to another key.
        sealed = self.ciphers[kid].encrypt(nonce, payload.SerializeToString(), kid.encode())
        return Payload(metadata={"encoding": ENCODING, KEY_ID: kid.encode()}, data=nonce + sealed)

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        kid = payload.metadata.get(KEY_ID, b"").decode()
        cipher = self.ciphers.get(kid)
        if cipher is None:
            raise CodecError(f"payload encrypted with key {kid!r}, which is not in the key file.")
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            return Payload.FromString(cipher.decrypt(nonce, sealed, kid.encode()))
        except InvalidTag:
            raise CodecError(f"payload under key {kid!r} fails authentication.") from None
