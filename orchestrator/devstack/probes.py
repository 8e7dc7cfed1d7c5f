"""Health probes for services that speak no HTTP: Temporal's cluster services and PostgreSQL.

A `ServiceSpec.health_url` names its probe by scheme, so specs stay plain data:
- `http://...`: 200 from a GET (every server of the dev stack);
- `grpc-health://HOST:PORT/SERVICE`: the standard gRPC health service answers SERVING
  for SERVICE (Temporal's frontend, history, matching and worker each register one);
- `postgres://HOST:PORT`: PostgreSQL asks for authentication, so it accepts sessions
  (while it starts or recovers it refuses them with an error instead).
"""

from __future__ import annotations

import socket
import struct
from urllib.parse import urlsplit

import grpc
import httpx

GRPC_HEALTH = "grpc-health"
POSTGRES = "postgres"

# grpc.health.v1.Health/Check takes {1: service name} and answers {1: status}; the two
# messages are small enough to encode by hand, which spares a generated stub.
_HEALTH_CHECK = "/grpc.health.v1.Health/Check"
_SERVING = b"\x08\x01"


def is_healthy(url: str, timeout: float = 1.0) -> bool:
    scheme = urlsplit(url).scheme
    if scheme == GRPC_HEALTH:
        return grpc_serving(url, timeout)
    if scheme == POSTGRES:
        return postgres_accepting(url, timeout)
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


def grpc_serving(url: str, timeout: float) -> bool:
    parts = urlsplit(url)
    service = parts.path.lstrip("/").encode()
    request = b"\x0a" + _varint(len(service)) + service
    with grpc.insecure_channel(parts.netloc) as channel:
        check = channel.unary_unary(
            _HEALTH_CHECK, request_serializer=bytes, response_deserializer=bytes
        )
        try:
            return bool(check(request, timeout=timeout) == _SERVING)
        except grpc.RpcError:
            return False


def postgres_accepting(url: str, timeout: float) -> bool:
    parts = urlsplit(url)
    # A protocol 3.0 StartupMessage: the server answers 'R' (an authentication request)
    # when it takes sessions, 'E' while it is starting, recovering or shutting down.
    options = b"user\0temporal\0database\0postgres\0\0"
    startup = struct.pack("!ii", 8 + len(options), 196608) + options
    try:
        with socket.create_connection((parts.hostname, parts.port or 5432), timeout) as s:
            s.sendall(startup)
            return s.recv(1) == b"R"
    except OSError:
        return False


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)
