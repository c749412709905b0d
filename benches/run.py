"""kpikit's benchmark suite: every analysis against pandas, polars and DuckDB on the demo company.

    python benches/run.py                       # every workload at its three scales
    python benches/run.py --workloads nps --scales 0.1,1 --repeat 3
    python benches/run.py --levels 3 --repeat 3 # only the 5×10⁷-event scale of every workload
    python benches/run.py --sweep --rows 1e6    # kpikit's option sweep per analysis (sweep.json)

Every engine is timed two ways: from the pandas DataFrame (the peers convert or scan it inside
the timed call) and from its own native in-memory form loaded before timing (kpikit: an Arrow
table; polars: a DataFrame, queried lazily; DuckDB: a table made by CREATE TABLE AS). The report
sets kpikit from pandas against the faster of the two modes of each peer.

Needs a release build of kpikit (``make demo`` installs one) and refuses a debug build. Each
workload names its three scales (``Workload.scales``): the inputs of about 10⁶, 10⁷ and 5×10⁷
events, the other tables in proportion. Each measurement runs in a fresh process
(benches/worker.py): the input is generated and loaded as a pandas DataFrame first, then one
engine runs ``--repeat`` times; the report gives the median time and the working memory (peak
RSS minus RSS once the input is loaded). Before timing, every engine's result is checked equal
to kpikit's. kpikit is also timed on one thread (``--single-thread`` times every engine so).

A worker whose memory passes ``--max-rss-gib`` (or that would leave the machine with less than
1 GiB available) is stopped and its engine recorded as out of memory; any other failure is
recorded with its reason. Either way the run goes on.

Results merge into benches/results.json by (workload, scale, threads): a run replaces only the
rows it measured, each row keeping its own time of measurement. Writes benches/REPORT.md and
benches/plots/<workload>.png from all rows kept.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from workloads import WORKLOADS  # noqa: E402 - found through the sys.path entry above

PEERS = ["pandas", "polars", "duckdb", "polars:native", "duckdb:native"]
NATIVE = ":native"  # suffix of an engine timed on its own in-memory form
LEVELS = ["10⁶", "10⁷", "5×10⁷"]  # events at a workload's first, second and third scale
STORE = HERE / "results.json"
SWEEP_STORE = HERE / "sweep.json"
# Hand-written findings (profiles, before/after comparisons) appended to the report as they are.
NOTES = HERE / "NOTES.md"
FORMAT = 2


def _now() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x * 1000:.1f} ms" if x < 0.01 else f"{x * 1000:.0f} ms" if x < 1 else f"{x:.2f} s"


def engine_names(w) -> list[str]:
    """A workload's engines as results.json names them: from pandas, then native ("polars:native")."""
    return [*w.engines, *(f"{e}{NATIVE}" for e in w.native)]


def _label(engine: str) -> str:
    if engine == "kpikit" + NATIVE:
        return "kpikit (Arrow)"
    return engine.replace(NATIVE, " (native)")


def memory_bandwidth() -> float:
    """This machine's memory read bandwidth in bytes per second, as numpy sees it: the best of
    five runs of three ways of streaming a 512 MiB float64 array (a sum on one core, a dot
    product on BLAS's threads, a copy counting its read and its write)."""
    import numpy as np

    a = np.ones(2**26)
    b = np.empty_like(a)
    best = 0.0
    for f, moved in [(a.sum, a.nbytes), (lambda: a @ a, a.nbytes), (lambda: np.copyto(b, a), 2 * a.nbytes)]:
        f()
        for _ in range(5):
            t0 = time.perf_counter()
            f()
            best = max(best, moved / (time.perf_counter() - t0))
    return best


# --- running workers -----------------------------------------------------------------------


