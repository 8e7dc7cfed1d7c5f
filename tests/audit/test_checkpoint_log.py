"""The checkpoint log: its last line read from the end, and appends that link even when
several processes checkpoint at once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest

from orchestrator.audit import chain, checkpoint


def entries(at: str) -> list[dict[str, object]]:
    return chain.chain([{"kind": "decision", "workflow_id": "wf", "run_id": "r"}], exported_at=at)


def test_the_last_checkpoint_is_read_from_the_end_of_a_long_log(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    assert checkpoint.last_checkpoint(log) is None
    log.write_text("")
    assert checkpoint.last_checkpoint(log) is None
    # Lines longer than the block read at a time, and blank lines at the end.
    lines = [json.dumps({"seq": n, "pad": "x" * 5000}) for n in range(5)]
    log.write_text("\n".join(lines) + "\n\n\n")
    assert checkpoint.last_checkpoint(log) == {"seq": 4, "pad": "x" * 5000}
    log.write_text('{"seq": 0}')  # one line, no newline
    assert checkpoint.last_checkpoint(log) == {"seq": 0}


@pytest.mark.parametrize(
    ("text", "wrong"), [('{"seq": 0}\n{"seq"\n', "not JSON"), ("[1]\n", "not a checkpoint object")]
)
def test_a_last_line_that_is_no_checkpoint_is_named(tmp_path: Path, text: str, wrong: str) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(text)
    with pytest.raises(checkpoint.CheckpointError, match=f"{log}: its last line is {wrong}"):
        checkpoint.last_checkpoint(log)


PER_WRITER = 100


def _checkpoint_many(key: Path, log: Path, start: int, ready: Any) -> None:
    private = checkpoint.load_private_key(key)
    ready.wait()  # all writers at once, so their appends interleave
    for n in range(start, start + PER_WRITER):
        checkpoint.checkpoint_export(entries(f"2026-12-02T00:00:00.{n:03d}Z"), private, log)


def test_concurrent_checkpoints_each_link_to_the_one_before(tmp_path: Path) -> None:
    key, public = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    assert checkpoint.write_keypair(key, public)
    log = tmp_path / "log.jsonl"
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(3)
    writers = [
        context.Process(target=_checkpoint_many, args=(key, log, start, ready))
        for start in (0, PER_WRITER, 2 * PER_WRITER)
    ]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    checkpoints = checkpoint.read_log(log)
    assert [c["seq"] for c in checkpoints] == list(range(3 * PER_WRITER))
    problems = checkpoint.verify_log(checkpoints, checkpoint.load_public_key(public))
    # Windows of one process interleave with another's; only gaps in time may be reported.
    assert [p for p in problems if "does not follow" in p.message] == []
