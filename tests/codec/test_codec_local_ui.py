"""The codec server for the local Temporal UI: both of its origins, a token in the path
(the dev server's UI has no user to pass a bearer token for), and `make up` wiring it in."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from http.server import ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from google.protobuf.json_format import MessageToDict

from orchestrator.codec.codec import CodecError, EncryptionCodec, KeyRing
from orchestrator.codec.server import allowed_origins, make_server
from orchestrator.devstack import Binaries, LocalStack, Ports, StackLayout, process
from orchestrator.devstack.stack import write_secret
from tests.codec.test_codec import SECRET, key_file, payload


def test_a_loopback_ui_is_allowed_under_both_its_names() -> None:
    assert allowed_origins("http://127.0.0.1:8233") == [
        "http://127.0.0.1:8233",
        "http://localhost:8233",
    ]
    assert allowed_origins("http://localhost:18233/") == [
        "http://localhost:18233",
        "http://127.0.0.1:18233",
    ]
    assert allowed_origins("https://temporal.example.com") == ["https://temporal.example.com"]
    with pytest.raises(CodecError, match="not a URL of the Temporal UI"):
        allowed_origins("8233")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[ThreadingHTTPServer, EncryptionCodec]]:
    codec = EncryptionCodec(KeyRing.load(key_file(tmp_path, "k1", "k1")))
    server = make_server(codec, ["ui-token"], "127.0.0.1", 0, "http://127.0.0.1:8233")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, codec
    server.shutdown()


async def test_cors_answers_each_local_origin_and_the_path_token_decodes(
    served: tuple[ThreadingHTTPServer, EncryptionCodec],
) -> None:
    server, codec = served
    base = f"http://127.0.0.1:{server.server_address[1]}"
    [sealed] = await codec.encode([payload(SECRET)])
    body = {"payloads": [MessageToDict(sealed)]}
    async with httpx.AsyncClient() as http:
        answers = {
            origin: await http.post(
                f"{base}/ui-token/decode", json=body, headers={"Origin": origin}
            )
            for origin in ("http://localhost:8233", "http://127.0.0.1:8233")
        }
        preflight = await http.options(
            f"{base}/ui-token/decode", headers={"Origin": "http://localhost:8233"}
        )
        stranger = await http.post(
            f"{base}/ui-token/decode", json=body, headers={"Origin": "http://evil.test"}
        )
        wrong_path = await http.post(f"{base}/guess/decode", json=body)
        health = await http.get(f"{base}/healthz")
    for origin, answer in answers.items():
        assert answer.status_code == 200, answer.text
        assert answer.headers["Access-Control-Allow-Origin"] == origin
        [decoded] = answer.json()["payloads"]
        assert json.loads(base64.b64decode(decoded["data"])) == SECRET
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "http://localhost:8233"
    assert "Origin" in preflight.headers["Vary"]
    # Another site's page gets no CORS grant for itself: its browser withholds the answer.
    assert stranger.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:8233"
    assert wrong_path.status_code == 401
    assert health.status_code == 200 and "k1" not in health.text


@pytest.mark.integration
async def test_up_with_encryption_starts_the_codec_and_points_the_ui_at_it(
    stack: LocalStack, tmp_path: Path
) -> None:
    """The dev server's UI advertises the codec endpoint and the browser's call works."""
    keys = key_file(tmp_path, "k1", "k1")
    free = Ports.free()
    ports = replace(
        stack.ports,
        temporal=free.temporal,
        temporal_http=free.temporal_http,
        temporal_metrics=free.temporal_metrics,
        temporal_ui=free.temporal_ui,
        codec=free.codec,
    )
    own = LocalStack(
        ports, StackLayout(root=tmp_path / "state"), stack.binaries, encryption_keys_file=keys
    )
    assert [spec.name for spec in own.services] == ["jaeger", "opa", "temporal", "codec"]
    assert write_secret(own.layout.codec_token)  # what `up` does first
    endpoint = own.codec_endpoint
    assert endpoint is not None and endpoint.startswith(f"http://127.0.0.1:{ports.codec}/")
    assert endpoint in own.service("temporal").argv
    codec_spec = own.codec
    assert codec_spec is not None
    try:
        await asyncio.to_thread(
            process.start_all, [codec_spec, own.service("temporal")], own.layout
        )
        assert [line for line in own.codec_notes() if "decoded by" in line]
        async with httpx.AsyncClient() as http:
            settings = await http.get(f"http://127.0.0.1:{ports.temporal_ui}/api/v1/settings")
            assert settings.status_code == 200, settings.text
            assert settings.json()["Codec"]["Endpoint"] == endpoint
            codec = EncryptionCodec(KeyRing.load(keys))
            [sealed] = await codec.encode([payload(SECRET)])
            origin = f"http://localhost:{ports.temporal_ui}"
            decoded = await http.post(
                f"{endpoint}/decode",
                json={"payloads": [MessageToDict(sealed)]},
                headers={"Origin": origin, "X-Namespace": "default"},
            )
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["Access-Control-Allow-Origin"] == origin
        assert SECRET in base64.b64decode(decoded.json()["payloads"][0]["data"]).decode()
    finally:
        for name in ("temporal", "codec"):
            await asyncio.to_thread(process.stop, name, own.layout)


def test_up_says_when_a_running_temporal_has_no_codec_endpoint(tmp_path: Path) -> None:
    """Encryption configured after Temporal started: its UI shows ciphertext until it
    restarts, and `up` says so instead of claiming the UI decodes."""
    layout = StackLayout(root=tmp_path)
    unlocated = Binaries(Path(), Path(), Path())  # nothing is started
    own = LocalStack(Ports(), layout, unlocated, encryption_keys_file=key_file(tmp_path, "k", "k"))
    assert write_secret(layout.codec_token)
    layout.run.mkdir(parents=True)
    # A live process without the flag stands in for a Temporal started before.
    process.write_pid(layout, "temporal", os.getpid())
    [note] = own.codec_notes()
    assert "started before ORCH_ENCRYPTION_KEYS_FILE was set" in note
    assert "`make down && make up`" in note
