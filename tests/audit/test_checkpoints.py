"""Signed checkpoints catch what a hash chain alone cannot: a stream rewritten and
re-hashed from scratch. Each kind of tampering is named by `orchestrator audit verify`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit import chain, checkpoint
from tests.support import BIN

T0, T1, T2, T3 = (f"2026-12-02T0{h}:00:00.000Z" for h in (0, 1, 2, 3))


def decisions(*tasks: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "decision",
            "workflow_id": f"wf-{n}",
            "run_id": "r",
            "action": "workflow.start",
            "allow": True,
            "task": task,
            "policy_revision": "2026.12.02-1",
        }
        for n, task in enumerate(tasks)
    ]


def export(bodies: list[dict[str, Any]], since: str | None, at: str) -> list[dict[str, Any]]:
    return chain.chain(bodies, exported_at=at, since=since)


def write(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text("".join(line + "\n" for line in chain.lines(entries, "jsonl")))
    return path


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, Path]:
    paths = {}
    for name in ("ours", "theirs"):
        private, public = tmp_path / f"{name}.pem", tmp_path / f"{name}.pub.pem"
        assert checkpoint.write_keypair(private, public)
        paths[name], paths[f"{name}.pub"] = private, public
    return paths


def verify(stream: Path, log: Path | None = None, key: Path | None = None) -> tuple[int, str]:
    argv = [str(BIN / "orchestrator"), "audit", "verify", str(stream)]
    if log is not None and key is not None:
        argv += ["--checkpoints", str(log), "--key", str(key)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr


def signed_log(log: Path, key: Path, *exports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    private = checkpoint.load_private_key(key)
    return [checkpoint.checkpoint_export(entries, private, log) for entries in exports]


def test_a_consistently_rewritten_export_passes_alone_and_fails_against_its_checkpoint(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    log = tmp_path / "checkpoints.jsonl"
    original = export(decisions("report", "deploy"), T0, T1)
    [made] = signed_log(log, keys["ours"], original)
    assert (made["count"], made["head"]) == (2, chain.head(original))
    assert made["policy_revisions"] == ["2026.12.02-1"]

    honest = write(tmp_path / "honest.jsonl", original)
    assert verify(honest, log, keys["ours.pub"]) == (
        0,
        f"ok: 2 records, head {made['head']}, as checkpointed and signed\n",
    )
    # Someone with write access rewrites a decision and recomputes every hash.
    forged = decisions("report", "deploy")
    forged[1]["allow"] = False
    rewritten = write(tmp_path / "rewritten.jsonl", export(forged, T0, T1))
    assert verify(rewritten)[0] == 0  # the chain alone cannot tell
    code, out = verify(rewritten, log, keys["ours.pub"])
    assert code == 1
    assert "rewritten: head" in out and "the stream was rewritten and re-hashed" in out


def test_a_cut_tail_re_hashed_is_named_truncated(tmp_path: Path, keys: dict[str, Path]) -> None:
    log = tmp_path / "checkpoints.jsonl"
    signed_log(log, keys["ours"], export(decisions("a", "b", "c"), T0, T1))
    cut = write(tmp_path / "cut.jsonl", export(decisions("a", "b"), T0, T1))
    assert verify(cut)[0] == 0
    code, out = verify(cut, log, keys["ours.pub"])
    assert code == 1 and "truncated: 2 records, but checkpoint 0 signed 3" in out


def test_a_checkpoint_signed_by_another_key_or_edited_is_refused(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    entries = export(decisions("a"), T0, T1)
    stream = write(tmp_path / "a.jsonl", entries)
    theirs = tmp_path / "theirs.jsonl"
    signed_log(theirs, keys["theirs"], entries)
    code, out = verify(stream, theirs, keys["ours.pub"])
    assert code == 1 and "signed by another key: checkpoint 0 names key" in out

    ours = tmp_path / "ours.jsonl"
    [made] = signed_log(ours, keys["ours"], entries)
    ours.write_text(json.dumps({**made, "count": 5}) + "\n")  # signature kept
    code, out = verify(stream, ours, keys["ours.pub"])
    assert code == 1 and "bad signature: checkpoint 0 was edited after it was signed" in out


def test_a_checkpoint_removed_from_the_log_or_a_window_left_out_is_a_gap(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    log = tmp_path / "checkpoints.jsonl"
    exports = [export(decisions(f"r{n}"), f"2026-12-02T0{n}:00:00.000Z",
                      f"2026-12-02T0{n + 1}:00:00.000Z") for n in range(3)]  # fmt: skip
    signed_log(log, keys["ours"], *exports)
    lines = log.read_text().splitlines()
    log.write_text(lines[0] + "\n" + lines[2] + "\n")  # the middle checkpoint removed
    stream = write(tmp_path / "last.jsonl", exports[2])
    code, out = verify(stream, log, keys["ours.pub"])
    assert code == 1 and "gap: checkpoint 2 does not follow checkpoint 0" in out

    hourly = tmp_path / "hourly.jsonl"
    first, later = export(decisions("a"), T0, T1), export(decisions("b"), T2, T3)
    signed_log(hourly, keys["ours"], first, later)  # 01:00 to 02:00 in no checkpoint
    code, out = verify(write(tmp_path / "b.jsonl", later), hourly, keys["ours.pub"])
    assert code == 1 and f"gap: no checkpoint covers {T1} to {T2}" in out


def test_an_export_no_checkpoint_names_fails_and_options_go_together(
    tmp_path: Path, keys: dict[str, Path]
) -> None:
    log = tmp_path / "checkpoints.jsonl"
    signed_log(log, keys["ours"], export(decisions("a"), T0, T1))
    elsewhere = write(tmp_path / "other.jsonl", export(decisions("a"), T0, T2))
    code, out = verify(elsewhere, log, keys["ours.pub"])
    assert (
        code == 1
        and f"no checkpoint: no checkpoint in the log is for an export made at {T2}" in out
    )

    argv = [str(BIN / "orchestrator"), "audit", "verify", str(elsewhere), "--key", "k.pem"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "--checkpoints LOG and --key PUB go together" in done.stderr
