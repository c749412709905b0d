"""A/B timing of one option-sweep variant (workloads.SWEEPS) between two kpikit builds.

    python benches/ab_sweep.py --old /tmp/old/python --new python \\
        --analysis active_users --variant "per day, by 1,000 integer segments" --rows 1e6,1e7 --runs 7

``--old`` and ``--new`` are directories holding a ``kpikit`` package with its compiled
extension (e.g. a copy of ``python/`` with the release ``.so`` of the commit to compare). Each
run is a fresh process that builds the sweep's input, makes one untimed call, then times
``--repeat`` calls and reports their median; the two builds alternate run by run (old first on
odd runs, new first on even ones) so that a change of the machine's load hits both. Prints,
per input size, the median over the runs of each build and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child(analysis: str, variant: str, rows: int, repeat: int) -> None:
    sys.path.insert(0, str(HERE))
    from workloads import SWEEPS

    build, variants = SWEEPS[analysis]
    (prepare, call) = next((p, c) for name, p, c in variants if name == variant)
    table = build(rows)
    table = prepare(table) if prepare else table
    call(table)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        call(table)
        times.append(time.perf_counter() - t0)
    import kpikit

    print(json.dumps({"median": statistics.median(times), "kpikit": kpikit.__file__}))


def _run(pkg: str, a: argparse.Namespace, rows: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(pkg).resolve())}
    args = [sys.executable, __file__, "--child", "--analysis", a.analysis, "--variant", a.variant]
    out = subprocess.run(
        [*args, "--rows", str(rows), "--repeat", str(a.repeat)], env=env, capture_output=True, text=True, check=True
    )
    return float(json.loads(out.stdout.strip().splitlines()[-1])["median"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--old")
    p.add_argument("--new")
    p.add_argument("--analysis", required=True)
    p.add_argument("--variant", required=True)
    p.add_argument("--rows", default="1e6,1e7")
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", action="store_true")
    a = p.parse_args()
    if a.child:
        _child(a.analysis, a.variant, int(float(a.rows)), a.repeat)
        return
    for rows in (int(float(r)) for r in a.rows.split(",")):
        got: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(a.runs):
            order = ["old", "new"] if i % 2 == 0 else ["new", "old"]
            for which in order:
                got[which].append(_run(a.old if which == "old" else a.new, a, rows))
        old, new = statistics.median(got["old"]), statistics.median(got["new"])
        print(
            json.dumps(
                {
                    "analysis": a.analysis,
                    "variant": a.variant,
                    "rows": rows,
                    "runs": a.runs,
                    "old_ms": round(old * 1e3, 1),
                    "new_ms": round(new * 1e3, 1),
                    "speedup": round(old / new, 2),
                    "old_runs_ms": [round(x * 1e3, 1) for x in got["old"]],
                    "new_runs_ms": [round(x * 1e3, 1) for x in got["new"]],
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
