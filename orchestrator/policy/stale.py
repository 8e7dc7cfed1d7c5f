"""Notice, in the worker, that OPA serves stale policy: the files changed, OPA did not.

OPA with `--watch` refuses an edited file that does not parse or compile and keeps
serving what it had; nothing it serves says so (/health, /health?bundles and the
decision's provenance are unchanged, and /v1/status needs a status plugin, which knows
only bundles downloaded from a service). Where the worker can read the policy folder OPA
watches (the local stack), it compares: every `.rego` file's source with the module OPA
loaded from it, and every data file with whether it parses at all. A difference that
outlasts GRACE_SECONDS after the last save (OPA reloads within half a second) is logged
as one WARNING naming the files, with OPA's own error from its log when the worker knows
where that is (orchestrator/policy/load_errors.py), until the files load again.

Checks cost a `stat` of each file, at most once a second and only while decisions are
made; a fetch of what OPA loaded (orchestrator/policy/fingerprint.py) follows only
when a file changed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from orchestrator.policy.fingerprint import Loaded, PolicyFingerprint
from orchestrator.policy.load_errors import last_load_error

log = logging.getLogger(__name__)

GRACE_SECONDS = 2.0
SCAN_EVERY_SECONDS = 1.0
DATA_FILES = ("data.yaml", "data.yml", "data.json")


@dataclass(frozen=True)
class PolicyWatch:
    """The folder OPA loads (`--bundle DIR --watch`) and, if known, OPA's log file."""

    policies: Path
    opa_log: Path | None = None

    def signature(self) -> tuple[tuple[str, int, int], ...]:
        """Each policy file's path, modification time and size: what a save changes."""
        found = []
        for path in sorted(self._files()):
            try:
                stat = path.stat()
            except OSError:
                continue
            found.append((str(path), stat.st_mtime_ns, stat.st_size))
        return tuple(found)

    def newest_change(self) -> float:
        """Seconds since the epoch of the last save, 0 with no files."""
        return max((mtime / 1e9 for _, mtime, _ in self.signature()), default=0.0)

    def stale_files(self, loaded: Loaded) -> list[str]:
        """The files (relative to the folder) OPA does not serve as they are on disk."""
        stale = []
        for path in sorted(self._files()):
            relative = path.relative_to(self.policies).as_posix()
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                stale.append(relative)
                continue
            if path.suffix == ".rego":
                sources = [s for i, s in loaded.modules.items() if i.endswith("/" + relative)]
                if text not in sources:
                    stale.append(relative)
            elif not _parses(text):
                stale.append(relative)
        on_disk = {p.relative_to(self.policies).as_posix() for p in self._files()}
        stale += sorted(
            f"{module} (deleted, still loaded)"
            for module in _relative_modules(loaded, on_disk, self.policies)
        )
        return stale

    def _files(self) -> list[Path]:
        if not self.policies.is_dir():
            return []
        return [
            path
            for path in self.policies.rglob("*")
            if path.is_file() and (path.suffix == ".rego" or path.name in DATA_FILES)
        ]


def _parses(text: str) -> bool:
    try:
        yaml.safe_load(text)  # JSON is YAML too
    except yaml.YAMLError:
        return False
    return True


def _relative_modules(loaded: Loaded, on_disk: set[str], root: Path) -> list[str]:
    """Modules OPA serves from this folder whose file is gone."""
    gone = []
    for module_id in loaded.modules:
        marker = f"/{root.name}/"
        if marker not in module_id:
            continue
        relative = module_id.rsplit(marker, 1)[1]
        if relative not in on_disk:
            gone.append(relative)
    return gone


@dataclass
class StaleWatcher:
    """Compares, after each fetch, what OPA loaded with the files; warns once per state."""

    watch: PolicyWatch
    fingerprint: PolicyFingerprint
    _signature: tuple[tuple[str, int, int], ...] | None = None
    _scanned_at: float = 0.0
    _warned: tuple[str, ...] = ()
    _check: asyncio.Task[None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.fingerprint.on_fetch.append(self.compare)

    def poll(self) -> None:
        """Called with each decision: a cheap look at the files, at most once a second."""
        now = time.monotonic()
        if now - self._scanned_at < SCAN_EVERY_SECONDS:
            return
        self._scanned_at = now
        signature = self.watch.signature()
        if signature != self._signature:
            self._signature = signature
            if self._check is None or self._check.done():
                self._check = asyncio.get_running_loop().create_task(self._fetch_after_grace())

    async def _fetch_after_grace(self) -> None:
        """Give OPA time to reload the save, then look at what it serves."""
        waited = GRACE_SECONDS - (time.time() - self.watch.newest_change())
        if waited > 0:
            await asyncio.sleep(waited)
        await self.fingerprint.fetch()

    def compare(self, loaded: Loaded) -> None:
        if time.time() - self.watch.newest_change() < GRACE_SECONDS:
            return  # a save OPA may still be reloading
        stale = tuple(self.watch.stale_files(loaded))
        if stale and stale != self._warned:
            error = last_load_error(self.watch.opa_log) if self.watch.opa_log else None
            why = f"OPA's last load error: {error}" if error else "see OPA's log for why"
            log.warning(
                "OPA at %s serves stale policy: %s in %s changed but OPA still serves what "
                "it had before (%s); decisions keep revision %s until the files load again",
                self.fingerprint.url,
                ", ".join(stale),
                self.watch.policies,
                why,
                loaded.qualify(loaded.revision) if loaded.revision else loaded.digest[:12],
            )
        elif not stale and self._warned:
            log.info(
                "OPA at %s serves %s as it is on disk again",
                self.fingerprint.url,
                self.watch.policies,
            )
        self._warned = stale

    async def aclose(self) -> None:
        if self._check is not None and not self._check.done():
            self._check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._check
