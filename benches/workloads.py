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
)

WORKLOADS: dict[str, Workload] = {w.name: w for w in [NPS, NPS_LARGE]}


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
)
WORKLOADS[FUNNEL_STAGES_LARGE.name] = FUNNEL_STAGES_LARGE
