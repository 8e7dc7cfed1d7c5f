"""Signed policy bundles against the real OPA: a signed bundle loads and decides; one
tampered with, unsigned or signed by another key is refused at load, and runs wait at the
gate until a signed bundle is back (orchestrator/devstack/bundle.py)."""

from __future__ import annotations

import asyncio
import io
import re
import subprocess
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.client import Client

from orchestrator.config import OpaSettings, Settings
from orchestrator.devstack import LocalStack, Ports, StackError, StackLayout, process
from orchestrator.devstack.bundle import SignedBundle, build
from orchestrator.devstack.services import REPO_ROOT, ServiceSpec, stack_services
from orchestrator.policy.client import OpaClient
from tests.policy.test_opa_server import MANIFEST_REVISION, start_input
from tests.support import RunningWorker, poll, status_of

pytestmark = pytest.mark.integration


def opa_on(stack: LocalStack, layout: StackLayout, bundle: SignedBundle) -> ServiceSpec:
    ports = replace(stack.ports, opa=Ports.free().opa)
    [spec] = [
        s
        for s in stack_services(ports, layout, stack.binaries, signed_bundle=bundle.opa_args())
        if s.name == "opa"
    ]
    return replace(spec, start_timeout=20.0)


def tamper(bundle: Path) -> None:
    """Change one rule file inside the signed bundle, keeping its .signatures.json."""
    with tarfile.open(bundle) as original:
        members = [(m, original.extractfile(m)) for m in original.getmembers()]
        files = {m.name: (m, f.read() if f else b"") for m, f in members}
    rego = next(name for name in files if name.endswith("main.rego"))
    member, data = files[rego]
    files[rego] = (member, data + b"\n# allow everything from now on\n")
    with tarfile.open(bundle, "w:gz") as changed:
        for member, data in files.values():
            member.size = len(data)
            changed.addfile(member, io.BytesIO(data))


@pytest.fixture
def signed(stack: LocalStack, tmp_path: Path) -> SignedBundle:
    bundle = SignedBundle(tmp_path / "bundle")
    build(stack.binaries.opa, REPO_ROOT / "policies", bundle)
    return bundle


async def test_a_signed_bundle_loads_and_decides(
    stack: LocalStack, signed: SignedBundle, tmp_path: Path
) -> None:
    layout = StackLayout(root=tmp_path / "opa")
    spec = opa_on(stack, layout, signed)
    await asyncio.to_thread(process.start_all, [spec], layout)
    try:
        client = OpaClient(OpaSettings(url=spec.url))
        decision = await client.decide(start_input("Generate the weekly usage report"))
        await client.aclose()
    finally:
        await asyncio.to_thread(process.stop, "opa", layout)
    assert decision.allow
    # The signed bundle's manifest revision, and the digest of what OPA loaded from it.
    assert re.fullmatch(
        rf"{re.escape(MANIFEST_REVISION)}\+sha256:[0-9a-f]{{12}}", decision.policy_revision
    )


@pytest.mark.parametrize("how", ["tampered", "unsigned", "another key"])
def test_a_bundle_not_signed_as_it_is_is_refused_at_load(
    stack: LocalStack, signed: SignedBundle, tmp_path: Path, how: str
) -> None:
    if how == "tampered":
        tamper(signed.path)
    elif how == "unsigned":
        unsigned = [str(stack.binaries.opa), "build", "--bundle", str(REPO_ROOT / "policies")]
        subprocess.run([*unsigned, "--output", str(signed.path)], check=True)
    else:
        other = SignedBundle(tmp_path / "other")
        build(stack.binaries.opa, REPO_ROOT / "policies", other)
        signed.path.write_bytes(other.path.read_bytes())
    layout = StackLayout(root=tmp_path / "opa")
    with pytest.raises(StackError) as refused:
        process.start_all([opa_on(stack, layout, signed)], layout)
    assert str(refused.value).startswith("opa: exited with status 1 during start-up")
    assert process.running_pid(layout, "opa") is None


async def test_runs_wait_at_the_gate_until_a_signed_bundle_is_back(
    stack: LocalStack,
    client: Client,
    settings: Settings,
    signed: SignedBundle,
    tmp_path: Path,
) -> None:
    good = signed.path.read_bytes()
    tamper(signed.path)
    layout = StackLayout(root=tmp_path / "opa")
    spec = opa_on(stack, layout, signed)
    with pytest.raises(StackError):
        await asyncio.to_thread(process.start_all, [spec], layout)
    ours = replace(settings, opa=OpaSettings(url=spec.url, timeout_seconds=0.5))
    async with RunningWorker.start(client, ours) as worker:
        handle = await worker.start_governed("Generate the weekly usage report", "alice")
        # No OPA to ask: the gate retries with back-off; nothing gets through.
        await poll(
            lambda: handle.describe(),
            lambda d: (
                bool(d.raw_description.pending_activities)
                and d.raw_description.pending_activities[0].attempt >= 2
            ),
            "the policy decision being retried",
            seconds=30,
        )
        assert (await status_of(handle)).stage == "policy_check"
        signed.path.write_bytes(good)  # the signed release is back
        await asyncio.to_thread(process.start_all, [spec], layout)
        try:
            result = await asyncio.wait_for(handle.result(), timeout=60)
        finally:
            await asyncio.to_thread(process.stop, "opa", layout)
    assert result.outcome == "completed"
    [decision] = result.decisions
    assert decision.allow and decision.policy_revision