class WorkerFailed(Exception):
    """A worker that did not finish: `status` is "out of memory", "timed out" or "failed"."""

    def __init__(self, status: str, reason: str, stdout: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status, self.reason, self.stdout = status, reason, stdout


def _run_worker(args: list[str], threads: int | None, limits: argparse.Namespace) -> list[dict]:
    """Run benches/worker.py and return its JSON lines. The worker is watched: it is stopped
    when its RSS passes the limit or the machine runs low on memory (so the kernel's OOM killer
    never has to pick a process, which could be someone else's), or when it runs too long."""
    import psutil

    env = dict(os.environ)
    if threads is not None:
        for var in ("KPIKIT_MAX_THREADS", "POLARS_MAX_THREADS", "BENCH_THREADS", "RAYON_NUM_THREADS"):
            env[var] = str(threads)
    err_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"kpikit-bench-{os.getpid()}.err"
    with open(err_path, "w+") as err:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), *args], env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        watched = psutil.Process(proc.pid)
        limit = limits.max_rss_gib * 2**30
        start, peak, killed = time.monotonic(), 0, None
        # Poll memory while reading stdout on a thread (a full pipe would block the worker).
        import threading

        chunks: list[str] = []
        reader = threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        while proc.poll() is None:
            try:
                rss = watched.memory_info().rss
            except psutil.NoSuchProcess:
                break
            peak = max(peak, rss)
            avail = psutil.virtual_memory().available
            if rss > limit:
                killed = ("out of memory", f"RSS passed {limits.max_rss_gib:g} GiB, the limit set for one process")
            elif avail < 2**30:
                killed = (
                    "out of memory",
                    f"the machine had under 1 GiB available with this process at {rss / 2**30:.1f} GiB RSS",
                )
            elif time.monotonic() - start > limits.timeout:
                killed = ("timed out", f"still running after {limits.timeout:.0f} s")
            if killed:
                proc.kill()
                break
            time.sleep(0.1)
        proc.wait()
        reader.join()
        err.seek(0)
        stderr = err.read()
    err_path.unlink(missing_ok=True)
    stdout = "".join(chunks)
    if killed:
        raise WorkerFailed(*killed, stdout)
    if proc.returncode != 0:
        if "MemoryError" in stderr or "std::bad_alloc" in stderr or proc.returncode == -9:
            raise WorkerFailed("out of memory", f"the process ran out of memory at {peak / 2**30:.1f} GiB RSS", stdout)
        last = [line for line in stderr.strip().splitlines() if line.strip()][-1:] or [f"exit code {proc.returncode}"]
        raise WorkerFailed("failed", last[0][:300], stdout)
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def _check(wname: str, scale: float, limits: argparse.Namespace) -> tuple[dict | None, dict[str, dict]]:
    """Check every engine against kpikit. Returns the input's size (None when even kpikit could
    not run) and, per engine, either "same" or why it is left out. The worker prints a line per
    engine as it goes, so when it dies on one engine the engines after it are checked anew."""
    pending = [e for e in engine_names(WORKLOADS[wname]) if e != "kpikit"]
    size: dict | None = None
    verdicts: dict[str, dict] = {}
    while True:
        args = ["--workload", wname, "--scale", str(scale), "--check", "--engines", ",".join(pending)]
        try:
            lines, failure = _run_worker(args, None, limits), None
        except WorkerFailed as e:
            lines = [json.loads(x) for x in e.stdout.splitlines() if x.startswith("{")]
            failure = e
        for line in lines:
            if "rows" in line:
                size = line
            elif "status" in line:  # the engine raised (MemoryError included)
                verdicts[line["engine"]] = {"status": line["status"], "reason": line["reason"]}
            else:
                verdicts[line["engine"]] = (
                    {"status": "same"} if line["verdict"] == "same" else {"status": "differs", "reason": line["verdict"]}
                )
        pending = [e for e in pending if e not in verdicts]
        if failure is None:
            return size, verdicts
        if size is None:
            return None, {"kpikit": {"status": failure.status, "reason": failure.reason}}
        # The engine being checked when the worker died is the one that failed.
        verdicts[pending[0]] = {"status": failure.status, "reason": failure.reason}
        pending = pending[1:]
        if not pending:
            return size, verdicts


