"""Payload encryption: round trips, key rotation, tampering, and what stays in clear."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from temporalio.api.common.v1 import Payload
from temporalio.client import Client

from orchestrator.audit.history import build_audit
from orchestrator.codec.codec import ENCODING, CodecError, EncryptionCodec, KeyRing
from orchestrator.codec.server import make_server
from orchestrator.config import Settings
from orchestrator.connection import connect
from tests.support import RunningWorker

SECRET = "hunter2-XYZZY-7c1d"  # no risky word: the task stays low risk


def key_file(folder: Path, active: str, *ids: str) -> Path:
    keys = {kid: base64.b64encode(os.urandom(32)).decode() for kid in ids}
    path = folder / f"keys-{active}.json"
    path.write_text(json.dumps({"active": active, "keys": keys}))
    return path


def payload(text: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=json.dumps(text).encode())


async def test_round_trip_hides_the_plaintext(tmp_path: Path) -> None:
    codec = EncryptionCodec(KeyRing.load(key_file(tmp_path, "k1", "k1")))
    [sealed] = await codec.encode([payload(SECRET)])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata["encryption-key-id"] == b"k1"
    assert SECRET.encode() not in sealed.SerializeToString()
    assert await codec.decode([sealed]) == [payload(SECRET)]


async def test_rotation_keeps_old_payloads_readable(tmp_path: Path) -> None:
    old = KeyRing.load(key_file(tmp_path, "k1", "k1"))
    [sealed_with_k1] = await EncryptionCodec(old).encode([payload("before")])
    rotated = KeyRing("k2", {**old.keys, "k2": os.urandom(32)})
    codec = EncryptionCodec(rotated)
    [sealed_with_k2] = await codec.encode([payload("after")])
    assert sealed_with_k2.metadata["encryption-key-id"] == b"k2"
    assert await codec.decode([sealed_with_k1, sealed_with_k2]) == [
        payload("before"),
        payload("after"),
    ]


async def test_unencrypted_payloads_pass_through(tmp_path: Path) -> None:
    codec = EncryptionCodec(KeyRing.load(key_file(tmp_path, "k1", "k1")))
    assert await codec.decode([payload("plain")]) == [payload("plain")]


async def test_tampering_and_unknown_keys_are_refused(tmp_path: Path) -> None:
    codec = EncryptionCodec(KeyRing.load(key_file(tmp_path, "k1", "k1")))
    [sealed] = await codec.encode([payload(SECRET)])
    tampered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + b"\x00")
    with pytest.raises(CodecError, match="fails authentication"):
        await codec.decode([tampered])
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"k9"}, data=sealed.data)
    with pytest.raises(CodecError, match="'k9', which is not in the key file"):
        await codec.decode([relabelled])


def test_bad_key_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(CodecError, match="no such key file"):
        KeyRing.load(tmp_path / "missing.json")
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"active": "a", "keys": {"a": base64.b64encode(b"x").decode()}}))
    with pytest.raises(CodecError, match="AES-256 needs 32"):
        KeyRing.load(short)
    wrong_active = tmp_path / "active.json"
    wrong_active.write_text(json.dumps({"active": "b", "keys": {}}))
    with pytest.raises(CodecError, match="active key 'b' is not among the keys"):
        KeyRing.load(wrong_active)


@pytest.mark.integration
async def test_encrypted_workflow_history_keeps_secrets_out_of_the_server(
    settings: Settings, tmp_path: Path
) -> None:
    keys = key_file(tmp_path, "k1", "k1")
    encrypted = replace(settings, temporal=replace(settings.temporal, encryption_keys_file=keys))
    client = await connect(encrypted.temporal)
    async with RunningWorker.start(client, encrypted) as worker:
        handle = await worker.start_governed(
            "Generate the weekly usage report", "alice", parameters={"api_token": SECRET}
        )
        result = await handle.result()
    assert result.outcome == "completed"

    # What the server stores: encrypted payloads only, and search attributes in clear
    # that carry no task data.
    plain = await Client.connect(settings.temporal.address)
    raw = (await plain.get_workflow_handle(handle.id).fetch_history()).to_json()
    assert SECRET not in raw and "weekly usage report" not in raw
    assert base64.b64encode(ENCODING).decode() in raw
    attributes = (await plain.get_workflow_handle(handle.id).describe()).search_attributes
    assert SECRET not in json.dumps(attributes, default=str)

    # Those with the keys rebuild the audit record from the same history.
    record = await build_audit(await handle.fetch_history(), client.data_converter)
    assert record.request["parameters"] == {"api_token": SECRET}
    assert record.decisions[0].answer.allow


@pytest.mark.integration
async def test_codec_server_decodes_only_for_token_holders(tmp_path: Path) -> None:
    codec = EncryptionCodec(KeyRing.load(key_file(tmp_path, "k1", "k1")))
    server = make_server(codec, ["ui-token"], "127.0.0.1", 0, "http://127.0.0.1:8233")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/decode"
    [sealed] = await codec.encode([payload(SECRET)])
    body = {"payloads": [MessageToDict(sealed)]}
    try:
        async with httpx.AsyncClient() as http:
            refused = await http.post(url, json=body)
            wrong = await http.post(url, json=body, headers={"Authorization": "Bearer nope"})
            allowed = await http.post(url, json=body, headers={"Authorization": "Bearer ui-token"})
    finally:
        await asyncio.to_thread(server.shutdown)
    assert (refused.status_code, wrong.status_code, allowed.status_code) == (401, 401, 200)
    assert refused.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"
    [decoded] = allowed.json()["payloads"]
    assert json.loads(base64.b64decode(decoded["data"])) == SECRET
