"""One measurement in a fresh process: load the demo company at a scale, then time one engine
on one workload, or check that every engine gives kpikit's numbers.

``--mode pandas`` (default) times the engine from the pandas DataFrame; ``--mode native`` first
loads the input into the engine's own form (workloads.native_input: an Arrow table for kpikit,
a polars DataFrame, a DuckDB table), drops the pandas frame, and times the engine on that.
Prints one JSON line. Working memory = peak RSS during the runs minus RSS once the input is
loaded (the kernel's peak counter is reset after loading through /proc/self/clear_refs). For
kpikit from pandas the line also gives the time of the pandas → Arrow conversion of the columns
it reads (``convert_times``) and their bytes (``input_bytes``).
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workloads import WORKLOADS, native_input


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    # Writing 5 resets VmHWM (peak RSS) to the current RSS (Linux ≥ 4.0).
    Path("/proc/self/clear_refs").write_text("5")


def _release_freed_memory() -> None:
    """Return memory freed after loading to the OS, so the baseline RSS is the input itself and
    an engine cannot look lean merely by reusing the generator's freed pages."""
    import ctypes

    import pyarrow as pa

    gc.collect()
    pa.default_memory_pool().release_unused()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workload")
    p.add_argument("--scale", type=float)
    p.add_argument("--sweep", help="time every variant of this analysis' option sweep (workloads.SWEEPS)")
    p.add_argument("--rows", type=int, help="with --sweep: input rows")
    p.add_argument("--engine")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--check", action="store_true")
    p.add_argument("--engines", help="with --check: the engines to check against kpikit (default: all)")
    p.add_argument("--mode", choices=["pandas", "native"], default="pandas")
    a = p.parse_args()

    import kpikit

    if a.sweep:
        _sweep(a.sweep, a.rows, a.repeat)
        return
    w = WORKLOADS[a.workload]
    company = kpikit.datasets.demo(seed=0, scale=w.company_scale(a.scale))
    table = w.table(company, a.scale)
    del company
    _release_freed_memory()
    rows = len(table)

    if a.check:
        # One line per engine as soon as it is checked: when the process dies on one engine,
        # run.py knows which were done and checks the rest in a new process.
        expected = w.normalise("kpikit", w.engines["kpikit"](table))
        print(json.dumps({"rows": rows, "groups": len(expected)}), flush=True)
        for name in a.engines.split(",") if a.engines else [e for e in w.engines if e != "kpikit"]:
            try:
                if name.endswith(":native"):
                    base = name.removesuffix(":native")
                    got = w.normalise(base, w.native[base](native_input(w, base, table)))
                else:
                    got = w.normalise(name, w.engines[name](table))
            except MemoryError:
                print(json.dumps({"engine": name, "status": "out of memory", "reason": "MemoryError"}), flush=True)
                continue
            except Exception as e:  # any engine failure is recorded, not fatal
                print(
                    json.dumps({"engine": name, "status": "failed", "reason": f"{type(e).__name__}: {str(e)[:250]}"}), flush=True
                )
                continue
            try:
                pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)
                verdict = "same"
            except AssertionError as e:
                verdict = f"DIFFERENT: {str(e)[:300]}"
            del got
            gc.collect()
            print(json.dumps({"engine": name, "verdict": verdict}), flush=True)
        return

    # Import every engine's modules first so that import cost counts neither as time nor memory.
    import duckdb  # noqa: F401 - loaded for its import cost only
    import polars  # noqa: F401 - loaded for its import cost only
    import pyarrow  # noqa: F401 - loaded for its import cost only

    extra: dict = {}
    if a.mode == "native":
        fn = w.native[a.engine]
        data = native_input(w, a.engine, table)
        del table
        _release_freed_memory()
        table = data
    else:
        fn = w.engines[a.engine]
        if a.engine == "kpikit" and w.columns:
            extra = _conversion(table, list(w.columns), a.repeat)

    loaded_kib = _status_kib("VmRSS")
    _reset_peak()
    times = []
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        result = fn(table)
        times.append(time.perf_counter() - t0)
        del result
    peak_kib = _status_kib("VmHWM")
    print(json.dumps({"rows": rows, "times": times, "working_mib": max(0, peak_kib - loaded_kib) / 1024, **extra}))


def _sweep(analysis: str, rows: int, repeat: int) -> None:
    """One line per variant: its times (after one untimed warm-up call), or why it failed."""
    from workloads import SWEEPS

    build, variants = SWEEPS[analysis]
    base = build(rows)
    _release_freed_memory()
    for name, prepare, call in variants:
        try:
            table = prepare(base) if prepare else base
            call(table)
            times = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                result = call(table)
                times.append(time.perf_counter() - t0)
                del result
            print(json.dumps({"variant": name, "times": times}), flush=True)
        except Exception as e:  # a variant that fails is reported, the others still run
            print(json.dumps({"variant": name, "status": "failed", "reason": f"{type(e).__name__}: {str(e)[:250]}"}), flush=True)
        del table
        gc.collect()


def _conversion(table: pd.DataFrame, columns: list[str], repeat: int) -> dict:
    """The time kpikit takes to hand the columns it reads to the core (pandas → Arrow), timed
    alone before the measured runs, and those columns' bytes in memory (strings with their
    characters)."""
    from kpikit._convert import table_input

    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        converted = table_input(table, columns)
        times.append(time.perf_counter() - t0)
        del converted
    nbytes = int(sum(table[c].memory_usage(index=False, deep=True) for c in columns))
    return {"convert_times": times, "input_bytes": nbytes}


if __name__ == "__main__":
    main()
