"""kpikit keeps working in child processes, whichever way they are started.

The core runs large inputs on a thread pool. A process made by ``fork()`` inherits the parent's
memory but not its threads, so a pool started in the parent must not be used in the child: the
child starts its own. Each test here first makes the parent use its pool (an input of more than
two row ranges of 2^17 rows), then computes the same call in a child and compares the numbers.
A child that does not answer in time is killed and the test fails: a hang never blocks the run.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import queue
import select
import signal
import sys
import time

import numpy as np
import pandas as pd
import pytest

import kpikit

# Python 3.12+ warns when a process with threads forks; that is the very case tested here (the
# parent's pool threads are running), and the child is written to be safe.
pytestmark = pytest.mark.filterwarnings("ignore:.*use of fork\\(\\) may lead to deadlocks:DeprecationWarning")

ROWS = 300_000  # over 2 x 2^17 rows: the core splits the input and runs it on its pool
TIMEOUT = 120.0  # seconds a child may take (a spawned child imports pandas and kpikit first)


def _responses(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "score": rng.integers(0, 11, ROWS),
            "seg": rng.choice(["a", "b", "c"], ROWS),
            "t": pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 86_400, ROWS), unit="s"),
        }
    )


def _answer() -> list[tuple]:
    """One large call, as plain values (picklable, comparable)."""
    out = kpikit.nps(_responses(), score="score", time="t", freq="month", by="seg", tz="UTC")
    out["period"] = out.period.astype(str)
    cols = ["period", "seg", "responses", "promoters", "detractors", "nps"]
    return sorted(tuple(r) for r in out[cols].itertuples(index=False))


def _expected() -> list[tuple]:
    """The same numbers by plain pandas, so that the parent's answer is checked too."""
    df = _responses()
    df["period"] = df.t.dt.tz_localize(None).dt.to_period("M").dt.start_time.dt.strftime("%Y-%m-%d")
    g = df.groupby(["period", "seg"]).score
    rows = pd.DataFrame(
        {
            "responses": g.size(),
            "promoters": g.apply(lambda s: int((s >= 9).sum())),
            "detractors": g.apply(lambda s: int((s <= 6).sum())),
        }
    ).reset_index()
    rows["nps"] = 100.0 * (rows.promoters - rows.detractors) / rows.responses
    cols = ["period", "seg", "responses", "promoters", "detractors", "nps"]
    return sorted(tuple(r) for r in rows[cols].itertuples(index=False))


def _child(out: multiprocessing.Queue) -> None:
    """Entry point of multiprocessing children: the answer twice (the second call reuses the
    child's own pool), or the error."""
    try:
        out.put(("ok", _answer(), _answer()))
    except BaseException as e:
        out.put(("error", repr(e), None))


@pytest.fixture(scope="module")
def parent_answer() -> list[tuple]:
    answer = _answer()  # starts the parent's pool
    expected = _expected()
    assert len(answer) == len(expected) == 36  # 12 months x 3 segments
    for got, want in zip(answer, expected, strict=True):
        assert got[:5] == want[:5]
        assert got[5] == pytest.approx(want[5], abs=1e-12)
    return answer


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_os_fork_child_computes_the_same_numbers(parent_answer: list[tuple]) -> None:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, then leave without running pytest's exit
        code = 0
        try:
            os.close(read_end)
            data = pickle.dumps((_answer(), _answer()))
            with os.fdopen(write_end, "wb") as w:
                w.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([read_end], [], [], max(left, 0))
            if not ready:
                pytest.fail(f"the forked child did not answer within {TIMEOUT:.0f} s (a hang in the thread pool)")
            chunk = os.read(read_end, 1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(read_end)
        if not chunks or time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    first, second = pickle.loads(b"".join(chunks))
    assert first == parent_answer
    assert second == parent_answer


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_child_computes_the_same_numbers(parent_answer: list[tuple], method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"start method {method!r} is not available on {sys.platform}")
    ctx = multiprocessing.get_context(method)
    answers = ctx.Queue()
    child = ctx.Process(target=_child, args=(answers,))
    child.start()
    try:
        status, first, second = answers.get(timeout=TIMEOUT)
    except queue.Empty:
        pytest.fail(f"the {method} child did not answer within {TIMEOUT:.0f} s (a hang in the thread pool)")
    finally:
        child.join(timeout=10)
        if child.is_alive():
            child.kill()
            child.join()
    assert status == "ok", first
    assert first == parent_answer
    assert second == parent_answer
    assert child.exitcode == 0