def _measure(
    wname: str, scale: float, threads: int | None, engines: list[str], repeat: int, limits: argparse.Namespace
) -> dict[str, dict]:
    out = {}
    for engine in engines:
        args = ["--workload", wname, "--scale", str(scale), "--engine", engine.removesuffix(NATIVE), "--repeat", str(repeat)]
        if engine.endswith(NATIVE):
            args += ["--mode", "native"]
        try:
            m = _run_worker(args, threads, limits)[-1]
            m["median"] = statistics.median(m["times"])
            if "convert_times" in m:
                m["convert_median"] = statistics.median(m["convert_times"])
            shown = f"median {_fmt_s(m['median'])}, working memory {m['working_mib']:.0f} MiB"
        except WorkerFailed as e:
            m = {"status": e.status, "reason": e.reason}
            shown = f"{e.status} ({e.reason})"
        out[engine] = m
        print(f"  {engine:<14} threads={threads or os.cpu_count()}: {shown}", flush=True)
    return out


# --- the results store ---------------------------------------------------------------------


def load_store(path: Path = STORE) -> list[dict]:
    """Every row kept, migrating the first format (one entry per workload, one time for all of
    its rows) to rows that each carry their workload, repeat count, version and time."""
    if not path.exists():
        return []
    data = json.loads(path.read_text())
    if data.get("format") == FORMAT:
        return list(data["rows"])
    rows = []
    for wname, entry in data.items():
        for r in entry["rows"]:
            rows.append(
                {"workload": wname, **r, "repeat": entry["repeat"], "version": entry["version"], "measured_at": entry["when"]}
            )
    return rows


def merge_rows(kept: list[dict], new: list[dict]) -> list[dict]:
    """`kept` with every row that `new` measured again replaced, keyed by (workload, scale,
    threads); rows of other scales, thread counts and workloads stay as they were."""

    def key(r: dict) -> tuple:
        return (r["workload"], float(r["scale"]), int(r["threads"]))

    fresh = {key(r): r for r in new}
    out = [r for r in kept if key(r) not in fresh] + list(fresh.values())
    order = {w: i for i, w in enumerate(WORKLOADS)}
    return sorted(out, key=lambda r: (order.get(r["workload"], len(order)), r["workload"], float(r["scale"]), -int(r["threads"])))


def save_store(rows: list[dict], path: Path = STORE) -> None:
    path.write_text(json.dumps({"format": FORMAT, "rows": rows}, indent=1))


# --- main ----------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--scales", help="explicit scales for every workload chosen (default: each workload's own three)")
    p.add_argument(
        "--levels", default="1,2,3", help="which of each workload's three scales to run: 1 ≈ 10⁶, 2 ≈ 10⁷, 3 ≈ 5×10⁷ events"
    )
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--engines", help="measure only these engines (e.g. kpikit,kpikit:native); the row keeps the others' figures")
    p.add_argument("--repeat-largest", type=int, help="repetitions at a workload's largest scale (default: --repeat)")
    p.add_argument("--single-thread", action="store_true", help="time every engine on one thread too (kpikit always is)")
    p.add_argument("--no-single-thread", action="store_true", help="time nothing on one thread")
    p.add_argument(
        "--max-rss-gib", type=float, default=18.0, help="stop a worker whose RSS passes this (recorded as out of memory)"
    )
    p.add_argument("--timeout", type=float, default=1800.0, help="stop a worker running longer than this many seconds")
    p.add_argument("--report", default=str(HERE / "REPORT.md"))
    p.add_argument("--report-only", action="store_true", help="rewrite the report and plots from results.json")
    p.add_argument("--store", default=str(STORE), help="the results file (default benches/results.json)")
    p.add_argument("--plots", default=str(HERE / "plots"), help="directory of the plots")
    p.add_argument(
        "--allow-debug", action="store_true", help="test the harness itself on a debug build (use another --store and --report)"
    )
    p.add_argument("--sweep", action="store_true", help="time kpikit over each analysis' options (workloads.SWEEPS) instead")
    p.add_argument("--rows", default="1e6,1e7", help="with --sweep: input rows, comma-separated")
    p.add_argument("--analyses", help="with --sweep: the analyses to sweep (default: all)")
    p.add_argument("--sweep-store", default=str(SWEEP_STORE), help="the sweep's results file (default benches/sweep.json)")
    a = p.parse_args()

    import kpikit
    from kpikit import _kpikit

    if not a.report_only and _kpikit.debug_build and not a.allow_debug:
        sys.exit("benches/run.py needs a release build of kpikit: run `make demo` (maturin develop --release) first")

    if a.sweep:
        _run_sweep(a)
        return

    store = Path(a.store)
    new: list[dict] = []
    bandwidth = memory_bandwidth() if not a.report_only else 0.0
    if bandwidth:
        print(f"memory read bandwidth (numpy: best of a sum, a dot product and a copy): {bandwidth / 1e9:.1f} GB/s", flush=True)
    levels = [int(x) for x in a.levels.split(",")]
    for wname in [] if a.report_only else a.workloads.split(","):
        w = WORKLOADS[wname]
        scales = [float(s) for s in a.scales.split(",")] if a.scales else [w.scales[i - 1] for i in levels]
        for scale in scales:
            repeat = a.repeat_largest if a.repeat_largest and scale == max(w.scales) else a.repeat
            size, verdicts = _check(wname, scale, a)
            if size is None:
                print(f"{wname} scale {scale:g}: kpikit itself did not run: {verdicts['kpikit']}", flush=True)
                continue
            left_out = {e: v for e, v in verdicts.items() if v["status"] != "same"}
            print(
                f"{wname} scale {scale:g}: {size['rows']:,} rows, {size['groups']} groups, check: {left_out or 'all same'}",
                flush=True,
            )
            checked = ["kpikit", *[e for e in engine_names(w)[1:] if verdicts.get(e, {}).get("status") == "same"]]
            only = a.engines.split(",") if a.engines else None
            modes: list[tuple[int | None, list[str]]] = [(None, checked)]
            if a.single_thread:
                modes.append((1, checked))
            elif not a.no_single_thread:
                modes.append((1, ["kpikit"]))
            for threads, engines in modes:
                engines = [e for e in engines if only is None or e in only]
                if not engines:
                    continue
                measured = _measure(wname, scale, threads, engines, repeat, a)
                # Engines left out by the check keep their reason in the row.
                measured.update({e: v for e, v in left_out.items() if threads is None})
                if only is not None:
                    # The other engines keep their figures from the row measured before.
                    kept = {(r["workload"], float(r["scale"]), int(r["threads"])): r for r in load_store(store)}
                    before = kept.get((wname, float(scale), threads or os.cpu_count()), {}).get("engines", {})
                    measured = {**{e: v for e, v in before.items() if e not in measured}, **measured}
                new.append(
                    {
                        "workload": wname,
                        "scale": scale,
                        "rows": size["rows"],
                        "threads": threads or os.cpu_count(),
                        "engines": measured,
                        "differs": {e: v["reason"] for e, v in left_out.items() if v["status"] == "differs"},
                        "repeat": repeat,
                        "version": kpikit.__version__,
                        "measured_at": _now(),
                        "bandwidth_gbs": bandwidth / 1e9,
                    }
                )
            # Saved after every scale: a run stopped midway keeps what it measured.
            save_store(merge_rows(load_store(store), new), store)

    rows = load_store(store)
    _write_report(Path(a.report), rows, load_sweep(Path(a.sweep_store)))
    _plot(rows, Path(a.plots))
    print(f"wrote {a.report}")


# --- report --------------------------------------------------------------------------------


def _median(e: dict, engine: str) -> float | None:
    return e.get(engine, {}).get("median")


def _level(w, scale: float) -> str:
    return LEVELS[list(w.scales).index(scale)] if scale in w.scales else "—"


def growth(rows: list[dict]) -> tuple[float, float, float] | None:
    """kpikit's (all-core) time ratio between the largest and smallest scale measured, divided
    by their row ratio (1.0 = time grows linearly with rows), and the same over the two
    largest scales, plus the row ratio. None with fewer than two scales."""
    pts = sorted((r["rows"], r["engines"]["kpikit"]["median"]) for r in rows if _median(r["engines"], "kpikit") is not None)
    if len(pts) < 2 or pts[0][0] == pts[-1][0]:
        return None
    (n0, t0), (n1, t1), (nz, tz) = pts[0], pts[-2], pts[-1]
    return (tz / t0) / (nz / n0), (tz / t1) / (nz / n1), nz / n0


def _write_report(path: Path, rows: list[dict], sweep: list[dict] | None = None) -> None:
    cores = os.cpu_count()
    by_workload: dict[str, list[dict]] = {}
    for r in rows:
        if r["workload"] in WORKLOADS:
            by_workload.setdefault(r["workload"], []).append(r)
    versions = sorted({r["version"] for r in rows})
    bandwidths = sorted({round(r["bandwidth_gbs"], 1) for r in rows if r.get("bandwidth_gbs")})
    lines = [
        "# kpikit benchmark report",
        "",
        f"Written {_now()} by `python benches/run.py` from benches/results.json (kpikit {', '.join(versions)}), "
        f"{cores} cores, each engine in a fresh process. Every engine is timed two ways: *from pandas* (the same pandas "
        "DataFrame for all; polars converts the columns it reads and DuckDB scans the frame inside the timed call) and "
        "*native* (the engine's own in-memory form loaded before timing: a polars DataFrame queried lazily, a DuckDB table "
        "made with CREATE TABLE AS, and for kpikit an Arrow table). Working memory is peak RSS minus RSS once the input "
        "is loaded (in the engine's own form for native runs). *Speed-up* is the fastest peer's median, either mode, ÷ "
        "kpikit's median from pandas; *memory ratio* is kpikit's working memory (from pandas) ÷ the leanest peer's, "
        "either mode. Every peer's result, both modes, was checked equal to kpikit's before timing. Each workload's three "
        "scales give about 10⁶, 10⁷ and 5×10⁷ events (the *level* column; the other tables in proportion, see each "
        "description for the rows); rows of other scales are kept with level —. *kpikit 1 thread* is kpikit with "
        f"`KPIKIT_MAX_THREADS=1`, *speed-up from threads* its time ÷ the all-core ({cores} cores) time. *Conversion* is "
        "the time kpikit takes to hand the pandas columns it reads to the core as Arrow (timed alone), as a share of "
        "its whole call. *Bytes read* are those columns' bytes in memory; *floor* is the time reading them once takes "
        "at this machine's memory bandwidth ("
        + (", ".join(f"{b:g}" for b in bandwidths) or "—")
        + " GB/s as each run measured it: the best of a numpy sum, dot product and copy over 512 MiB), and *× floor* kpikit's time ÷ that floor. *Growth* is "
        "kpikit's time ratio between the largest and the smallest scale divided by the row ratio (1.0 = time grows "
        "linearly with rows). A — is a figure not measured; *out of memory* and other failures give their reason below "
        "the table.",
        "",
        "## Summary at each workload's largest scale measured",
        "",
        "| workload | level | rows | kpikit | kpikit (Arrow) | fastest peer from pandas | fastest peer native | speed-up | "
        "kpikit memory ÷ leanest peer | conversion | bytes read | floor | × floor | kpikit 1 thread | growth (smallest → largest) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    sections: list[str] = []
    for wname, wrows in sorted(by_workload.items(), key=lambda kv: list(WORKLOADS).index(kv[0])):
        w = WORKLOADS[wname]
        full = sorted((r for r in wrows if r["threads"] == cores), key=lambda r: r["scale"])
        single = {r["scale"]: r for r in wrows if r["threads"] == 1}
        g = growth([r for r in full if r["scale"] in w.scales])
        if full:
            big = full[-1]
            e = big["engines"]
            speed, mem, _ = _ratios(e)
            one = _median(single.get(big["scale"], {}).get("engines", {}), "kpikit")
            conv, nbytes, floor, times_floor = _limits(big)
            lines.append(
                f"| {wname} | {_level(w, big['scale'])} | {big['rows']:,} | {_fmt_s(_median(e, 'kpikit'))} | "
                f"{_fmt_s(_median(e, 'kpikit' + NATIVE))} | {_fastest(e, native=False)} | {_fastest(e, native=True)} | "
                f"{speed} | {mem} | {conv} | {nbytes} | {floor} | {times_floor} | {_fmt_s(one)} | "
                + (f"{g[0]:.2f} (rows ×{g[2]:.0f}) |" if g else "— |")
            )
        sections += _workload_section(wname, w, full, single, g, wrows)
    lines += ["", *sections]
    if sweep:
        lines += _sweep_section(sweep)
    if NOTES.exists():
        lines += ["", NOTES.read_text()]
    path.write_text("\n".join(lines))


def _fastest(e: dict, native: bool) -> str:
    peers = [x for x in PEERS if x.endswith(NATIVE) == native and _median(e, x) is not None]
    if not peers:
        return "—"
    x = min(peers, key=lambda p: e[p]["median"])
    return f"{x.removesuffix(NATIVE)} {_fmt_s(e[x]['median'])}"


def _limits(row: dict) -> tuple[str, str, str, str]:
    """kpikit's conversion share, the bytes it reads, the time they take at memory bandwidth,
    and kpikit's time over that floor, as report cells."""
    k = row["engines"].get("kpikit", {})
    if "median" not in k:
        return "—", "—", "—", "—"
    conv = f"{k['convert_median'] / k['median']:.0%} ({_fmt_s(k['convert_median'])})" if "convert_median" in k else "—"
    if "input_bytes" not in k or not row.get("bandwidth_gbs"):
        return conv, "—", "—", "—"
    floor = k["input_bytes"] / (row["bandwidth_gbs"] * 1e9)
    mb = k["input_bytes"] / 1e6
    return conv, f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.2g} MB", _fmt_s(floor), f"{k['median'] / floor:.0f}×"


def _ratios(e: dict) -> tuple[str, str, str]:
    peers = [x for x in PEERS if _median(e, x) is not None]
    k = _median(e, "kpikit")
    if k is None or not peers:
        return "—", "—", "—"
    fastest = min(peers, key=lambda x: e[x]["median"])
    leanest = min(e[x]["working_mib"] for x in peers)
    mem = f"{e['kpikit']['working_mib'] / leanest:.2f}" if leanest > 0 else f"{e['kpikit']['working_mib']:.0f} MiB vs 0"
    return f"{e[fastest]['median'] / k:.1f}×", mem, f"{_label(fastest)} {_fmt_s(e[fastest]['median'])}"


def _cell(e: dict, scale: float, x: str, what: str, notes: list[str]) -> str:
    """Engine x's time or memory at one scale; a failed run shows its status and adds a note."""
    if x not in e:
        return "—"
    if "median" not in e[x]:
        notes.append(f"{_label(x)} at scale {scale:g}: {e[x]['status']} ({e[x].get('reason', '')[:200]})")
        return e[x]["status"]
    return _fmt_s(e[x]["median"]) if what == "time" else f"{e[x]['working_mib']:.0f} MiB"


def _workload_section(wname: str, w, full: list[dict], single: dict, g, wrows: list[dict]) -> list[str]:
    lines = [f"## {wname}: {w.description}", ""]
    scales = ", ".join(f"{s:g} ≈ {lvl} events" for s, lvl in zip(w.scales, LEVELS, strict=True))
    lines += [f"Scales: {scales}." + (f" {w.note}" if w.note else ""), ""]
    if g:
        lines += [
            f"Growth: {g[0]:.2f} from the smallest to the largest scale (rows ×{g[2]:.0f}), {g[1]:.2f} between the two largest.",
            "",
        ]
    stamps = {r["measured_at"] for r in wrows}
    repeats = {r["repeat"] for r in wrows}
    per_row = len(stamps) > 1
    if not per_row:
        lines += [f"Measured {stamps.pop()}, median of {'/'.join(str(x) for x in sorted(repeats))} runs.", ""]
    names = engine_names(w)
    head = (
        "| level | scale | rows | "
        + " | ".join(f"{_label(e)} time" for e in names)
        + " | kpikit 1 thread | speed-up from threads | "
        + " | ".join(f"{_label(e)} memory" for e in names)
        + " | speed-up vs fastest peer | memory vs leanest peer | conversion | bytes read | floor | × floor |"
        + (" measured at (runs) |" if per_row else "")
    )
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    notes: list[str] = []
    for r in full:
        e = r["engines"]
        speed, mem, _ = _ratios(e)
        one = _median(single.get(r["scale"], {}).get("engines", {}), "kpikit")
        k = _median(e, "kpikit")
        threads = f"{one / k:.2f}×" if one and k else "—"
        times = " | ".join(_cell(e, r["scale"], x, "time", notes) for x in names)
        mems = " | ".join(_cell(e, r["scale"], x, "memory", notes) if "median" in e.get(x, {}) else "—" for x in names)
        conv, nbytes, floor, times_floor = _limits(r)
        lines.append(
            f"| {_level(w, r['scale'])} | {r['scale']:g} | {r['rows']:,} | {times} | {_fmt_s(one)} | {threads} | {mems} | {speed} | {mem} | "
            f"{conv} | {nbytes} | {floor} | {times_floor} |" + (f" {r['measured_at']} ({r['repeat']}) |" if per_row else "")
        )
    lines.append("")
    if notes:
        lines += [f"- {n}" for n in dict.fromkeys(notes)] + [""]
    peers_single = [r for r in single.values() if any(x in r["engines"] for x in PEERS)]
    if peers_single:
        lines += [
            "One thread, every engine:",
            "",
            "| scale | rows | " + " | ".join(f"{_label(e)} time" for e in names) + " |",
            "|" + "---|" * (2 + len(names)),
        ]
        for r in sorted(peers_single, key=lambda r: r["scale"]):
            lines.append(
                f"| {r['scale']:g} | {r['rows']:,} | " + " | ".join(_fmt_s(_median(r["engines"], x)) for x in names) + " |"
            )
        lines.append("")
    return lines


def _sweep_section(sweep: list[dict]) -> list[str]:
    """The option sweep: per analysis and input size, each variant's median and its ratio to the
    analysis' first (plainest) variant, so a slow path shows as a ratio far above the others."""
    lines = [
        "## Option sweep (kpikit from pandas)",
        "",
        "`python benches/run.py --sweep --rows 1e6,1e7`: each analysis called with one option changed at a time "
        "(workloads.SWEEPS), on the same synthetic input, in one fresh process per analysis and size; median of the "
        "runs. *× base* is the variant's time ÷ the analysis' first variant's at the same size; *ns/row* its time per "
        "input row.",
        "",
    ]
    by = {}
    for r in sweep:
        by.setdefault(r["analysis"], []).append(r)
    for analysis, rs in by.items():
        sizes = sorted({r["rows"] for r in rs})
        variants = list(dict.fromkeys(r["variant"] for r in rs))
        cell = {(r["variant"], r["rows"]): r for r in rs}
        lines += [
            f"### {analysis}",
            "",
            "| variant | " + " | ".join(f"{n:,} rows | × base | ns/row" for n in sizes) + " |",
            "|---|" + "---|---|---|" * len(sizes),
        ]
        for v in variants:
            cells = []
            for n in sizes:
                r, base = cell.get((v, n)), cell.get((variants[0], n))
                if r is None or "median" not in r:
                    cells.append(f"{r['status'] if r else '—'} | — | —")
                    continue
                ratio = f"{r['median'] / base['median']:.2f}" if base and "median" in base else "—"
                cells.append(f"{_fmt_s(r['median'])} | {ratio} | {r['median'] / n * 1e9:.0f}")
            lines.append(f"| {v} | " + " | ".join(cells) + " |")
        measured = sorted({r["measured_at"] for r in rs})
        lines += ["", f"Measured {measured[0]}" + (f" – {measured[-1]}" if len(measured) > 1 else "") + ".", ""]
    return lines


def load_sweep(path: Path = SWEEP_STORE) -> list[dict]:
    return json.loads(path.read_text())["rows"] if path.exists() else []


def merge_sweep(kept: list[dict], new: list[dict]) -> list[dict]:
    """`kept` with every (analysis, variant, rows) that `new` measured again replaced."""

    def key(r: dict) -> tuple:
        return (r["analysis"], r["variant"], int(r["rows"]))

    fresh = {key(r): r for r in new}
    return [r for r in kept if key(r) not in fresh] + list(fresh.values())


def _run_sweep(a: argparse.Namespace) -> None:
    from workloads import SWEEPS

    import kpikit

    store = Path(a.sweep_store)
    sizes = [int(float(x)) for x in a.rows.split(",")]
    new: list[dict] = []
    for analysis in a.analyses.split(",") if a.analyses else list(SWEEPS):
        for n in sizes:
            args = ["--sweep", analysis, "--rows", str(n), "--repeat", str(a.repeat)]
            try:
                lines = _run_worker(args, None, a)
            except WorkerFailed as e:
                lines = [json.loads(x) for x in e.stdout.splitlines() if x.startswith("{")]
                print(f"{analysis} {n:,} rows: {e.status} ({e.reason})", flush=True)
            for m in lines:
                row = {
                    "analysis": analysis,
                    "rows": n,
                    "variant": m["variant"],
                    "version": kpikit.__version__,
                    "measured_at": _now(),
                    "repeat": a.repeat,
                }
                if "times" in m:
                    row |= {"times": m["times"], "median": statistics.median(m["times"])}
                    print(f"{analysis:<16} {n:>11,} rows  {m['variant']:<40} {_fmt_s(row['median'])}", flush=True)
                else:
                    row |= {"status": m["status"], "reason": m.get("reason", "")}
                    print(f"{analysis:<16} {n:>11,} rows  {m['variant']:<40} {m['status']}: {m.get('reason', '')}", flush=True)
                new.append(row)
            store.write_text(json.dumps({"format": 1, "rows": merge_sweep(load_sweep(store), new)}, indent=1))
    _write_report(Path(a.report), load_store(Path(a.store)), load_sweep(store))
    print(f"wrote {store} and {a.report}")


def _plot(rows: list[dict], where: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    where.mkdir(exist_ok=True)
    cores = os.cpu_count()
    for wname, w in WORKLOADS.items():
        wrows = sorted((r for r in rows if r["workload"] == wname), key=lambda r: r["rows"])
        full = [r for r in wrows if r["threads"] == cores]
        if not full:
            continue
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        for engine in engine_names(w):
            pts = [(r["rows"], r["engines"][engine]["median"]) for r in full if _median(r["engines"], engine) is not None]
            if pts:
                ax.plot(
                    *zip(*pts, strict=True), marker="o", label=_label(engine), linestyle="--" if engine.endswith(NATIVE) else "-"
                )
        one = [
            (r["rows"], r["engines"]["kpikit"]["median"])
            for r in wrows
            if r["threads"] == 1 and _median(r["engines"], "kpikit") is not None
        ]
        if one:
            ax.plot(*zip(*one, strict=True), marker=".", linestyle=":", color="grey", label="kpikit 1 thread")
        kp = [(r["rows"], r["engines"]["kpikit"]["median"]) for r in full if _median(r["engines"], "kpikit") is not None]
        if kp:
            (n0, t0), n1 = kp[0], max(r["rows"] for r in full)
            ax.plot([n0, n1], [t0, t0 * n1 / n0], linestyle="--", color="black", linewidth=0.8, label="linear growth from kpikit")
        if not ax.lines:  # nothing measured successfully
            plt.close(fig)
            continue
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("input rows")
        ax.set_ylabel("median time (s)")
        ax.set_title(f"{wname}: time against rows ({cores} cores)")
        ax.legend(fontsize="small")
        fig.tight_layout()
        fig.savefig(where / f"{wname}.png", dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main()
