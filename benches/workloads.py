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


# --- Deal metrics per owner per quarter (issue 8) -------------------------------------------

_DAY_US = 86_400_000_000.0


def _deals_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.deal_metrics(df, owner="owner", created="created", closed="closed", amount="amount", won="won", freq="quarter")


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
)
WORKLOADS[DEALS_LARGE.name] = DEALS_LARGE
