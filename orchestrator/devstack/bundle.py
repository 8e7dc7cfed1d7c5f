"""Signed policy bundles: `make policy-bundle`, and what the cluster stack loads.

`opa build --bundle policies/ --signing-key KEY` builds the bundle and signs it in one step
(what `opa sign` does, written into the bundle's `.signatures.json`: a JWT over every
file's SHA-256). OPA started with `--verification-key PUB` checks that signature and every
file's digest when it loads the bundle and refuses to start on a bundle that is unsigned,
signed with another key, or changed after signing: the policy gate then has no OPA to ask
and stays closed (runs wait at the gate, as for any outage) until a signed bundle is back.
Decisions record the bundle's `.manifest` revision with the digest of what OPA loaded
(orchestrator/policy/fingerprint.py), which for a signed bundle is the signed content.

The key is RSA (OPA's default RS256) and kept apart from the approval and audit keys; the
stacks write a development one under their folder. The dev stack (`make up`) keeps
loading policies/ with `--watch` for the edit loop, unsigned.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from orchestrator.devstack.services import REPO_ROOT, Binaries, StackError, StackLayout


@dataclass(frozen=True)
class SignedBundle:
    """Where a stack keeps its signed bundle and the key pair that signs it."""

    folder: Path

    @property
    def path(self) -> Path:
        return self.folder / "bundle.tar.gz"

    @property
    def signing_key(self) -> Path:
        return self.folder / "signing-key.pem"

    @property
    def verification_key(self) -> Path:
        """The public half: what OPA is started with."""
        return self.folder / "signing-key.pub.pem"

    @classmethod
    def of(cls, layout: StackLayout) -> SignedBundle:
        return cls(layout.root / "policy-bundle")

    def opa_args(self) -> list[str]:
        """How OPA loads it: the file, checked against the verification key (no --watch:
        a new bundle is a new, signed release)."""
        return ["--bundle", str(self.path), "--verification-key", str(self.verification_key)]


def write_signing_key(bundle: SignedBundle) -> bool:
    """A development RSA key pair for signing bundles; False when it exists already."""
    if bundle.signing_key.exists():
        return False
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    bundle.folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(bundle.signing_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    bundle.verification_key.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return True


def build(opa: Path, policies: Path, bundle: SignedBundle) -> str:
    """Build `policies` into the signed bundle (replacing the file only once it is whole);
    one line saying so, or a StackError quoting OPA."""
    lines = []
    if write_signing_key(bundle):
        lines.append(f"policy-bundle: wrote a development signing key to {bundle.signing_key}")
    partial = bundle.path.with_suffix(".partial")
    done = subprocess.run(
        [
            str(opa),
            "build",
            "--bundle",
            str(policies),
            "--signing-key",
            str(bundle.signing_key),
            "--output",
            str(partial),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        partial.unlink(missing_ok=True)
        message = (done.stderr or done.stdout).strip().splitlines()
        raise StackError(
            f"policy-bundle: opa build failed: {message[-1] if message else 'no output'}"
        )
    partial.replace(bundle.path)
    lines.append(
        f"policy-bundle: built and signed {bundle.path} from {policies} "
        f"(verify with {bundle.verification_key})"
    )
    return "\n".join(lines)


def main() -> int:
    """`make policy-bundle`: the signed bundle of policies/ under .data/policy-bundle/."""
    try:
        print(build(Binaries.locate().opa, REPO_ROOT / "policies", SignedBundle.of(
            StackLayout(root=REPO_ROOT / ".data")
        )))  # fmt: skip
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
