"""kpikit against itself: two or more builds timed on one call, alternating, in fresh processes.

Each build is a directory holding a `kpikit` package with its compiled extension
(`<dir>/kpikit/_kpikit.abi3.so`), e.g. a release build copied next to the package of the same
commit. Every round starts one fresh process per build, in turn (the order rotates each round,
so a slow spell of a shared machine falls on every build alike); a process makes its input,
calls once untimed, then times `--repeat` calls and reports their median. The result per
build is the median over the rounds.

    python benches/ab.py --case funnel_by --rows 1e6 --rounds 7 old=/tmp/ab/main new=/tmp/ab/mine
    python benches/ab.py --case nps_region --rows 1e7 --rounds 7 old=... new=...

Cases: the workloads of benches/workloads.py (their kpikit call, from pandas; `--rows` is
converted to the workload's scale) and the calls below that no workload covers.
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
from typing import Any

HERE = Path(__file__).resolve().parent

# Rows per unit of scale of the workloads used here (their `table` functions).
ROWS_PER_SCALE = {"nps_region": 100_000, "deal_metrics_closed": 50_000, "funnel_30d": 200_000}


def _events(n: int) -> Any:
    """`n` events of n / 10 users over a year: signup, activate, pay and other events, a
    4-value categorical channel; fixed seed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(11)
    users = max(1, n // 10)
    names = ["signup", "activate", "pay", "login", "view"]
    event = pd.Categorical.from_codes(rng.choice(5, n, p=[0.1, 0.08, 0.04, 0.38, 0.4]), categories=names)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    time_ = pd.Series(t0 + pd.to_timedelta(np.sort(rng.integers(0, 365 * 86_400_000_000, n)), unit="us"))
    channel = pd.Categorical.from_codes(rng.integers(0, 4, n), categories=["ads", "organic", "referral", "partner"])
    return pd.DataFrame({"user_id": rng.integers(0, users, n), "time": time_, "event": event, "channel": channel})


def _leads(n: int) -> Any:
    """`n` leads created over a year, ~40 % qualified and ~12 % converted later, revenue for
    the converted, a 4-value categorical channel; fixed seed."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(12)
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    created = t0 + pd.to_timedelta(rng.integers(0, 365 * 86_400_000_000, n), unit="us")
    day = pd.Timedelta(days=1)
    qualified = pd.Series(created + rng.integers(1, 30, n) * day).where(rng.random(n) < 0.4)
    converted = (qualified + pd.Series(rng.integers(1, 60, n)) * day).where(rng.random(n) < 0.3)
    revenue = np.where(converted.notna(), rng.gamma(2.0, 500.0, n), np.nan)
    channel = pd.Categorical.from_codes(rng.integers(0, 4, n), categories=["ads", "organic", "referral", "partner"])
    return pd.DataFrame(
        {"created": created, "qualified": qualified, "converted": converted, "revenue": revenue, "channel": channel}
    )


def _case(name: str, rows: int) -> tuple[Any, Any]:
    """The input of a case and its call."""
    import kpikit

    if name == "funnel_by":
        df = _events(rows)
        return df, lambda t: kpikit.funnel(
            t, user="user_id", time="time", steps=["signup", "activate", "pay"], window="30d", by="channel", output="arrow"
        )
    if name == "lead_metrics_by":
        df = _leads(rows)
        return df, lambda t: kpikit.lead_metrics(
            t, created="created", qualified="qualified", converted="converted", revenue="revenue", by="channel", output="arrow"
        )
    sys.path.insert(0, str(HERE))
    from workloads import WORKLOADS

    w = WORKLOADS[name]
    scale = rows / ROWS_PER_SCALE[name]
    company = kpikit.datasets.demo(seed=0, scale=w.company_scale(scale))
    return w.table(company, scale), w.engines["kpikit"]


def _child(case: str, rows: int, repeat: int) -> None:
    import kpikit

    table, call = _case(case, rows)
    call(table)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = call(table)
        times.append(time.perf_counter() - t0)
        del result
    print(json.dumps({"so": kpikit._kpikit.__file__, "times": times}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("builds", nargs="*", help="name=directory holding a kpikit package with its extension")
    p.add_argument("--case", required=True)
    p.add_argument("--rows", type=float, default=1e6)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--repeat", type=int, default=5, help="timed calls per process (median taken)")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.child:
        _child(a.case, int(a.rows), a.repeat)
        return
    builds = [b.split("=", 1) for b in a.builds]
    per: dict[str, list[float]] = {name: [] for name, _ in builds}
    for r in range(a.rounds):
        order = builds[r % len(builds) :] + builds[: r % len(builds)]
        for name, where in order:
            env = dict(os.environ, PYTHONPATH=str(Path(where).resolve()))
            out = subprocess.run(
                [sys.executable, __file__, "--child", "--case", a.case, "--rows", str(a.rows), "--repeat", str(a.repeat)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            line = json.loads(out.stdout.strip().splitlines()[-1])
            if not line["so"].startswith(str(Path(where).resolve())):
                raise SystemExit(f"{name}: imported {line['so']}, not the build in {where}")
            per[name].append(statistics.median(line["times"]))
            print(f"round {r + 1} {name}: {per[name][-1] * 1e3:.1f} ms", file=sys.stderr, flush=True)
    print(f"{a.case}, {int(a.rows):,} rows: median of {a.rounds} processes (each the median of {a.repeat} calls)")
    for name, ts in per.items():
        print(f"  {name}: {statistics.median(ts) * 1e3:.1f} ms  (min {min(ts) * 1e3:.1f}, max {max(ts) * 1e3:.1f})")


if __name__ == "__main__":
    main()
