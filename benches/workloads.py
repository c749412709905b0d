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


# --- RFM summary of a transaction log (customer lifetime value, issue #5) ----------------------
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
)
WORKLOADS[RFM.name] = RFM
