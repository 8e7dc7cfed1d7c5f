"""The revision a decision records: the bundle's revision plus a digest of what OPA loaded.

`2026.12.02-1+sha256:3f2a9c1d0b7e`: the `.manifest` revision (policies/README.md, "The
policy revision") and the first 12 hex digits of a SHA-256 over every module's source
and every data document OPA holds. The manifest revision says which release a policy
author meant; the digest changes with any edit to any rule or data file, bumped or not,
so two decisions with the same revision were made by the same rules and data. A shadow
candidate's stated revision (`<revision>+<candidate>`) carries the same digest after the
manifest revision. Works alike with `opa run --watch --bundle policies/` and with a built
bundle (`opa build`): both are read from OPA, never from files.

What is hashed comes from OPA itself, not from policies/ on disk (a worker image has no
policies/): `GET /v1/policies` (each module's source) and one `POST /v1/query` for the
bundles' manifests and a digest, computed by OPA, of the DATA_DOCUMENTS (only a digest,
so OPA's decision log records a hash, not the directory).

Cost: none per decision beyond `?metrics=true` on the decision request. Fetching the
fingerprint costs OPA tens of milliseconds (/v1/policies carries every module's AST),
so it is fetched only when it may have changed, which the decision's own answer tells:

- OPA prepares (compiles) a query once and answers from its query cache until a policy
  or data change resets the cache; `counter_server_query_cache_hit` is 0 in the metrics
  of the first answer after a change (and of the very first). Such an answer is followed
  by a fetch before its decision is returned, so its revision is the one that decided.
- the answer's provenance names another manifest revision than the fingerprint's;
- every REFRESH_SECONDS while decisions are made, a fetch in the background catches a
  change another client's request compiled first (then ours hits the cache).

The last fingerprint is shared by every client of the same OPA URL in the process, so a
short-lived client does not fetch again. Fetching never fails a decision: without a
fingerprint the manifest revision alone is recorded, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import httpx

from orchestrator.policy.canonical import canonical_json

log = logging.getLogger(__name__)

# Where the bundle keeps data (policies/README.md, "People, roles and settings");
# tests/policy/test_policy_fingerprint.py fails when a data file lies elsewhere.
DATA_DOCUMENTS = ("orchestrator/directory", "orchestrator/settings")
DIGEST_CHARS = 12
REFRESH_SECONDS = 10.0
CACHE_HIT = "counter_server_query_cache_hit"

_QUERY = (
    'manifests := [{"name": name, "revision": object.get(bundle.manifest, "revision", "")}'
    " | some name, bundle in data.system.bundles]; "
    "data_digest := crypto.sha256(json.marshal(["
    + ", ".join(f"data.{path.replace('/', '.')}" for path in DATA_DOCUMENTS)
    + "]))"
)


@dataclass(frozen=True)
class Loaded:
    """What one OPA had loaded when asked: module sources by id, data digest, revision."""

    revision: str  # the bundles' manifest revisions, joined as provenance names them
    modules: dict[str, str]
    data_digest: str
    fetched_at: float = field(default_factory=time.monotonic)

    @cached_property  # computed once: it hashes every module's source
    def digest(self) -> str:
        """SHA-256 (hex) over the sources (sorted: module ids depend on where OPA loaded
        the files from, and OPA lists them in no fixed order) and the data digest."""
        document = {"modules": sorted(self.modules.values()), "data": self.data_digest}
        return hashlib.sha256(canonical_json(document)).hexdigest()

    def describes(self, stated: str) -> bool:
        """Whether `stated` (a decision's revision) is of the release this was fetched for."""
        return (
            not self.revision or stated == self.revision or stated.startswith(f"{self.revision}+")
        )

    def qualify(self, stated: str) -> str:
        """`stated` with the digest after its manifest revision: "r" -> "r+sha256:d",
        a candidate's "r+amount-5000" -> "r+sha256:d+amount-5000"."""
        base = self.revision or stated.partition("+")[0]
        return f"{base}+sha256:{self.digest[:DIGEST_CHARS]}{stated[len(base) :]}"


async def fetch_loaded(http: httpx.AsyncClient) -> Loaded:
    """Ask OPA what it serves. Raises httpx.HTTPError or ValueError when it cannot say."""
    policies, query = await asyncio.gather(
        http.get("/v1/policies"), http.post("/v1/query", json={"query": _QUERY})
    )
    policies.raise_for_status()
    query.raise_for_status()
    # The module list is large (ASTs): parse it off the event loop's thread.
    listed = await asyncio.to_thread(policies.json)
    modules = {str(m["id"]): str(m["raw"]) for m in listed.get("result", [])}
    rows = query.json().get("result") or [{}]
    manifests = rows[0].get("manifests") or []
    revisions = sorted(str(m["revision"]) for m in manifests if m.get("revision"))
    return Loaded(",".join(revisions), modules, str(rows[0].get("data_digest", "")))


def recompiled(body: Any) -> bool:
    """Whether OPA compiled the query for this answer: nothing cached it since a change."""
    metrics = body.get("metrics") if isinstance(body, dict) else None
    return isinstance(metrics, dict) and metrics.get(CACHE_HIT) == 0


# The last fingerprint per OPA URL, for every client in the process.
_LAST: dict[str, Loaded] = {}


class PolicyFingerprint:
    """One client's view of what its OPA serves; see the module docstring for when it asks."""

    def __init__(self, url: str, http: httpx.AsyncClient) -> None:
        self.url = url
        self.http = http
        self._fetching: asyncio.Task[Loaded | None] | None = None
        self._warned = False
        self._failed_at = -REFRESH_SECONDS
        # Called with each fetch (orchestrator/policy/stale.py compares it with the files).
        self.on_fetch: list[Callable[[Loaded], None]] = []

    @property
    def last(self) -> Loaded | None:
        return _LAST.get(self.url)

    async def revision(self, stated: str, body: Any) -> str:
        """The revision to record for a decision OPA answered with `body`."""
        loaded = self.last
        changed = loaded is None or recompiled(body) or not loaded.describes(stated)
        # After a failed fetch (OPA refusing /v1/policies, say) ask again only in the
        # background, every REFRESH_SECONDS: never a failing round trip per decision.
        failing = time.monotonic() - self._failed_at < REFRESH_SECONDS
        if failing:
            pass
        elif changed:
            loaded = await self.fetch()
        elif loaded and time.monotonic() - loaded.fetched_at > REFRESH_SECONDS:
            self.fetch_soon()
        return loaded.qualify(stated) if loaded is not None and stated else stated

    def fetch_soon(self) -> None:
        """Fetch in the background (one at a time), not on any decision's path.

        In a context of its own: the decision that happened to notice the fingerprint was
        old must not show this bookkeeping in its trace as if it had waited for it.
        """
        if self._fetching is None or self._fetching.done():
            loop = asyncio.get_running_loop()
            self._fetching = loop.create_task(self._fetch(), context=contextvars.Context())

    async def fetch(self) -> Loaded | None:
        """Fetch now, joining a fetch already under way; None when OPA could not say."""
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.get_running_loop().create_task(self._fetch())
        return await asyncio.shield(self._fetching)

    async def _fetch(self) -> Loaded | None:
        try:
            loaded = await fetch_loaded(self.http)
        except Exception as error:  # never a reason to fail the decision it labels
            self._failed_at = time.monotonic()
            if not self._warned:
                log.warning(
                    "cannot read what OPA at %s has loaded (%s: %s); decisions record the "
                    "manifest revision without a content digest until it can",
                    self.url,
                    type(error).__name__,
                    error,
                )
                self._warned = True
            return self.last
        self._warned = False
        _LAST[self.url] = loaded
        for listener in self.on_fetch:
            listener(loaded)
        return loaded

    async def aclose(self) -> None:
        if self._fetching is not None and not self._fetching.done():
            self._fetching.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetching
