"""kpikit's CLV pipeline against the `lifetimes` package (0.11.3) on the same synthetic data.

lifetimes pins old dependencies and is archived, so it runs in its own environment; this script
runs in either. Steps (each timed in the process that runs it):

    python benches/clv_vs_lifetimes.py make --customers 1000000 --out /tmp/clv.npz
    .venv/bin/python benches/clv_vs_lifetimes.py run kpikit --data /tmp/clv.npz --out /tmp/k.json
    /path/to/lifetimes-venv/bin/python benches/clv_vs_lifetimes.py run lifetimes \\
        --data /tmp/clv.npz --out /tmp/l.json
    python benches/clv_vs_lifetimes.py compare /tmp/k.json /tmp/l.json

`make` simulates a BG/NBD transaction log (numpy only): customers arrive uniformly over the
first 12 weeks, buy at rate λ ~ Gamma(r, α) per day while active and drop out after each
purchase with probability p ~ Beta(a, b) (CDNOW-like parameters, days). Amounts are
Gamma-distributed per customer. `run` times rfm_summary (daily), the BG/NBD fit, the
Gamma-Gamma fit and 12-month CLV, and saves the results so `compare` can check that both
engines agree before quoting the speed-up.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

START = np.datetime64("2024-01-01T00:00:00", "us")
DAYS = 7 * 39  # observation length


def make(customers: int, seed: int, out: str) -> None:
    rng = np.random.default_rng(seed)
    r, alpha, a, b = 0.243, 4.414 * 7, 0.793, 2.426
    lam = rng.gamma(r, 1.0 / alpha, customers)
    p = rng.beta(a, b, customers)
    first = rng.uniform(0, 7 * 12, customers)
    spend = rng.gamma(6.0, 4.0, customers)  # customer's mean spend scale
    ids, times = [np.arange(customers)], [first]
    t = first.copy()
    active = np.arange(customers)
    while active.size:
        # Next purchase after an exponential gap (if before the end of observation); after a
        # repeat purchase the customer drops out with probability p (not after the first).
        nxt = t[active] + rng.exponential(1.0, active.size) / lam[active]
        ok = nxt < DAYS
        active, nxt = active[ok], nxt[ok]
        t[active] = nxt
        ids.append(active)
        times.append(nxt)
        active = active[rng.random(active.size) >= p[active]]
    cid = np.concatenate(ids)
    ts = np.concatenate(times)
    order = rng.permutation(cid.size)  # a log in no particular order
    cid, ts = cid[order], ts[order]
    amount = np.round(rng.gamma(3.0, 1.0 / 3.0, cid.size) * spend[cid], 2) + 0.01
    micros = START + (ts * 86_400e6).astype("int64").astype("timedelta64[us]")
    np.savez(out, customer=cid, time=micros.astype("int64"), amount=amount)
    print(f"{customers} customers, {cid.size} transactions -> {out}")


# The 2,357 CDNOW customers of Fader, Hardie & Lee (2005), as shipped with lifetimes 0.11.3.
CDNOW = Path(__file__).resolve().parent.parent / "tests" / "data" / "lifetimes" / "cdnow_customers_summary.csv"


def _timed_median(results: dict[str, float], name: str, n: int, f: Any) -> None:
    """The median of n runs of `f` (a fit on 2,357 customers takes milliseconds)."""
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    results[name] = sorted(times)[n // 2]
    print(f"{name}: {results[name]:.4f} s", flush=True)


def _timed(results: dict[str, float], name: str, f: Any) -> Any:
    t0 = time.perf_counter()
    value = f()
    results[name] = time.perf_counter() - t0
    print(f"{name}: {results[name]:.2f} s", flush=True)
    return value


def run(engine: str, data: str, out: str, rfm_only: bool = False) -> None:
    import pandas as pd

    z = np.load(data)
    log = pd.DataFrame(
        {
            "customer": z["customer"],
            "time": pd.to_datetime(z["time"], unit="us"),
            "amount": z["amount"],
        }
    )
    end = pd.Timestamp(START + np.timedelta64(DAYS, "D"))
    secs: dict[str, float] = {}
    if engine == "kpikit":
        import kpikit

        rfm = _timed(
            secs,
            "rfm_summary",
            lambda: kpikit.rfm_summary(
                log, customer="customer", time="time", amount="amount", observation_end=end
            ),
        )
        if rfm_only:
            return _save(out, engine, secs, rfm, {}, None)
        cdnow = pd.read_csv(CDNOW)
        _timed_median(secs, "BetaGeo fit on CDNOW (median of 5)", 5, lambda: kpikit.clv.BetaGeo().fit(cdnow))
        bg = _timed(secs, "BetaGeo fit", lambda: kpikit.clv.BetaGeo().fit(rfm))
        repeat = rfm[rfm["frequency"] > 0]
        gg = _timed(secs, "GammaGamma fit", lambda: kpikit.clv.GammaGamma().fit(repeat))
        clv = _timed(
            secs,
            "CLV 12 months",
            lambda: kpikit.clv.customer_lifetime_value(rfm, transaction_model=bg, spend_model=gg, months=12, freq="day"),
        )
        params = {**bg.params_, **{f"gg_{k}": v for k, v in gg.params_.items()}}
    else:
        from lifetimes import BetaGeoFitter, GammaGammaFitter
        from lifetimes.utils import summary_data_from_transaction_data

        rfm = _timed(
            secs,
            "rfm_summary",
            lambda: summary_data_from_transaction_data(
                log, "customer", "time", monetary_value_col="amount", observation_period_end=end
            ),
        )
        rfm = rfm.reset_index()
        if rfm_only:
            return _save(out, engine, secs, rfm, {}, None)
        cdnow = pd.read_csv(CDNOW)
        _timed_median(
            secs,
            "BetaGeo fit on CDNOW (median of 5)",
            5,
            lambda: BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"]),
        )
        bg = _timed(
            secs,
            "BetaGeo fit",
            lambda: BetaGeoFitter().fit(rfm["frequency"], rfm["recency"], rfm["T"]),
        )
        repeat = rfm[rfm["frequency"] > 0]
        gg = _timed(
            secs,
            "GammaGamma fit",
            lambda: GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"]),
        )
        clv = _timed(
            secs,
            "CLV 12 months",
            lambda: gg.customer_lifetime_value(
                bg, rfm["frequency"], rfm["recency"], rfm["T"], rfm["monetary_value"], time=12, freq="D"
            ),
        )
        params = {**bg.params_.to_dict(), **{f"gg_{k}": v for k, v in gg.params_.items()}}
    _save(out, engine, secs, rfm, params, clv)


def _save(out: str, engine: str, secs: dict[str, float], rfm: Any, params: dict[str, Any], clv: Any) -> None:
    result = {
        "engine": engine,
        "seconds": secs,
        "params": {k: float(v) for k, v in params.items()},
        "customers": len(rfm),
        "rfm_sums": {c: float(rfm[c].sum()) for c in ("frequency", "recency", "T", "monetary_value")},
        "clv_sum": float("nan") if clv is None else float(np.asarray(clv, dtype=float).sum()),
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1)


def compare(left: str, right: str) -> None:
    a, b = (json.loads(Path(p).read_text()) for p in (left, right))
    print(f"customers: {a['customers']} vs {b['customers']}")
    for k in a["rfm_sums"]:
        print(f"sum {k}: {a['rfm_sums'][k]:.6g} vs {b['rfm_sums'][k]:.6g}")
    for k in a["params"]:
        print(f"{k}: {a['params'][k]:.5g} vs {b['params'].get(k, float('nan')):.5g}")
    print(f"sum CLV: {a['clv_sum']:.6g} vs {b['clv_sum']:.6g}")
    print(f"| step | {a['engine']} s | {b['engine']} s | speed-up |")
    print("|---|---|---|---|")
    for k, v in a["seconds"].items():
        w = b["seconds"][k]
        print(f"| {k} | {v:.3g} | {w:.3g} | {w / v:.0f}x |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--customers", type=int, default=1_000_000)
    m.add_argument("--seed", type=int, default=5)
    m.add_argument("--out", required=True)
    r = sub.add_parser("run")
    r.add_argument("engine", choices=["kpikit", "lifetimes"])
    r.add_argument("--data", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--rfm-only", action="store_true", help="time rfm_summary only")
    c = sub.add_parser("compare")
    c.add_argument("left")
    c.add_argument("right")
    args = ap.parse_args()
    if args.cmd == "make":
        make(args.customers, args.seed, args.out)
    elif args.cmd == "run":
        run(args.engine, args.data, args.out, args.rfm_only)
    else:
        compare(args.left, args.right)


if __name__ == "__main__":
    main()
