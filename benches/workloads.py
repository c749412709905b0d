"""Benchmark workloads: one analysis written for kpikit and, as fast as each allows, for pandas,
polars and DuckDB. Every engine starts from the same pandas DataFrame already in memory, and
`normalise` turns each result into the same plain pandas frame so the numbers can be checked
equal before anything is timed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    table: Callable[[Any, float], pd.DataFrame]  # (demo company, scale) -> input table
    engines: dict[str, Callable[[pd.DataFrame], Any]]
    normalise: Callable[[str, Any], pd.DataFrame]
    keys: list[str]
    # The demo company the input is drawn from: the benchmark scale itself, or a fixed scale
    # for workloads that resample a small company up to the benchmark's size.
    company_scale: Callable[[float], float] = lambda scale: scale
    # The scales whose inputs correspond to about 10⁶, 10⁷ and 5×10⁷ events of the demo company
    # (the other tables in proportion): what `python benches/run.py` runs by default.
    scales: tuple[float, float, float] = (1, 10, 50)
    # Anything the report should say about the workload's scales.
    note: str = ""


# --- NPS per plan per month -----------------------------------------------------------------


def _nps_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.nps(df, score="score", time="time", freq="month", by="plan")


def _nps_pandas(df: pd.DataFrame) -> pd.DataFrame:
    # datetime64[M] truncation is the fastest month bucketing pandas offers.
    utc = df["time"].dt.tz_convert(None).to_numpy()
    period = utc.astype("datetime64[M]").astype("datetime64[ns]")
    score = df["score"].to_numpy()
    frame = pd.DataFrame(
        {
            "plan": df["plan"],
            "period": period,
            "promoters": score >= 9,
            "passives": (score >= 7) & (score <= 8),
            "detractors": score <= 6,
        }
    )
    out = frame.groupby(["plan", "period"], observed=True, sort=False).agg(
        responses=("promoters", "size"),
        promoters=("promoters", "sum"),
        passives=("passives", "sum"),
        detractors=("detractors", "sum"),
    )
    out["nps"] = 100.0 * (out["promoters"] - out["detractors"]) / out["responses"]
    return out.reset_index()


def _nps_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    score = pl.col("score")
    return (
        pl.from_pandas(df[["plan", "time", "score"]])
        .group_by("plan", pl.col("time").dt.truncate("1mo").alias("period"))
        .agg(
            responses=pl.len().cast(pl.Int64),
            # Counts are unsigned 32-bit in polars: widen before subtracting.
            promoters=(score >= 9).sum().cast(pl.Int64),
            passives=score.is_between(7, 8).sum().cast(pl.Int64),
            detractors=(score <= 6).sum().cast(pl.Int64),
        )
        .with_columns(nps=100.0 * (pl.col("promoters") - pl.col("detractors")) / pl.col("responses"))
    )


def _nps_duckdb(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    con.register("answers", df)
    result = con.sql(
        """
        SELECT plan, date_trunc('month', time) AS period, count(*) AS responses,
               count(*) FILTER (score >= 9) AS promoters,
               count(*) FILTER (score BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (score <= 6) AS detractors,
               100.0 * (promoters - detractors) / responses AS nps
        FROM answers GROUP BY ALL
        """
    ).arrow()
    # Newer DuckDB returns a lazy reader: materialise it inside the timed call.
    return result.read_all() if hasattr(result, "read_all") else result


def _nps_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result[["plan", "period", "responses", "promoters", "passives", "detractors", "nps"]].copy()
    out = out[out["responses"] > 0]  # kpikit also lists empty periods; peers do not
    out["plan"] = out["plan"].astype(str)
    period = pd.to_datetime(out["period"])
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_convert(None)
    out["period"] = period.astype("datetime64[ns]")
    for c in ["responses", "promoters", "passives", "detractors"]:
        out[c] = out[c].astype(np.int64)
    out["nps"] = out["nps"].astype(float)
    return out.sort_values(["plan", "period"]).reset_index(drop=True)


NPS = Workload(
    name="nps",
    description="NPS per plan per month (responses, promoters, passives, detractors, nps)",
    table=lambda company, scale: company.responses,
    engines={"kpikit": _nps_kpikit, "pandas": _nps_pandas, "polars": _nps_polars, "duckdb": _nps_duckdb},
    normalise=_nps_normalise,
    keys=["plan", "period"],
    note="A small-data workload: the demo company's raw NPS answers at that scale (1,201 rows at scale 1), "
    "kept beside nps_large, which is the same analysis on 100,000 × scale rows.",
)



def _resampled_responses(company: Any, rows: int) -> pd.DataFrame:
    """The demo company's NPS answers drawn with replacement up to `rows` (fixed seed), each
    moved by up to a day, so the score mix per plan and month stays the company's."""
    src = company.responses
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(src), rows)
    out = src.iloc[picks].reset_index(drop=True)
    out["time"] = out["time"] + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    return out


