"""Connecting to Temporal the same way from every process (worker, CLI, HTTP API)."""

from __future__ import annotations

import dataclasses

import temporalio.converter
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from orchestrator.codec.codec import EncryptionCodec, KeyRing
from orchestrator.config import TemporalSettings
from telemetry.temporal import tracing_interceptor


def tls_config(settings: TemporalSettings) -> TLSConfig | bool:
    if settings.tls_cert or settings.tls_ca:
        return TLSConfig(
            server_root_ca_cert=settings.tls_ca.read_bytes() if settings.tls_ca else None,
            client_cert=settings.tls_cert.read_bytes() if settings.tls_cert else None,
            client_private_key=settings.tls_key.read_bytes() if settings.tls_key else None,
        )
    # An API key (Temporal Cloud) always travels over TLS.
    return settings.tls or settings.api_key is not None


def data_converter(settings: TemporalSettings) -> DataConverter:
    """The default converter, encrypting payloads when a key file is configured."""
    if settings.encryption_keys_file is None:
        return temporalio.converter.default()
    codec = EncryptionCodec(KeyRing.load(settings.encryption_keys_file))
    return dataclasses.replace(temporalio.converter.default(), payload_codec=codec)


async def connect(settings: TemporalSettings, *, runtime: Runtime | None = None) -> Client:
    """A client with the tracing interceptor, so starts and updates join the caller's trace."""
    return await Client.connect(
        settings.address,
        namespace=settings.namespace,
        api_key=settings.api_key,
        tls=tls_config(settings),
        interceptors=[tracing_interceptor()],
        runtime=runtime,
        data_converter=data_converter(settings),
    )
