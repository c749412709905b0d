"""kpikit's benchmark suite: every analysis against pandas, polars and DuckDB on the demo company.

    python benches/run.py                       # all workloads, scales 1, 10 and 50
    python benches/run.py --workloads nps --scales 0.1,1 --repeat 3

Needs a release build of kpikit (``make demo`` installs one) and refuses a debug build. Each
measurement runs in a fresh process (benches/worker.py): the input is generated and loaded as a
pandas DataFrame first, then one engine runs ``--repeat`` times; the report gives the median
time and the working memory (peak RSS minus RSS once the input is loaded). Before timing, every
engine's result is checked equal to kpikit's. Writes benches/REPORT.md and benches/plots/*.png.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS  # noqa: E402

PEERS = ["pandas", "polars", "duckdb"]


def _run_worker(args: list[str], threads: int | None) -> dict:
    env = dict(os.environ)
    if threads is not None:
        for var in ("KPIKIT_MAX_THREADS", "POLARS_MAX_THREADS", "BENCH_THREADS", "RAYON_NUM_THREADS"):
            env[var] = str(threads)
    out = subprocess.run(
        [sys.executable, str(HERE / "worker.py"), *args], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _fmt_s(x: float | None) -> str:
    return "—" if x is None else (f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--scales", default="1,10,50")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--single-thread", action="store_true", help="also measure every engine on one thread")
    p.add_argument("--report", default=str(HERE / "REPORT.md"))
    a = p.parse_args()

    import kpikit
    from kpikit import _kpikit

    if _kpikit.debug_build:
        sys.exit("benches/run.py needs a release build of kpikit: run `make demo` (maturin develop --release) first")

    scales = [float(s) for s in a.scales.split(",")]
    thread_modes: list[int | None] = [None] + ([1] if a.single_thread else [])
    results: dict[str, list[dict]] = {}
    for wname in a.workloads.split(","):
        w = WORKLOADS[wname]
        for scale in scales:
            check = _run_worker(["--workload", wname, "--scale", str(scale), "--check"], None)
            bad = {k: v for k, v in check["check"].items() if v != "same"}
            print(f"{wname} scale {scale}: {check['rows']:,} rows, {check['groups']} groups, check: {bad or 'all same'}", flush=True)
            for threads in thread_modes:
                row = {"scale": scale, "rows": check["rows"], "threads": threads or os.cpu_count(), "engines": {}}
                for engine in w.engines:
                    if engine in bad:
                        continue
                    m = _run_worker(
                        ["--workload", wname, "--scale", str(scale), "--engine", engine, "--repeat", str(a.repeat)], threads
                    )
                    m["median"] = statistics.median(m["times"])
                    row["engines"][engine] = m
                    print(f"  {engine:<7} threads={row['threads']}: median {_fmt_s(m['median'])}, working memory {m['working_mib']:.0f} MiB", flush=True)
                row["differs"] = bad
                results.setdefault(wname, []).append(row)

    # Results of workloads not run this time are kept from earlier runs (benches/results.json),
    # so the report always covers every workload measured.
    store = HERE / "results.json"
    saved = json.loads(store.read_text()) if store.exists() else {}
    for wname, rows in results.items():
        saved[wname] = {"rows": rows, "repeat": a.repeat, "version": kpikit.__version__,
                        "when": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"}
    store.write_text(json.dumps(saved, indent=1))
    merged = {w: saved[w]["rows"] for w in WORKLOADS if w in saved}
    when = {w: f"{saved[w]['when']}, median of {saved[w]['repeat']} runs" for w in merged}
    _write_report(Path(a.report), merged, a.repeat, kpikit.__version__, when)
    _plot(merged)
    print(f"wrote {a.report}")


def _write_report(path: Path, results: dict[str, list[dict]], repeat: int, version: str, when: dict[str, str]) -> None:
    lines = [
        "# kpikit benchmark report",
        "",
        f"Generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `python benches/run.py` with kpikit {version}, "
        f"{os.cpu_count()} cores, each engine in a fresh process starting "
        "from the same pandas DataFrame. Working memory is peak RSS minus RSS once the input is loaded. "
        "Speed-up is the fastest peer's median ÷ kpikit's median; memory ratio is kpikit's working memory ÷ "
        "the leanest peer's. Every peer's result was checked equal to kpikit's before timing.",
        "",
    ]
    for wname, rows in results.items():
        w = WORKLOADS[wname]
        lines += [f"## {wname}: {w.description}", "", f"Measured {when[wname]}.", ""]
        head = "| scale | rows | threads | " + " | ".join(f"{e} time" for e in w.engines) + " | " + " | ".join(
            f"{e} memory" for e in w.engines
        ) + " | speed-up vs fastest peer | memory vs leanest peer |"
        lines += [head, "|" + "---|" * (head.count("|") - 1)]
        for r in rows:
            e = r["engines"]
            peers = [x for x in PEERS if x in e]
            speed = mem = "—"
            if "kpikit" in e and peers:
                fastest = min(e[x]["median"] for x in peers)
                leanest = min(e[x]["working_mib"] for x in peers)
                speed = f"{fastest / e['kpikit']['median']:.1f}×"
                mem = f"{e['kpikit']['working_mib'] / leanest:.2f}" if leanest > 0 else f"{e['kpikit']['working_mib']:.0f} MiB vs 0"
            times = " | ".join(_fmt_s(e[x]["median"]) if x in e else "differs" for x in w.engines)
            mems = " | ".join(f"{e[x]['working_mib']:.0f} MiB" if x in e else "—" for x in w.engines)
            lines.append(f"| {r['scale']:g} | {r['rows']:,} | {r['threads']} | {times} | {mems} | {speed} | {mem} |")
        lines.append("")
    path.write_text("\n".join(lines))


def _plot(results: dict[str, list[dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (HERE / "plots").mkdir(exist_ok=True)
    for wname, rows in results.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        all_threads = [r for r in rows if r["threads"] == os.cpu_count()]
        for engine in WORKLOADS[wname].engines:
            pts = [(r["rows"], r["engines"][engine]["median"]) for r in all_threads if engine in r["engines"]]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=engine)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input rows")
        ax.set_ylabel("median time (s)")
        ax.set_title(f"{wname}: time against rows")
        ax.legend()
        fig.tight_layout()
        fig.savefig(HERE / "plots" / f"{wname}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main()