NPS_LARGE = Workload(
    name="nps_large",
    description="NPS per plan per month on the demo's answers resampled to 100,000 × scale rows (5 million at scale 50)",
    table=lambda company, scale: _resampled_responses(company, int(100_000 * scale)),
    engines=NPS.engines,
    normalise=_nps_normalise,
    keys=["plan", "period"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS: dict[str, Workload] = {w.name: w for w in [NPS, NPS_LARGE]}


# --- MRR movements per month from customer-month snapshots --------------------------------------

_MOVE_MONEY = ["starting_mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr", "ending_mrr"]
_MOVE_COUNTS = ["new_customers", "expanded_customers", "contracted_customers", "churned_customers", "reactivated_customers", "ending_customers"]


def _resampled_subscriptions(company: Any, rows: int) -> pd.DataFrame:
    """The demo company's customer-month MRR snapshots repeated with new customer ids up to
    about `rows` rows; each copy of a customer gets its own price factor (0.5–1.5, whole cents)
    so the copies do not move in lockstep. Ordered by copy then customer, like an export."""
    src = company.subscriptions[["customer_id", "month", "mrr", "plan", "region"]]
    copies = max(1, round(rows / len(src)))
    rng = np.random.default_rng(0)
    codes, uniques = pd.factorize(src["customer_id"])
    factor = rng.uniform(0.5, 1.5, (copies, len(uniques)))
    parts = []
    for k in range(copies):
        part = src.copy()
        part["customer_id"] = uniques[codes] + f"-{k:04d}"
        part["mrr"] = np.round(src["mrr"].to_numpy() * factor[k, codes], 2)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _moves_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.mrr_movements(df, customer="customer_id", period="month", mrr="mrr", output="arrow")


def _moves_pandas(df: pd.DataFrame) -> pd.DataFrame:
    # Customer-month levels in cents; each level meets the previous month's by an outer merge on
    # (customer, month index), which also yields the month after a customer's last row (churn).
    month = df["month"].to_numpy().astype("datetime64[M]").astype(np.int64)
    cust = pd.factorize(df["customer_id"])[0]
    lv = (
        pd.DataFrame({"c": cust, "m": month, "v": np.round(df["mrr"].to_numpy() * 100).astype(np.int64)})
        .groupby(["c", "m"], sort=False)["v"].sum().reset_index()
    )
    horizon = lv["m"].max()
    first = lv.groupby("c")["m"].transform("min")
    lv["first"] = first
    prev = lv.assign(m=lv["m"] + 1).rename(columns={"v": "s"})
    both = lv.merge(prev[["c", "m", "s"]], on=["c", "m"], how="outer")
    both = both[both["m"] <= horizon]
    e = both["v"].fillna(0).to_numpy(np.int64)
    s = both["s"].fillna(0).to_numpy(np.int64)
    firsts = both["first"].to_numpy()
    m = both["m"].to_numpy()
    starting = (s == 0) & (e > 0)
    is_new = starting & (m == firsts)
    react = starting & ~is_new
    d = e - s
    out = pd.DataFrame(
        {
            "m": m,
            "starting_mrr": s,
            "new_mrr": np.where(is_new, e, 0),
            "expansion_mrr": np.where((s > 0) & (d > 0), d, 0),
            "contraction_mrr": np.where((s > 0) & (e > 0) & (d < 0), -d, 0),
            "churned_mrr": np.where((s > 0) & (e == 0), s, 0),
            "reactivation_mrr": np.where(react, e, 0),
            "ending_mrr": e,
            "new_customers": is_new,
            "expanded_customers": (s > 0) & (d > 0),
            "contracted_customers": (s > 0) & (e > 0) & (d < 0),
            "churned_customers": (s > 0) & (e == 0),
            "reactivated_customers": react,
            "ending_customers": e > 0,
        }
    ).groupby("m").sum()
    out.index = out.index.to_numpy().astype("datetime64[M]")
    return out.rename_axis("period").reset_index()


def _moves_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    lv = (
        pl.from_pandas(df[["customer_id", "month", "mrr"]])
        .lazy()
        .select(
            c=pl.col("customer_id"),
            m=pl.col("month").dt.year() * 12 + pl.col("month").dt.month() - 1,
            v=(pl.col("mrr") * 100).round().cast(pl.Int64),
        )
        .group_by("c", "m")
        .agg(pl.col("v").sum())
        .with_columns(first=pl.col("m").min().over("c"))
        .collect()
    )
    horizon = lv["m"].max()
    prev = lv.select("c", pl.col("m") + 1, s=pl.col("v"), pfirst=pl.col("first"))
    e, s = pl.col("v").fill_null(0), pl.col("s").fill_null(0)
    first = pl.coalesce("first", "pfirst")
    starting = (s == 0) & (e > 0)
    is_new = starting & (pl.col("m") == first)
    react = starting & (pl.col("m") != first)
    d = e - s
    return (
        lv.lazy()
        .join(prev.lazy(), on=["c", "m"], how="full", coalesce=True)
        .filter(pl.col("m") <= horizon)
        .group_by("m")
        .agg(
            starting_mrr=s.sum(),
            new_mrr=pl.when(is_new).then(e).otherwise(0).sum(),
            expansion_mrr=pl.when((s > 0) & (d > 0)).then(d).otherwise(0).sum(),
            contraction_mrr=pl.when((s > 0) & (e > 0) & (d < 0)).then(-d).otherwise(0).sum(),
            churned_mrr=pl.when((s > 0) & (e == 0)).then(s).otherwise(0).sum(),
            reactivation_mrr=pl.when(react).then(e).otherwise(0).sum(),
            ending_mrr=e.sum(),
            new_customers=is_new.sum(),
            expanded_customers=((s > 0) & (d > 0)).sum(),
            contracted_customers=((s > 0) & (e > 0) & (d < 0)).sum(),
            churned_customers=((s > 0) & (e == 0)).sum(),
            reactivated_customers=react.sum(),
            ending_customers=(e > 0).sum(),
        )
        .collect()
    )


def _moves_duckdb(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads TO {os.cpu_count() if not os.environ.get('KPIKIT_MAX_THREADS') else os.environ['KPIKIT_MAX_THREADS']}")
    con.register("subs", df)
    result = con.sql(
        """
        WITH lv AS (
            SELECT customer_id AS c, year(month) * 12 + month(month) - 1 AS m,
                   SUM(CAST(round(mrr * 100) AS BIGINT)) AS v
            FROM subs GROUP BY ALL
        ), lvf AS (
            SELECT *, MIN(m) OVER (PARTITION BY c) AS first FROM lv
        ), both_ AS (
            SELECT COALESCE(cur.c, prev.c) AS c, COALESCE(cur.m, prev.m + 1) AS m,
                   COALESCE(cur.v, 0) AS e, COALESCE(prev.v, 0) AS s,
                   COALESCE(cur.first, prev.first) AS first
            FROM lvf cur FULL OUTER JOIN lvf prev ON cur.c = prev.c AND cur.m = prev.m + 1
        )
        SELECT m,
            SUM(s) AS starting_mrr,
            SUM(CASE WHEN s = 0 AND e > 0 AND m = first THEN e ELSE 0 END) AS new_mrr,
            SUM(CASE WHEN s > 0 AND e > s THEN e - s ELSE 0 END) AS expansion_mrr,
            SUM(CASE WHEN s > 0 AND e > 0 AND e < s THEN s - e ELSE 0 END) AS contraction_mrr,
            SUM(CASE WHEN s > 0 AND e = 0 THEN s ELSE 0 END) AS churned_mrr,
            SUM(CASE WHEN s = 0 AND e > 0 AND m > first THEN e ELSE 0 END) AS reactivation_mrr,
            SUM(e) AS ending_mrr,
            COUNT(*) FILTER (WHERE s = 0 AND e > 0 AND m = first) AS new_customers,
            COUNT(*) FILTER (WHERE s > 0 AND e > s) AS expanded_customers,
            COUNT(*) FILTER (WHERE s > 0 AND e > 0 AND e < s) AS contracted_customers,
            COUNT(*) FILTER (WHERE s > 0 AND e = 0) AS churned_customers,
            COUNT(*) FILTER (WHERE s = 0 AND e > 0 AND m > first) AS reactivated_customers,
            COUNT(*) FILTER (WHERE e > 0) AS ending_customers
        FROM both_ WHERE m <= (SELECT MAX(m) FROM lv) GROUP BY m
        """
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _moves_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result.copy()
    if engine in ("polars", "duckdb"):
        out["period"] = pd.to_datetime(
            {"year": out["m"] // 12, "month": out["m"] % 12 + 1, "day": 1}
        )
    out["period"] = pd.to_datetime(out["period"]).astype("datetime64[ns]")
    scale = 100 if engine == "kpikit" else 1
    for c in _MOVE_MONEY:
        out[c] = np.round(out[c].astype(float) * scale).astype(np.int64)
    for c in _MOVE_COUNTS:
        out[c] = out[c].astype(np.int64)
    return out[["period", *_MOVE_MONEY, *_MOVE_COUNTS]].sort_values("period").reset_index(drop=True)


MRR_MOVEMENTS = Workload(
    name="mrr_movements",
    description="MRR movements per month (7 money columns, 6 customer counts) from the demo's customer-month snapshots repeated to 100,000 × scale rows (5 million at scale 50)",
    table=lambda company, scale: _resampled_subscriptions(company, int(100_000 * scale)),
    engines={"kpikit": _moves_kpikit, "pandas": _moves_pandas, "polars": _moves_polars, "duckdb": _moves_duckdb},
    normalise=_moves_normalise,
    keys=["period"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS[MRR_MOVEMENTS.name] = MRR_MOVEMENTS


# --- Deal metrics per owner per quarter ----------------------------------------------------

_DAY_US = 86_400_000_000.0


def _deals_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.deal_metrics(df, rep="owner", created="created", closed="closed", amount="amount", won="won", freq="quarter")


def _deals_pandas(df: pd.DataFrame) -> pd.DataFrame:
    closed = df[df["closed"].notna()]
    close_us = closed["closed"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
    created_us = closed["created"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
    months = close_us.astype("datetime64[M]").astype(np.int64)
    period = (months - months % 3).astype("datetime64[M]").astype("datetime64[ns]")
    won = closed["won"].to_numpy(dtype=bool)
    frame = pd.DataFrame({
        "owner": closed["owner"].to_numpy(),
        "period": period,
        "won": won,
        "won_amount": np.where(won, closed["amount"].to_numpy(), np.nan),
        "won_cycle": np.where(won, (close_us - created_us).astype(np.int64) / _DAY_US, np.nan),
    })
    out = frame.groupby(["owner", "period"], sort=False).agg(
        deals_closed=("won", "size"),
        deals_won=("won", "sum"),
        avg_deal_size=("won_amount", "mean"),
        sales_cycle_days_median=("won_cycle", "median"),
    )
    out["win_rate"] = out["deals_won"] / out["deals_closed"]
    return out.reset_index()


def _deals_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    won = pl.col("won")
    cycle = (pl.col("closed") - pl.col("created")).dt.total_microseconds() / _DAY_US
    return (
        pl.from_pandas(df[["owner", "created", "closed", "amount", "won"]])
        .filter(pl.col("closed").is_not_null())
        .group_by("owner", pl.col("closed").dt.truncate("1q").alias("period"))
        .agg(
            deals_closed=pl.len().cast(pl.Int64),
            deals_won=won.sum().cast(pl.Int64),
            avg_deal_size=pl.col("amount").filter(won).mean(),
            sales_cycle_days_median=cycle.filter(won).median(),
        )
        .with_columns(win_rate=pl.col("deals_won") / pl.col("deals_closed"))
    )


def _deals_duckdb(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    con.register("deals", df)
    result = con.sql(
        f"""
        SELECT owner, date_trunc('quarter', closed) AS period, count(*) AS deals_closed,
               count(*) FILTER (won) AS deals_won, deals_won / deals_closed AS win_rate,
               avg(amount) FILTER (won) AS avg_deal_size,
               median((epoch_us(closed) - epoch_us(created)) / {_DAY_US}) FILTER (won) AS sales_cycle_days_median
        FROM deals WHERE closed IS NOT NULL GROUP BY ALL
        """
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _deals_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    cols = ["owner", "period", "deals_closed", "deals_won", "win_rate", "avg_deal_size", "sales_cycle_days_median"]
    out = result[cols].copy()
    out = out[out["deals_closed"] > 0]  # kpikit also lists periods without closed deals
    out["owner"] = out["owner"].astype(str)
    period = pd.to_datetime(out["period"])
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_convert(None)
    out["period"] = period.astype("datetime64[ns]")
    for c in ["deals_closed", "deals_won"]:
        out[c] = out[c].astype(np.int64)
    for c in cols[4:]:
        out[c] = out[c].astype(float)
    return out.sort_values(["owner", "period"]).reset_index(drop=True)


def _resampled_deals(company: Any, rows: int) -> pd.DataFrame:
    """The demo company's deals drawn with replacement up to `rows` (fixed seed), created and
    closed moved together by up to a day, so win rates, sizes and cycles stay the company's."""
    src = company.deals
    rng = np.random.default_rng(0)
    out = src.iloc[rng.integers(0, len(src), rows)].reset_index(drop=True)
    shift = pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    out["created"] = out["created"] + shift
    out["closed"] = out["closed"] + shift
    out["won"] = out["won"].astype("boolean")
    return out[["owner", "created", "closed", "amount", "won"]]


DEALS_LARGE = Workload(
    name="deal_metrics",
    description="deal_metrics per owner per quarter (win rate, average won amount, median cycle days) on the demo's deals resampled to 50,000 × scale rows (2.5 million at scale 50)",
    table=lambda company, scale: _resampled_deals(company, int(50_000 * scale)),
    engines={"kpikit": _deals_kpikit, "pandas": _deals_pandas, "polars": _deals_polars, "duckdb": _deals_duckdb},
    normalise=_deals_normalise,
    keys=["owner", "period"],
    company_scale=lambda scale: 1.0,
)
WORKLOADS[DEALS_LARGE.name] = DEALS_LARGE


# --- Funnel over the lead stages, per channel (funnel_from_stages) ---------------------------

STAGES = ["visited_at", "signed_up_at", "pql_at", "customer_at"]
FUNNEL_WINDOW_DAYS = 90
US_PER_DAY = 86_400_000_000


def _funnel_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.funnel_from_stages(df, stages=STAGES, window=f"{FUNNEL_WINDOW_DAYS}d", by="channel")


def _funnel_pandas(df: pd.DataFrame) -> pd.DataFrame:
    # Microseconds since the epoch per stage (NaT → missing), then the prefix rule:
    # stage k counts when stages 1…k are present, in order, and k is within the window of stage 1.
    window = FUNNEL_WINDOW_DAYS * US_PER_DAY
    vals, ok = [], []
    for s in STAGES:
        a = df[s].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
        ok.append(~np.isnat(a))
        vals.append(a.view("int64"))
    reached = [ok[0]]
    for k in range(1, len(STAGES)):
        reached.append(reached[k - 1] & ok[k] & (vals[k] >= vals[k - 1]) & (vals[k] - vals[0] <= window))
    cols: dict[str, Any] = {"channel": df["channel"]}
    for k in range(len(STAGES)):
        cols[f"reached_{k}"] = reached[k]
    for k in range(1, len(STAGES)):
        cols[f"d_{k}"] = np.where(reached[k], (vals[k] - vals[k - 1]) / US_PER_DAY, np.nan)
    g = pd.DataFrame(cols).groupby("channel", observed=True, sort=False)
    d = [f"d_{k}" for k in range(1, len(STAGES))]
    out = g[[f"reached_{k}" for k in range(len(STAGES))]].sum()
    step = {f"d_{k}": str(k) for k in range(1, len(STAGES))}
    for name, agg in [("mean_", g[d].mean()), ("median_", g[d].median()), ("p90_", g[d].quantile(0.9))]:
        out = out.join(agg.rename(columns=step).add_prefix(name))
    for k in range(1, len(STAGES)):
        out[f"from_first_{k}"] = out[f"reached_{k}"] / out["reached_0"]
        out[f"from_prev_{k}"] = out[f"reached_{k}"] / out[f"reached_{k - 1}"]
    return out.reset_index()


def _funnel_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    window = pl.duration(days=FUNNEL_WINDOW_DAYS)
    c = [pl.col(s) for s in STAGES]
    reached = [c[0].is_not_null()]
    for k in range(1, len(STAGES)):
        reached.append(reached[k - 1] & c[k].is_not_null() & (c[k] >= c[k - 1]) & ((c[k] - c[0]) <= window))
    durations = [
        pl.when(reached[k]).then((c[k] - c[k - 1]).dt.total_microseconds() / US_PER_DAY).alias(f"d_{k}")
        for k in range(1, len(STAGES))
    ]
    aggs = [reached[k].sum().cast(pl.Int64).alias(f"reached_{k}") for k in range(len(STAGES))]
    for k in range(1, len(STAGES)):
        d = durations[k - 1]
        aggs += [d.mean().alias(f"mean_{k}"), d.median().alias(f"median_{k}"), d.quantile(0.9, "linear").alias(f"p90_{k}")]
    out = pl.from_pandas(df[["channel", *STAGES]]).group_by("channel").agg(aggs)
    return out.with_columns(
        *[(pl.col(f"reached_{k}") / pl.col("reached_0")).alias(f"from_first_{k}") for k in range(1, len(STAGES))],
        *[(pl.col(f"reached_{k}") / pl.col(f"reached_{k - 1}")).alias(f"from_prev_{k}") for k in range(1, len(STAGES))],
    )


def _funnel_duckdb(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    con.register("leads", df)
    w = FUNNEL_WINDOW_DAYS * US_PER_DAY
    us = [f"epoch_us({s})" for s in STAGES]
    r = [f"({us[0]} IS NOT NULL)"]
    for k in range(1, len(STAGES)):
        r.append(f"({r[k - 1]} AND {us[k]} IS NOT NULL AND {us[k]} >= {us[k - 1]} AND {us[k]} - {us[0]} <= {w})")
    inner = ", ".join(
        [f"{r[k]} AS r{k}" for k in range(len(STAGES))]
        + [f"CASE WHEN {r[k]} THEN ({us[k]} - {us[k - 1]}) / {US_PER_DAY}.0 END AS d{k}" for k in range(1, len(STAGES))]
    )
    outer = ", ".join(
        [f"count(*) FILTER (r{k}) AS reached_{k}" for k in range(len(STAGES))]
        + [f"avg(d{k}) AS mean_{k}, quantile_cont(d{k}, 0.5) AS median_{k}, quantile_cont(d{k}, 0.9) AS p90_{k}" for k in range(1, len(STAGES))]
        + [f"reached_{k} / reached_0 AS from_first_{k}, reached_{k} / reached_{k - 1} AS from_prev_{k}" for k in range(1, len(STAGES))]
    )
    result = con.sql(f"SELECT channel, {outer} FROM (SELECT channel, {inner} FROM leads) GROUP BY channel").arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _funnel_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    if engine == "kpikit":
        # Long (channel, step) rows → one row per channel in the peers' wide layout.
        rows = {}
        for ch, g in result.groupby("channel", observed=True):
            g = g.sort_values("step")
            row: dict[str, Any] = {"channel": ch}
            for k in range(len(STAGES)):
                row[f"reached_{k}"] = g.converted.iat[k]
            for k in range(1, len(STAGES)):
                row[f"mean_{k}"] = g.time_to_convert_mean_days.iat[k]
                row[f"median_{k}"] = g.time_to_convert_median_days.iat[k]
                row[f"p90_{k}"] = g.time_to_convert_p90_days.iat[k]
                row[f"from_first_{k}"] = g.conversion_from_first.iat[k]
                row[f"from_prev_{k}"] = g.conversion_from_previous.iat[k]
            rows[ch] = row
        result = pd.DataFrame(list(rows.values()))
    n = len(STAGES)
    cols = ["channel", *[f"reached_{k}" for k in range(n)]]
    for k in range(1, n):
        cols += [f"from_first_{k}", f"from_prev_{k}", f"mean_{k}", f"median_{k}", f"p90_{k}"]
    out = result[cols].copy()
    out["channel"] = out["channel"].astype(str)
    for k in range(n):
        out[f"reached_{k}"] = out[f"reached_{k}"].astype(np.int64)
    for c in cols[n + 1 :]:
        out[c] = out[c].astype(float)
    return out.sort_values("channel").reset_index(drop=True)


def _resampled_leads(company: Any, rows: int) -> pd.DataFrame:
    """The demo company's leads drawn with replacement up to `rows` (fixed seed); each lead's
    stages move together by up to a day, so stage order and times to convert are the company's."""
    src = company.leads
    rng = np.random.default_rng(0)
    out = src.iloc[rng.integers(0, len(src), rows)].reset_index(drop=True)
    shift = pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    for s in STAGES:
        out[s] = out[s] + shift
    return out


FUNNEL_STAGES_LARGE = Workload(
    name="funnel_stages_large",
    description=f"Lead funnel per channel (visit → signup → PQL → customer, {FUNNEL_WINDOW_DAYS}-day window: counts, rates, mean/median/p90 days) on the demo leads resampled to 200,000 × scale rows (10 million at scale 50)",
    table=lambda company, scale: _resampled_leads(company, int(200_000 * scale)),
    engines={"kpikit": _funnel_kpikit, "pandas": _funnel_pandas, "polars": _funnel_polars, "duckdb": _funnel_duckdb},
    normalise=_funnel_normalise,
    keys=["channel"],
    company_scale=lambda scale: 1.0,
)
WORKLOADS[FUNNEL_STAGES_LARGE.name] = FUNNEL_STAGES_LARGE


# --- RFM summary of a transaction log (customer lifetime value) -----------------------------
# lifetimes' conventions: daily periods, same-day purchases merged, frequency = repeat days,
# recency and T in days, monetary_value = mean of the repeat days' totals.


def _transactions(rows: int) -> pd.DataFrame:
    """`rows` purchases by about rows / 10 customers over two years (fixed seed), in time order
    as a shop's log would be, with amounts in whole cents (so every engine's sums are exact)."""
    rng = np.random.default_rng(5)
    customers = max(rows // 10, 1)
    # A skewed customer mix: a few buy often, most rarely.
    customer = np.minimum(rng.pareto(1.2, rows) * customers / 8, customers - 1).astype(np.int64)
    seconds = np.sort(rng.integers(0, 730 * 86_400, rows))
    time = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s")
    amount = np.round(rng.gamma(2.0, 2500.0, rows))
    return pd.DataFrame({"customer": customer, "time": time, "amount": amount})


def _rfm_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.rfm_summary(df, customer="customer", time="time", amount="amount")


def _rfm_pandas(df: pd.DataFrame) -> pd.DataFrame:
    day = df["time"].dt.tz_convert(None).to_numpy().astype("datetime64[D]").astype(np.int64)
    end = day.max()
    per = (
        pd.DataFrame({"customer": df["customer"].to_numpy(), "day": day, "amount": df["amount"].to_numpy()})
        .groupby(["customer", "day"], sort=True)["amount"]
        .sum()
        .reset_index()
    )
    g = per.groupby("customer", sort=True)
    k = g["day"].size()
    first = g["day"].min()
    total = g["amount"].sum()
    first_total = g["amount"].first()
    out = pd.DataFrame(
        {
            "frequency": (k - 1).astype(float),
            "recency": (g["day"].max() - first).astype(float),
            "T": (end - first).astype(float),
            "monetary_value": ((total - first_total) / (k - 1)).where(k > 1, 0.0),
        }
    )
    return out.reset_index()


def _rfm_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    frame = pl.from_pandas(df[["customer", "time", "amount"]]).with_columns(day=pl.col("time").dt.date())
    end = frame["day"].max()
    per = frame.group_by("customer", "day").agg(pl.col("amount").sum()).sort("customer", "day")
    return per.group_by("customer").agg(
        frequency=(pl.len() - 1).cast(pl.Float64),
        recency=(pl.col("day").max() - pl.col("day").min()).dt.total_days().cast(pl.Float64),
        T=(pl.lit(end) - pl.col("day").min()).dt.total_days().cast(pl.Float64),
        monetary_value=pl.when(pl.len() > 1)
        .then((pl.col("amount").sum() - pl.col("amount").first()) / (pl.len() - 1))
        .otherwise(0.0),
    )


def _rfm_duckdb(df: pd.DataFrame) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    con.register("log", df)
    result = con.sql(
        """
        WITH per AS (
            SELECT customer, CAST(time AS DATE) AS day, sum(amount) AS total FROM log GROUP BY ALL
        ), ends AS (SELECT max(day) AS end_day FROM per)
        SELECT customer,
               CAST(count(*) - 1 AS DOUBLE) AS frequency,
               CAST(max(day) - min(day) AS DOUBLE) AS recency,
               CAST(any_value(end_day) - min(day) AS DOUBLE) AS T,
               CASE WHEN count(*) > 1
                    THEN (sum(total) - arg_min(total, day)) / (count(*) - 1) ELSE 0.0 END AS monetary_value
        FROM per, ends GROUP BY customer
        """
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _rfm_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result[["customer", "frequency", "recency", "T", "monetary_value"]].copy()
    out["customer"] = out["customer"].astype(np.int64)
    for c in ["frequency", "recency", "T", "monetary_value"]:
        out[c] = out[c].astype(float)
    return out.sort_values("customer").reset_index(drop=True)


RFM = Workload(
    name="rfm",
    description="RFM summary (lifetimes conventions, daily) of 1 million × scale transactions",
    table=lambda company, scale: _transactions(int(1_000_000 * scale)),
    engines={"kpikit": _rfm_kpikit, "pandas": _rfm_pandas, "polars": _rfm_polars, "duckdb": _rfm_duckdb},
    normalise=_rfm_normalise,
    keys=["customer"],
    company_scale=lambda scale: 0.01,
)
WORKLOADS[RFM.name] = RFM


# --- active users and retention over the demo's product events --------------------------------


def _resampled_events(company: Any, rows: int) -> pd.DataFrame:
    """The demo company's product events up to `rows`: whole copies of the event log, each copy
    with its own user ids (so every user keeps their own activity pattern), cut at `rows` and
    put in time order, as an event log arrives."""
    src = company.events[["user_id", "time", "event"]]
    copies = -(-rows // len(src))
    span = int(src["user_id"].max()) + 1
    parts = [src.assign(user_id=src["user_id"] + i * span) for i in range(copies)]
    out = pd.concat(parts, ignore_index=True).iloc[:rows]
    return out.sort_values("time", kind="stable").reset_index(drop=True)


_WINDOWS = {"dau": 1, "wau": 7, "mau": 30}


def _au_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.active_users(df, user="user_id", time="time", windows=_WINDOWS)


def _days(df: pd.DataFrame) -> np.ndarray:
    # Days since the epoch (UTC) as int64: the cheapest day bucketing numpy offers.
    t = df["time"]
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(None)
    return t.to_numpy().astype("datetime64[D]").astype(np.int64)


def _au_pandas(df: pd.DataFrame) -> pd.DataFrame:
    # Distinct (user, day) as one sorted int64 key, then each active day covers the days up to
    # the window's end or the user's next active day, whichever is first: a difference array
    # per window, summed. The fastest exact way numpy/pandas offer (no per-day nunique loops).
    day = _days(df)
    lo, hi = int(day.min()), int(day.max())
    n_days = hi - lo + 1
    user = df["user_id"].to_numpy()
    key = np.unique(user.astype(np.int64) * n_days + (day - lo))
    u, d = key // n_days, key % n_days
    same_next = np.empty(len(key), dtype=bool)
    same_next[:-1] = u[1:] == u[:-1]
    same_next[-1] = False
    nxt = np.where(same_next, np.roll(d, -1), np.iinfo(np.int64).max)
    out = {"period": pd.to_datetime(np.arange(lo, hi + 1), unit="D")}
    out["active_users"] = np.bincount(d, minlength=n_days)
    for name, w in _WINDOWS.items():
        end = np.minimum(d + w, nxt)
        delta = np.bincount(d, minlength=n_days + w + 1)[: n_days + 1].astype(np.int64)
        delta -= np.bincount(np.minimum(end, n_days), minlength=n_days + 1)[: n_days + 1]
        out[name] = np.cumsum(delta)[:n_days]
    res = pd.DataFrame(out)
    res["dau_mau"] = res["dau"] / res["mau"].where(res["mau"] > 0)
    return res


def _au_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    pdf = pl.from_pandas(df[["user_id", "time"]])
    ud = (
        pdf.select(pl.col("user_id"), pl.col("time").dt.date().cast(pl.Int32).alias("d"))
        .unique()
        .sort("user_id", "d")
        .with_columns(nxt=pl.col("d").shift(-1).over("user_id"))
    )
    lo, hi = ud["d"].min(), ud["d"].max()
    days = pl.DataFrame({"d": pl.int_range(lo, hi + 1, eager=True).cast(pl.Int32)})
    frames = [days.join(ud.group_by("d").agg(active_users=pl.len().cast(pl.Int64)), on="d", how="left")]
    for name, w in _WINDOWS.items():
        ends = pl.min_horizontal(pl.col("d") + w, pl.col("nxt").fill_null(2**31 - 1))
        plus = ud.group_by("d").agg(p=pl.len().cast(pl.Int64))
        minus = ud.select(ends.alias("d")).group_by("d").agg(m=pl.len().cast(pl.Int64))
        cov = (
            days.join(plus, on="d", how="left")
            .join(minus, on="d", how="left")
            .sort("d")
            .select(pl.col("d"), (pl.col("p").fill_null(0) - pl.col("m").fill_null(0)).cum_sum().alias(name))
        )
        frames.append(cov)
    out = frames[0]
    for f in frames[1:]:
        out = out.join(f, on="d")
    return out.sort("d").with_columns(
        period=pl.col("d").cast(pl.Date),
        active_users=pl.col("active_users").fill_null(0),
        dau_mau=pl.when(pl.col("mau") > 0).then(pl.col("dau") / pl.col("mau")),
    )


def _duckdb(df: pd.DataFrame, name: str) -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    con.register(name, df)
    return con


def _au_duckdb(df: pd.DataFrame) -> Any:
    con = _duckdb(df, "events")
    deltas = " UNION ALL ".join(
        f"SELECT '{n}' AS w, d, 1 AS v FROM ud UNION ALL "
        f"SELECT '{n}', least(d + {w}, coalesce(nxt, d + {w})), -1 FROM ud"
        for n, w in _WINDOWS.items()
    )
    pivots = ", ".join(
        f"sum(sum(v) FILTER (w = '{n}')) OVER (ORDER BY days.d) AS {n}" for n in _WINDOWS
    )
    result = con.sql(
        f"""
        WITH ud AS (
            SELECT user_id, d, lead(d) OVER (PARTITION BY user_id ORDER BY d) AS nxt
            FROM (SELECT DISTINCT user_id, CAST(time AS DATE) AS d FROM events)
        ),
        bounds AS (SELECT min(d) AS lo, max(d) AS hi FROM ud),
        days AS (SELECT CAST(g AS DATE) AS d FROM bounds, generate_series(lo, hi, INTERVAL 1 DAY) t(g)),
        per_day AS (SELECT d, count(*) AS active_users FROM ud GROUP BY d),
        deltas AS ({deltas}),
        counts AS (
            SELECT days.d AS period, coalesce(any_value(per_day.active_users), 0) AS active_users, {pivots}
            FROM days LEFT JOIN deltas ON deltas.d = days.d LEFT JOIN per_day ON per_day.d = days.d
            GROUP BY days.d
        )
        SELECT *, dau / nullif(mau, 0) AS dau_mau FROM counts ORDER BY period
        """
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _au_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result[["period", "active_users", "dau", "wau", "mau", "dau_mau"]].copy()
    period = pd.to_datetime(out["period"])
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_convert(None)
    out["period"] = period.astype("datetime64[ns]")
    for c in ["active_users", "dau", "wau", "mau"]:
        out[c] = out[c].astype(np.int64)
    out["dau_mau"] = out["dau_mau"].astype(float)
    return out.sort_values("period").reset_index(drop=True)


ACTIVE_USERS = Workload(
    name="active_users",
    description="DAU, WAU, MAU and DAU/MAU per day on the demo's product events, 1,000,000 × scale rows (50 million at scale 50)",
    table=lambda company, scale: _resampled_events(company, int(1_000_000 * scale)),
    engines={"kpikit": _au_kpikit, "pandas": _au_pandas, "polars": _au_polars, "duckdb": _au_duckdb},
    normalise=_au_normalise,
    keys=["period"],
    company_scale=lambda scale: 1.0,
)


def _ret_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.retention(df, user="user_id", time="time", start_event="signup", freq="month")


def _months(df: pd.DataFrame) -> np.ndarray:
    t = df["time"]
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(None)
    return t.to_numpy().astype("datetime64[M]").astype(np.int64)


def _ret_pandas(df: pd.DataFrame) -> pd.DataFrame:
    # Cohort = month of the user's first signup; retained in month k ≥ 1 = any event that month.
    month = _months(df)
    user = df["user_id"].to_numpy()
    signup = (df["event"] == "signup").to_numpy()
    t = df["time"].to_numpy()
    first = pd.DataFrame({"user": user[signup], "t": t[signup], "m": month[signup]})
    first = first.sort_values("t").drop_duplicates("user")
    cohort = pd.Series(first["m"].to_numpy(), index=first["user"].to_numpy())
    last = int(month.max())
    active = pd.DataFrame({"user": user, "m": month}).drop_duplicates()
    active["c"] = cohort.reindex(active["user"].to_numpy()).to_numpy()
    active = active.dropna(subset=["c"])
    active["k"] = active["m"] - active["c"].astype(np.int64)
    back = active[active["k"] >= 1].groupby(["c", "k"]).size().rename("retained").reset_index()
    size = cohort.value_counts().rename_axis("c").rename("cohort_size").reset_index()
    zero = size.assign(k=0, retained=size["cohort_size"])
    out = pd.concat([zero, back.merge(size, on="c")], ignore_index=True)
    out = out[out["c"].astype(np.int64) + out["k"] <= last]
    out["rate"] = out["retained"] / out["cohort_size"]
    out["cohort"] = pd.to_datetime(out["c"].astype(np.int64).astype("datetime64[M]"))
    return out.rename(columns={"k": "period_number"})


def _ret_polars(df: pd.DataFrame) -> Any:
    import polars as pl

    ev = pl.from_pandas(df[["user_id", "time", "event"]]).with_columns(m=pl.col("time").dt.truncate("1mo"))
    last = ev["m"].max()
    first = (
        ev.filter(pl.col("event") == "signup")
        .group_by("user_id")
        .agg(pl.col("time").min())
        .select("user_id", c=pl.col("time").dt.truncate("1mo"))
    )
    size = first.group_by("c").agg(cohort_size=pl.len().cast(pl.Int64))
    k = (pl.col("m").dt.year() - pl.col("c").dt.year()) * 12 + pl.col("m").dt.month() - pl.col("c").dt.month()
    back = (
        ev.select("user_id", "m")
        .unique()
        .join(first, on="user_id")
        .with_columns(period_number=k.cast(pl.Int64))
        .filter(pl.col("period_number") >= 1)
        .group_by("c", "period_number")
        .agg(retained=pl.len().cast(pl.Int64))
        .join(size, on="c")
    )
    zero = size.with_columns(period_number=pl.lit(0, pl.Int64), retained=pl.col("cohort_size"))
    lastk = (last.year * 12 + last.month) - (pl.col("c").dt.year() * 12 + pl.col("c").dt.month())
    return (
        pl.concat([zero, back.select(zero.columns)])
        .filter(pl.col("period_number") <= lastk)
        .with_columns(rate=pl.col("retained") / pl.col("cohort_size"), cohort=pl.col("c"))
    )


def _ret_duckdb(df: pd.DataFrame) -> Any:
    con = _duckdb(df, "events")
    result = con.sql(
        """
        WITH ev AS (SELECT user_id, date_trunc('month', time) AS m, time, event FROM events),
        first AS (SELECT user_id, date_trunc('month', min(time)) AS c FROM ev WHERE event = 'signup' GROUP BY user_id),
        size AS (SELECT c, count(*) AS cohort_size FROM first GROUP BY c),
        last AS (SELECT max(m) AS lm FROM ev),
        back AS (
            SELECT f.c, date_diff('month', f.c, a.m) AS period_number, count(*) AS retained
            FROM (SELECT DISTINCT user_id, m FROM ev) a JOIN first f USING (user_id)
            WHERE a.m > f.c GROUP BY ALL
        )
        SELECT c AS cohort, 0 AS period_number, cohort_size, cohort_size AS retained, 1.0 AS rate FROM size
        UNION ALL
        SELECT b.c, b.period_number, s.cohort_size, b.retained, b.retained / s.cohort_size
        FROM back b JOIN size s USING (c), last WHERE date_diff('month', b.c, last.lm) >= b.period_number
        """
    ).arrow()
    return result.read_all() if hasattr(result, "read_all") else result


def _ret_normalise(engine: str, result: Any) -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result[["cohort", "period_number", "cohort_size", "retained", "rate"]].copy()
    out = out[out["retained"] > 0]  # kpikit also lists empty cells and cohorts; peers do not
    cohort = pd.to_datetime(out["cohort"])
    if getattr(cohort.dt, "tz", None) is not None:
        cohort = cohort.dt.tz_convert(None)
    out["cohort"] = cohort.astype("datetime64[ns]")
    for c in ["period_number", "cohort_size", "retained"]:
        out[c] = out[c].astype(np.int64)
    out["rate"] = out["rate"].astype(float)
    return out.sort_values(["cohort", "period_number"]).reset_index(drop=True)


RETENTION = Workload(
    name="retention",
    description="Monthly signup cohorts (first signup; retained = any event in month k) on the demo's product events, 1,000,000 × scale rows",
    table=lambda company, scale: _resampled_events(company, int(1_000_000 * scale)),
    engines={"kpikit": _ret_kpikit, "pandas": _ret_pandas, "polars": _ret_polars, "duckdb": _ret_duckdb},
    normalise=_ret_normalise,
    keys=["cohort", "period_number"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS.update({w.name: w for w in [ACTIVE_USERS, RETENTION]})
