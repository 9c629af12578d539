"""batch/claims.py: one holder per run at a time, across threads and processes; a claim ends
with its holder, however the holder ends; a running batch can be seen as running."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from sct_engine.batch.claims import (
    Claim,
    batch_running,
    batch_running_here,
    holder_text,
    locks_work,
    outputs_lock,
    try_claim,
)

pytestmark = pytest.mark.unit


def in_other_process(code: str) -> str:
    """Run ``code`` in a fresh Python (a different batch); return what it prints."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_run_has_one_holder_at_a_time_and_says_who(tmp_path):
    assert locks_work(tmp_path)
    first = try_claim(tmp_path, "run_a", "batch A")
    assert isinstance(first, Claim)
    assert try_claim(tmp_path, "run_a", "batch B") == "batch A"  # same process, other thread
    other = try_claim(tmp_path, "run_b", "batch B")
    assert isinstance(other, Claim), "claims on different runs are independent"
    seen = in_other_process(
        f"""
        from sct_engine.batch.claims import try_claim
        print(try_claim({str(tmp_path)!r}, "run_a", "batch C"))
        """
    )
    assert seen == "batch A"
    first.release()
    with try_claim(tmp_path, "run_a", "batch B") as again:
        assert isinstance(again, Claim)
    other.release()


def test_a_claim_ends_with_the_process_holding_it(tmp_path):
    """A killed batch never leaves a stale claim: the operating system drops its lock."""
    code = textwrap.dedent(
        f"""
        import os
        from sct_engine.batch.claims import try_claim
        claim = try_claim({str(tmp_path)!r}, "run_a", "killed")
        os._exit(0 if not isinstance(claim, str) else 3)
        """
    )
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0
    claim = try_claim(tmp_path, "run_a", "next batch")
    assert isinstance(claim, Claim)
    claim.release()


def test_the_outputs_lock_excludes_another_batch(tmp_path):
    with outputs_lock(tmp_path) as held:
        assert held
        busy = in_other_process(
            f"""
            from sct_engine.batch.claims import outputs_lock
            with outputs_lock({str(tmp_path)!r}, wait=False) as held:
                print(held)
            """
        )
        assert busy == "False"
    with outputs_lock(tmp_path, wait=False) as held:
        assert held


def test_a_batch_is_running_only_inside_its_with(tmp_path):
    batch_id = "20260101T000000Z-abc123"
    assert not batch_running(tmp_path, batch_id)
    with batch_running_here(tmp_path, batch_id):
        assert batch_running(tmp_path, batch_id)
        assert not batch_running(tmp_path, "another")
    assert not batch_running(tmp_path, batch_id)


@pytest.mark.parametrize("batch_id", [None, "", "../escape", 42])
def test_a_missing_or_odd_batch_id_is_not_running(tmp_path, batch_id):
    assert batch_running(tmp_path, batch_id) is False


def test_holder_text_names_the_batch_host_and_process():
    text = holder_text("b1")
    assert text.startswith("batch b1 on ") and "process" in text
