"""Benchmark workloads: one analysis written for kpikit and, as fast as each allows, for pandas,
polars and DuckDB, each peer timed two ways.

*From pandas* (``Workload.engines``): every engine starts from the same pandas DataFrame already
in memory; polars converts the columns it reads inside the timed call, DuckDB scans the pandas
frame it was handed (``register``). *Native* (``Workload.native``): each engine starts from its
own in-memory form, loaded before timing (``native_input``): kpikit and pyarrow an Arrow table,
polars a DataFrame (queried lazily), DuckDB a table created with ``CREATE TABLE … AS`` (typed
columns in its own storage). `normalise` turns each result into the same plain pandas frame so
the numbers can be checked equal before anything is timed.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
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
    # The same engines on their native input (see native_input): kpikit on an Arrow table,
    # polars on a polars DataFrame, DuckDB on a connection holding the table `duckdb_table`.
    native: dict[str, Callable[[Any], Any]] = field(default_factory=dict)
    duckdb_table: str = ""
    # The columns kpikit reads: their bytes are what the analysis must read at least.
    columns: tuple[str, ...] = ()


def _connect() -> Any:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    if os.environ.get("BENCH_THREADS"):
        con.execute(f"SET threads = {int(os.environ['BENCH_THREADS'])}")
    return con


def _duckdb(df: pd.DataFrame, name: str) -> Any:
    """A DuckDB connection scanning the pandas frame `df` as the view `name` (from-pandas mode)."""
    con = _connect()
    con.register(name, df)
    return con


def native_input(w: Workload, engine: str, df: pd.DataFrame) -> Any:
    """`df` in `engine`'s own in-memory form, as a user of that engine would hold it."""
    if engine == "kpikit":
        import pyarrow as pa

        return pa.Table.from_pandas(df, preserve_index=False)
    if engine == "polars":
        import polars as pl

        return pl.from_pandas(df).rechunk()
    if engine == "duckdb":
        con = _connect()
        con.register("pandas_input", df)
        # Typed columns in DuckDB's own storage (categoricals become ENUMs, zone-aware times
        # TIMESTAMPTZ, nullable booleans BOOLEAN), as after loading a file into the database.
        con.execute(f"CREATE TABLE {w.duckdb_table} AS SELECT * FROM pandas_input")
        con.unregister("pandas_input")
        return con
    raise ValueError(f"{engine} has no native mode")


def _engines(
    kpikit_fn: Callable, pandas_fn: Callable, polars_fn: Callable, polars_columns: list[str], duckdb_fn: Callable, table: str
) -> dict[str, Any]:
    """The keyword arguments `engines`, `native` and `duckdb_table` of a Workload whose polars
    engine takes a polars frame and whose DuckDB engine takes a connection holding `table`."""

    def polars_from_pandas(df: pd.DataFrame) -> Any:
        import polars as pl

        return polars_fn(pl.from_pandas(df[polars_columns]))

    def duckdb_from_pandas(df: pd.DataFrame) -> Any:
        return duckdb_fn(_duckdb(df, table))

    return {
        "engines": {"kpikit": kpikit_fn, "pandas": pandas_fn, "polars": polars_from_pandas, "duckdb": duckdb_from_pandas},
        "native": {"kpikit": kpikit_fn, "polars": polars_fn, "duckdb": duckdb_fn},
        "duckdb_table": table,
    }


# --- NPS per plan per month -----------------------------------------------------------------


def _nps_kpikit(df: pd.DataFrame, seg: str = "plan") -> Any:
    import kpikit

    return kpikit.nps(df, score="score", time="time", freq="month", by=seg)


def _nps_pandas(df: pd.DataFrame, seg: str = "plan") -> pd.DataFrame:
    # datetime64[M] truncation is the fastest month bucketing pandas offers.
    utc = df["time"].dt.tz_convert(None).to_numpy()
    period = utc.astype("datetime64[M]").astype("datetime64[ns]")
    score = df["score"].to_numpy()
    frame = pd.DataFrame(
        {
            seg: df[seg],
            "period": period,
            "promoters": score >= 9,
            "passives": (score >= 7) & (score <= 8),
            "detractors": score <= 6,
        }
    )
    out = frame.groupby([seg, "period"], observed=True, sort=False).agg(
        responses=("promoters", "size"),
        promoters=("promoters", "sum"),
        passives=("passives", "sum"),
        detractors=("detractors", "sum"),
    )
    out["nps"] = 100.0 * (out["promoters"] - out["detractors"]) / out["responses"]
    return out.reset_index()


def _nps_polars(frame: Any, seg: str = "plan") -> Any:
    import polars as pl

    score = pl.col("score")
    return (
        frame.lazy()
        .group_by(seg, pl.col("time").dt.truncate("1mo").alias("period"))
        .agg(
            responses=pl.len().cast(pl.Int64),
            # Counts are unsigned 32-bit in polars: widen before subtracting.
            promoters=(score >= 9).sum().cast(pl.Int64),
            passives=score.is_between(7, 8).sum().cast(pl.Int64),
            detractors=(score <= 6).sum().cast(pl.Int64),
        )
        .with_columns(nps=100.0 * (pl.col("promoters") - pl.col("detractors")) / pl.col("responses"))
        .collect()
    )


def _nps_duckdb(con: Any, seg: str = "plan") -> Any:
    result = con.sql(
        f"""
        SELECT {seg}, date_trunc('month', time) AS period, count(*) AS responses,
               count(*) FILTER (score >= 9) AS promoters,
               count(*) FILTER (score BETWEEN 7 AND 8) AS passives,
               count(*) FILTER (score <= 6) AS detractors,
               100.0 * (promoters - detractors) / responses AS nps
        FROM answers GROUP BY ALL
        """
    ).arrow()
    # Newer DuckDB returns a lazy reader: materialise it inside the timed call.
    return result.read_all() if hasattr(result, "read_all") else result


def _nps_normalise(engine: str, result: Any, seg: str = "plan") -> pd.DataFrame:
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    out = result[[seg, "period", "responses", "promoters", "passives", "detractors", "nps"]].copy()
    out = out[out["responses"] > 0]  # kpikit also lists empty periods; peers do not
    out[seg] = out[seg].astype(str)
    period = pd.to_datetime(out["period"])
    if getattr(period.dt, "tz", None) is not None:
        period = period.dt.tz_convert(None)
    out["period"] = period.astype("datetime64[ns]")
    for c in ["responses", "promoters", "passives", "detractors"]:
        out[c] = out[c].astype(np.int64)
    out["nps"] = out["nps"].astype(float)
    return out.sort_values([seg, "period"]).reset_index(drop=True)


NPS = Workload(
    name="nps",
    description="NPS per plan per month (responses, promoters, passives, detractors, nps)",
    table=lambda company, scale: company.responses,
    **_engines(_nps_kpikit, _nps_pandas, _nps_polars, ["plan", "time", "score"], _nps_duckdb, "answers"),
    columns=("plan", "time", "score"),
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
    native=NPS.native,
    duckdb_table="answers",
    columns=NPS.columns,
    normalise=_nps_normalise,
    keys=["plan", "period"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS: dict[str, Workload] = {w.name: w for w in [NPS, NPS_LARGE]}


# --- MRR movements per month from customer-month snapshots --------------------------------------

_MOVE_MONEY = ["starting_mrr", "new_mrr", "expansion_mrr", "contraction_mrr", "churned_mrr", "reactivation_mrr", "ending_mrr"]
_MOVE_COUNTS = [
    "new_customers",
    "expanded_customers",
    "contracted_customers",
    "churned_customers",
    "reactivated_customers",
    "ending_customers",
]


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
        .groupby(["c", "m"], sort=False)["v"]
        .sum()
        .reset_index()
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
    out = (
        pd.DataFrame(
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
        )
        .groupby("m")
        .sum()
    )
    out.index = out.index.to_numpy().astype("datetime64[M]")
    return out.rename_axis("period").reset_index()


def _moves_polars(frame: Any) -> Any:
    import polars as pl

    lv = (
        frame.lazy()
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


def _moves_duckdb(con: Any) -> Any:
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
        out["period"] = pd.to_datetime({"year": out["m"] // 12, "month": out["m"] % 12 + 1, "day": 1})
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
    **_engines(_moves_kpikit, _moves_pandas, _moves_polars, ["customer_id", "month", "mrr"], _moves_duckdb, "subs"),
    columns=("customer_id", "month", "mrr"),
    normalise=_moves_normalise,
    keys=["period"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS[MRR_MOVEMENTS.name] = MRR_MOVEMENTS


# --- Deal metrics per owner per quarter ----------------------------------------------------

_DAY_US = 86_400_000_000.0
_DEAL_COLUMNS = ["owner", "created", "closed", "amount", "won"]


def _deals_kpikit(df: pd.DataFrame, cycle_of: str = "won") -> Any:
    import kpikit

    return kpikit.deal_metrics(
        df, rep="owner", created="created", closed="closed", amount="amount", won="won", freq="quarter", cycle_of=cycle_of
    )


def _deals_pandas(df: pd.DataFrame, cycle_of: str = "won") -> pd.DataFrame:
    closed = df[df["closed"].notna()]
    close_us = closed["closed"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
    created_us = closed["created"].dt.tz_convert(None).to_numpy().astype("datetime64[us]")
    months = close_us.astype("datetime64[M]").astype(np.int64)
    period = (months - months % 3).astype("datetime64[M]").astype("datetime64[ns]")
    won = closed["won"].to_numpy(dtype=bool)
    frame = pd.DataFrame(
        {
            "owner": closed["owner"].to_numpy(),
            "period": period,
            "won": won,
            "won_amount": np.where(won, closed["amount"].to_numpy(), np.nan),
            "cycle": (close_us - created_us).astype(np.int64) / _DAY_US,
        }
    )
    if cycle_of == "won":
        frame.loc[~won, "cycle"] = np.nan
    out = frame.groupby(["owner", "period"], observed=True, sort=False).agg(
        deals_closed=("won", "size"),
        deals_won=("won", "sum"),
        avg_deal_size=("won_amount", "mean"),
        sales_cycle_days_median=("cycle", "median"),
    )
    out["win_rate"] = out["deals_won"] / out["deals_closed"]
    return out.reset_index()


def _deals_polars(frame: Any, cycle_of: str = "won") -> Any:
    import polars as pl

    won = pl.col("won")
    cycle = (pl.col("closed") - pl.col("created")).dt.total_microseconds() / _DAY_US
    return (
        frame.lazy()
        .filter(pl.col("closed").is_not_null())
        .group_by("owner", pl.col("closed").dt.truncate("1q").alias("period"))
        .agg(
            deals_closed=pl.len().cast(pl.Int64),
            deals_won=won.sum().cast(pl.Int64),
            avg_deal_size=pl.col("amount").filter(won).mean(),
            sales_cycle_days_median=(cycle.filter(won) if cycle_of == "won" else cycle).median(),
        )
        .with_columns(win_rate=pl.col("deals_won") / pl.col("deals_closed"))
        .collect()
    )


def _deals_duckdb(con: Any, cycle_of: str = "won") -> Any:
    only_won = "FILTER (won)" if cycle_of == "won" else ""
    result = con.sql(
        f"""
        SELECT owner, date_trunc('quarter', closed) AS period, count(*) AS deals_closed,
               count(*) FILTER (won) AS deals_won, deals_won / deals_closed AS win_rate,
               avg(amount) FILTER (won) AS avg_deal_size,
               median((epoch_us(closed) - epoch_us(created)) / {_DAY_US}) {only_won} AS sales_cycle_days_median
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
    **_engines(_deals_kpikit, _deals_pandas, _deals_polars, _DEAL_COLUMNS, _deals_duckdb, "deals"),
    columns=tuple(_DEAL_COLUMNS),
    normalise=_deals_normalise,
    keys=["owner", "period"],
    company_scale=lambda scale: 1.0,
)
WORKLOADS[DEALS_LARGE.name] = DEALS_LARGE


# --- Funnel over the lead stages, per channel (funnel_from_stages) ---------------------------

STAGES = ["visited_at", "signed_up_at", "pql_at", "customer_at"]
FUNNEL_WINDOW_DAYS = 90
US_PER_DAY = 86_400_000_000


def _funnel_kpikit(df: pd.DataFrame, days: int = FUNNEL_WINDOW_DAYS) -> Any:
    import kpikit

    return kpikit.funnel_from_stages(df, stages=STAGES, window=f"{days}d", by="channel")


def _funnel_pandas(df: pd.DataFrame, days: int = FUNNEL_WINDOW_DAYS) -> pd.DataFrame:
    # Microseconds since the epoch per stage (NaT → missing), then the prefix rule:
    # stage k counts when stages 1…k are present, in order, and k is within the window of stage 1.
    window = days * US_PER_DAY
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


def _funnel_polars(frame: Any, days: int = FUNNEL_WINDOW_DAYS) -> Any:
    import polars as pl

    window = pl.duration(days=days)
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
    out = frame.lazy().group_by("channel").agg(aggs)
    return out.with_columns(
        *[(pl.col(f"reached_{k}") / pl.col("reached_0")).alias(f"from_first_{k}") for k in range(1, len(STAGES))],
        *[(pl.col(f"reached_{k}") / pl.col(f"reached_{k - 1}")).alias(f"from_prev_{k}") for k in range(1, len(STAGES))],
    ).collect()


def _funnel_duckdb(con: Any, days: int = FUNNEL_WINDOW_DAYS) -> Any:
    w = days * US_PER_DAY
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
        + [
            f"avg(d{k}) AS mean_{k}, quantile_cont(d{k}, 0.5) AS median_{k}, quantile_cont(d{k}, 0.9) AS p90_{k}"
            for k in range(1, len(STAGES))
        ]
        + [
            f"reached_{k} / reached_0 AS from_first_{k}, reached_{k} / reached_{k - 1} AS from_prev_{k}"
            for k in range(1, len(STAGES))
        ]
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
    **_engines(_funnel_kpikit, _funnel_pandas, _funnel_polars, ["channel", *STAGES], _funnel_duckdb, "leads"),
    columns=("channel", *STAGES),
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


def _rfm_polars(frame: Any) -> Any:
    import polars as pl

    frame = frame.with_columns(day=pl.col("time").dt.date())
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


def _rfm_duckdb(con: Any) -> Any:
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
    **_engines(_rfm_kpikit, _rfm_pandas, _rfm_polars, ["customer", "time", "amount"], _rfm_duckdb, "log"),
    columns=("customer", "time", "amount"),
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


def _au_polars(frame: Any) -> Any:
    import polars as pl

    pdf = frame
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


def _au_duckdb(con: Any) -> Any:
    deltas = " UNION ALL ".join(
        f"SELECT '{n}' AS w, d, 1 AS v FROM ud UNION ALL SELECT '{n}', least(d + {w}, coalesce(nxt, d + {w})), -1 FROM ud"
        for n, w in _WINDOWS.items()
    )
    pivots = ", ".join(f"sum(sum(v) FILTER (w = '{n}')) OVER (ORDER BY days.d) AS {n}" for n in _WINDOWS)
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
    **_engines(_au_kpikit, _au_pandas, _au_polars, ["user_id", "time"], _au_duckdb, "events"),
    columns=("user_id", "time"),
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


def _ret_polars(frame: Any) -> Any:
    import polars as pl

    ev = frame.with_columns(m=pl.col("time").dt.truncate("1mo"))
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


def _ret_duckdb(con: Any) -> Any:
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
    **_engines(_ret_kpikit, _ret_pandas, _ret_polars, ["user_id", "time", "event"], _ret_duckdb, "events"),
    columns=("user_id", "time", "event"),
    normalise=_ret_normalise,
    keys=["cohort", "period_number"],
    company_scale=lambda scale: 1.0,
)

WORKLOADS.update({w.name: w for w in [ACTIVE_USERS, RETENTION]})


# --- The shapes an analyst meets that the workloads above do not ---------------------------
# NPS on a 4-value categorical segment, revenue rates from integer customer ids over 36
# months, a 30-day lead funnel, and the median cycle over every closed deal.

NPS_REGION = Workload(
    name="nps_region",
    description="NPS per region (4-value categorical) per month, int8 score, µs timestamps, on the demo's answers resampled to 100,000 × scale rows (5 million at scale 50)",
    table=lambda company, scale: _resampled_responses(company, int(100_000 * scale)),
    engines={k: functools.partial(f, seg="region") for k, f in NPS.engines.items() if k in ("kpikit", "pandas")}
    | {
        "polars": lambda df: _nps_polars(_polars(df, ["region", "time", "score"]), seg="region"),
        "duckdb": lambda df: _nps_duckdb(_duckdb(df, "answers"), seg="region"),
    },
    native={k: functools.partial(f, seg="region") for k, f in NPS.native.items()},
    duckdb_table="answers",
    normalise=functools.partial(_nps_normalise, seg="region"),
    keys=["region", "period"],
    company_scale=lambda scale: 1.0,
    columns=("region", "time", "score"),
)


def _polars(df: pd.DataFrame, columns: list[str]) -> Any:
    import polars as pl

    return pl.from_pandas(df[columns])


def _snapshots(rows: int) -> pd.DataFrame:
    """Customer-month MRR snapshots over 36 months, about `rows` rows from rows / 11.2 customers
    with integer ids (400,000 customers for 4.49 million rows), fixed seed. Each customer starts
    in a random month and stays a geometric number of months; one in ten pauses for two months
    (a churn, then a reactivation); prices move up or down now and then (expansion and
    contraction); MRR in whole cents. Ordered by customer then month, like an export."""
    rng = np.random.default_rng(7)
    n = max(1, round(rows / 11.2))
    start = rng.integers(0, 36, n)
    length = np.minimum(rng.geometric(1 / 21, n), 36 - start)
    cust = np.repeat(np.arange(n, dtype=np.int64), length)
    first_row = np.repeat(np.cumsum(length) - length, length)
    offset = np.arange(len(cust)) - first_row
    keep = ~((cust % 10 == 3) & ((offset == 3) | (offset == 4)))
    # Price steps: ×0.5, ×1.5 or ×2 with probability 0.06 per month, compounded per customer.
    step = np.where(rng.random(len(cust)) < 0.06, rng.choice(np.log([0.5, 1.5, 2.0]), len(cust)), 0.0)
    log_level = np.cumsum(step)
    log_level -= np.repeat(log_level[np.cumsum(length) - length], length) - np.repeat(step[np.cumsum(length) - length], length)
    base = rng.choice(np.array([29.0, 49.0, 99.0, 299.0, 999.0]), n)[cust]
    mrr = np.round(base * np.exp(log_level), 2)
    month = (np.datetime64("2023-01", "M") + (start[cust] + offset)).astype("datetime64[ns]")
    return pd.DataFrame({"customer_id": cust[keep], "month": month[keep], "mrr": mrr[keep]})


def _revenue_kpikit(df: Any) -> Any:
    import kpikit

    # The movements, then the rates from them (a movement table is revenue_metrics' input too).
    moves = kpikit.mrr_movements(df, customer="customer_id", period="month", mrr="mrr", output="arrow")
    return moves, kpikit.revenue_metrics(moves, output="arrow")


_RATES = ["customer_churn_rate", "net_revenue_retention", "gross_revenue_retention"]


def _with_rates(moves: Any) -> pd.DataFrame:
    """A movement table (one row per month, from any engine; ~36 rows, so pandas is as good as
    any here) with customer churn, NRR and GRR added (kpikit's default: reactivation is not
    retention, so NRR leaves it out)."""
    out = moves if isinstance(moves, pd.DataFrame) else moves.to_pandas()
    out = out.sort_values("m" if "m" in out.columns else "period").reset_index(drop=True)
    for c in [*_MOVE_MONEY, *_MOVE_COUNTS]:  # DuckDB's 128-bit sums arrive as Decimal objects
        out[c] = out[c].astype(np.float64)
    start = out["starting_mrr"].astype(float).where(out["starting_mrr"] > 0)
    starting_customers = out["ending_customers"].shift(1).astype(float)
    out["customer_churn_rate"] = out["churned_customers"] / starting_customers.where(starting_customers > 0)
    kept = start - out["churned_mrr"] - out["contraction_mrr"]
    out["net_revenue_retention"] = (kept + out["expansion_mrr"]) / start
    out["gross_revenue_retention"] = kept / start
    return out


def _revenue_normalise(engine: str, result: Any) -> pd.DataFrame:
    if isinstance(result, tuple):  # kpikit: (movements, rates), both in period order
        moves, rates = (t.to_pandas() for t in result)
        return pd.concat([_moves_normalise(engine, moves), rates[_RATES].astype(float)], axis=1)
    if not isinstance(result, pd.DataFrame):
        result = result.to_pandas() if hasattr(result, "to_pandas") else pd.DataFrame(result)
    moves = _moves_normalise(engine, result)
    rates = result.sort_values("m" if "m" in result.columns else "period").reset_index(drop=True)[_RATES]
    return pd.concat([moves, rates.astype(float)], axis=1)


REVENUE_METRICS = Workload(
    name="revenue_metrics",
    description="MRR movements with NRR, GRR and customer churn per month from customer-month snapshots, 36 months, integer customer ids; 89,800 × scale rows from 8,000 × scale customers (4.49 million rows, 400,000 customers at scale 50)",
    table=lambda company, scale: _snapshots(int(89_800 * scale)),
    engines={
        "kpikit": _revenue_kpikit,
        "pandas": lambda df: _with_rates(_moves_pandas(df)),
        "polars": lambda df: _with_rates(_moves_polars(_polars(df, ["customer_id", "month", "mrr"]))),
        "duckdb": lambda df: _with_rates(_moves_duckdb(_duckdb(df, "subs"))),
    },
    native={
        "kpikit": _revenue_kpikit,
        "polars": lambda frame: _with_rates(_moves_polars(frame)),
        "duckdb": lambda con: _with_rates(_moves_duckdb(con)),
    },
    duckdb_table="subs",
    normalise=_revenue_normalise,
    keys=["period"],
    company_scale=lambda scale: 0.01,
    columns=("customer_id", "month", "mrr"),
)


FUNNEL_30D = Workload(
    name="funnel_30d",
    description="Lead funnel per channel (visit → signup → PQL → customer, 30-day window: counts, rates, mean/median/p90 days per step) on the demo leads resampled to 200,000 × scale rows (10 million at scale 50)",
    table=FUNNEL_STAGES_LARGE.table,
    engines={k: functools.partial(f, days=30) for k, f in FUNNEL_STAGES_LARGE.engines.items() if k in ("kpikit", "pandas")}
    | {
        "polars": lambda df: _funnel_polars(_polars(df, ["channel", *STAGES]), days=30),
        "duckdb": lambda df: _funnel_duckdb(_duckdb(df, "leads"), days=30),
    },
    native={k: functools.partial(f, days=30) for k, f in FUNNEL_STAGES_LARGE.native.items()},
    duckdb_table="leads",
    normalise=_funnel_normalise,
    keys=["channel"],
    company_scale=lambda scale: 1.0,
    columns=("channel", *STAGES),
)


def _deals(rows: int) -> pd.DataFrame:
    """`rows` deals (fixed seed) over three years: 40 owners (categorical), µs UTC times, cycles
    of 1–300 days, amounts in cents, `won` a nullable boolean missing for the ~9 % still open
    (their `closed` is NaT)."""
    rng = np.random.default_rng(11)
    owners = pd.Categorical.from_codes(rng.integers(0, 40, rows), categories=[f"rep {i:02d}" for i in range(40)])
    created = pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 1000 * 86_400_000_000, rows), unit="us")
    cycle = pd.to_timedelta(
        np.minimum(rng.gamma(2.0, 20.0, rows) * 86_400_000_000 + 3_600_000_000, 300 * 86_400_000_000).astype(np.int64), unit="us"
    )
    is_open = rng.random(rows) < 0.09
    closed = pd.Series(created + cycle).astype("datetime64[us, UTC]")
    closed[is_open] = pd.NaT
    won = pd.array(rng.random(rows) < 0.3, dtype="boolean")
    won[is_open] = pd.NA
    amount = np.round(rng.gamma(2.0, 6000.0, rows), 2)
    return pd.DataFrame(
        {
            "owner": owners,
            "created": pd.Series(created).astype("datetime64[us, UTC]"),
            "closed": closed,
            "amount": amount,
            "won": won,
        }
    )


DEALS_CLOSED = Workload(
    name="deal_metrics_closed",
    description='deal_metrics per owner per quarter with the median cycle over every closed deal (cycle_of="closed"): 40 categorical owners, nullable boolean won, ~9 % open; 50,000 × scale deals (2.5 million at scale 50)',
    table=lambda company, scale: _deals(int(50_000 * scale)),
    engines={k: functools.partial(f, cycle_of="closed") for k, f in DEALS_LARGE.engines.items() if k in ("kpikit", "pandas")}
    | {
        "polars": lambda df: _deals_polars(_polars(df, _DEAL_COLUMNS), cycle_of="closed"),
        "duckdb": lambda df: _deals_duckdb(_duckdb(df, "deals"), cycle_of="closed"),
    },
    native={k: functools.partial(f, cycle_of="closed") for k, f in DEALS_LARGE.native.items()},
    duckdb_table="deals",
    normalise=_deals_normalise,
    keys=["owner", "period"],
    company_scale=lambda scale: 0.01,
    columns=tuple(_DEAL_COLUMNS),
)

WORKLOADS.update({w.name: w for w in [NPS_REGION, REVENUE_METRICS, FUNNEL_30D, DEALS_CLOSED]})


# --- Option sweep: kpikit over the options an analyst uses, one changed at a time -----------
# `python benches/run.py --sweep --rows 1e6,1e7`. Each analysis: an input builder (rows → pandas
# DataFrame, fixed seed) and variants (name, input transform or None, call). The first variant
# is the plainest; the report gives every other as a ratio to it, so a slow path stands out.

_T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _times(rng: np.random.Generator, n: int, days: int = 730) -> pd.Series:
    return pd.Series(_T0 + pd.to_timedelta(np.sort(rng.integers(0, days * 86_400_000_000, n)), unit="us")).astype(
        "datetime64[us, UTC]"
    )


def _segments(rng: np.random.Generator, n: int) -> dict[str, Any]:
    """One segment column per kind: a 4-value categorical, the same as strings, and 1,000
    integer segments."""
    plan = pd.Categorical.from_codes(rng.integers(0, 4, n), categories=["free", "starter", "growth", "enterprise"])
    return {"plan": plan, "plan_str": pd.array(np.asarray(plan), dtype="str"), "team": rng.integers(0, 1000, n)}


def _sweep_responses(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    score = rng.choice(np.arange(11, dtype=np.int8), n, p=[0.03, 0.02, 0.02, 0.03, 0.04, 0.06, 0.08, 0.14, 0.2, 0.2, 0.18])
    return pd.DataFrame({"score": score, "time": _times(rng, n), **_segments(rng, n)})


def _sweep_events(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    users = max(1, n // 20)
    user = rng.integers(0, users, n)
    names = ["signup", "login", "feature_used", "report_created", "invite_sent", "upgrade"]
    event = pd.Categorical.from_codes(rng.choice(6, n, p=[0.05, 0.4, 0.35, 0.1, 0.05, 0.05]), categories=names)
    return pd.DataFrame({"user_id": user, "time": _times(rng, n), "event": event, **_segments(rng, n)})


def _sweep_leads(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    visited = _times(rng, n)
    out: dict[str, Any] = {"visited_at": visited}
    prev = visited
    for stage, p in zip(STAGES[1:], [0.3, 0.4, 0.5], strict=True):
        step = pd.to_timedelta((rng.gamma(1.5, 8.0, n) * 86_400_000_000).astype(np.int64), unit="us")
        nxt = (prev + step).where(rng.random(n) < p)
        out[stage] = nxt.astype("datetime64[us, UTC]")
        prev = nxt
    seg = _segments(rng, n)
    return pd.DataFrame({**out, "channel": seg["plan"], "channel_str": seg["plan_str"], "team": seg["team"]})


def _with(**changes: Callable[[pd.DataFrame], Any]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    """An input transform replacing columns: `_with(time=lambda df: ...)`."""
    return lambda df: df.assign(**{k: f(df) for k, f in changes.items()})


def _naive(col: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return _with(**{col: lambda df: df[col].dt.tz_convert(None)})


def _naive_all(cols: list[str]) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return _with(**{c: functools.partial(lambda df, c: df[c].dt.tz_convert(None), c=c) for c in cols})


def _kp() -> Any:
    import kpikit

    return kpikit


def _nps_call(**kw: Any) -> Callable[[pd.DataFrame], Any]:
    return lambda df: _kp().nps(df, score="score", output="arrow", **kw)


def _au_call(**kw: Any) -> Callable[[pd.DataFrame], Any]:
    return lambda df: _kp().active_users(df, user="user_id", time="time", output="arrow", **kw)


def _ret_call(**kw: Any) -> Callable[[pd.DataFrame], Any]:
    return lambda df: _kp().retention(df, user="user_id", time="time", output="arrow", **kw)


def _moves_call(fn: str = "mrr_movements", **kw: Any) -> Callable[[pd.DataFrame], Any]:
    return lambda df: getattr(_kp(), fn)(df, customer="customer_id", period="month", mrr="mrr", output="arrow", **kw)


def _deal_call(**kw: Any) -> Callable[[pd.DataFrame], Any]:
    base = {"created": "created", "closed": "closed", "amount": "amount", "won": "won", "rep": "owner"}
    return lambda df: _kp().deal_metrics(df, output="arrow", **(base | kw))


def _funnel_call(**kw: Any) -> Callable[[pd.DataFrame], Any]:
    return lambda df: _kp().funnel_from_stages(df, stages=STAGES, output="arrow", **kw)


def _snapshots_sweep(n: int) -> pd.DataFrame:
    df = _snapshots(n)
    rng = np.random.default_rng(4)
    plans = pd.Categorical.from_codes(
        rng.integers(0, 4, df["customer_id"].max() + 1), categories=["free", "starter", "growth", "enterprise"]
    )
    return df.assign(plan=plans[df["customer_id"].to_numpy()])


def _as_str_ids(col: str) -> Callable[[pd.DataFrame], pd.DataFrame]:
    return _with(**{col: lambda df: pd.array(np.char.add("cus_", df[col].to_numpy().astype("U")), dtype="str")})


_SWEEP_T = Callable[[pd.DataFrame], pd.DataFrame] | None
SWEEPS: dict[str, tuple[Callable[[int], pd.DataFrame], list[tuple[str, _SWEEP_T, Callable[[pd.DataFrame], Any]]]]] = {
    "nps": (
        _sweep_responses,
        [
            ("per month", None, _nps_call(time="time", freq="month")),
            ("no period, no segment", None, _nps_call()),
            ("per month, by 4 categorical segments", None, _nps_call(time="time", freq="month", by="plan")),
            ("per month, by 4 string segments", None, _nps_call(time="time", freq="month", by="plan_str")),
            ("per month, by 1,000 integer segments", None, _nps_call(time="time", freq="month", by="team")),
            ("per day", None, _nps_call(time="time", freq="day")),
            ("per week", None, _nps_call(time="time", freq="week")),
            ("per month, tz Europe/Berlin", None, _nps_call(time="time", freq="month", tz="Europe/Berlin")),
            ("per month, naive time", _naive("time"), _nps_call(time="time", freq="month")),
            (
                "per month, float64 score",
                _with(score=lambda df: df["score"].astype(np.float64)),
                _nps_call(time="time", freq="month"),
            ),
            (
                "csat per month",
                None,
                lambda df: _kp().csat(df, score="score", time="time", freq="month", score_range=(0, 10), output="arrow"),
            ),
        ],
    ),
    "mrr_movements": (
        _snapshots_sweep,
        [
            ("integer ids", None, _moves_call()),
            ("string ids", _as_str_ids("customer_id"), _moves_call()),
            ("categorical ids", _with(customer_id=lambda df: df["customer_id"].astype("category")), _moves_call()),
            ("by plan (4 categorical)", None, _moves_call(by="plan")),
            ("preset chartmogul", None, _moves_call(preset="chartmogul")),
            ("preset stripe", None, _moves_call(preset="stripe")),
            ("quarterly", None, _moves_call(freq="quarter")),
            ("detail (per-customer ledger)", None, _moves_call(detail=True)),
            ("revenue_metrics", None, _moves_call("revenue_metrics")),
            ("revenue_metrics by plan", None, _moves_call("revenue_metrics", by="plan")),
            ("revenue_cohorts", None, _moves_call("revenue_cohorts")),
        ],
    ),
    "deal_metrics": (
        _deals,
        [
            ("per rep per quarter, cycle of won", None, _deal_call()),
            ("cycle of closed", None, _deal_call(cycle_of="closed")),
            ("no rep", None, _deal_call(rep=None)),
            ("per month", None, _deal_call(freq="month")),
            ("no period", None, _deal_call(freq=None)),
            ("cohort created", None, _deal_call(cohort="created")),
            ("rep as strings", _with(owner=lambda df: pd.array(np.asarray(df["owner"]), dtype="str")), _deal_call()),
            ("naive times", _naive_all(["created", "closed"]), _deal_call()),
            ("cycle of closed, naive times", _naive_all(["created", "closed"]), _deal_call(cycle_of="closed")),
            ("tz Europe/Berlin", None, _deal_call(tz="Europe/Berlin")),
        ],
    ),
    "funnel_from_stages": (
        _sweep_leads,
        [
            ("no window, no segment", None, _funnel_call()),
            ("30-day window", None, _funnel_call(window="30d")),
            ("30-day window, by 4 categorical channels", None, _funnel_call(window="30d", by="channel")),
            ("30-day window, by 4 string channels", None, _funnel_call(window="30d", by="channel_str")),
            ("30-day window, by 1,000 integer segments", None, _funnel_call(window="30d", by="team")),
            ("30-day window, per month", None, _funnel_call(window="30d", freq="month")),
            ("30-day window, naive times", _naive_all(STAGES), _funnel_call(window="30d")),
        ],
    ),
    "active_users": (
        _sweep_events,
        [
            ("per day", None, _au_call()),
            ("per day, DAU/WAU/MAU windows", None, _au_call(windows=_WINDOWS)),
            ("per week", None, _au_call(freq="week")),
            ("per day, by 4 categorical segments", None, _au_call(by="plan")),
            ("per day, by 1,000 integer segments", None, _au_call(by="team")),
            ("per day, string user ids", _as_str_ids("user_id"), _au_call()),
            ("per day, naive time", _naive("time"), _au_call()),
            ("per day, tz America/New_York", None, _au_call(tz="America/New_York")),
            ("per day, only logins", None, _au_call(events="login")),
        ],
    ),
    "retention": (
        _sweep_events,
        [
            ("weekly, first time, on", None, _ret_call()),
            ("monthly", None, _ret_call(freq="month")),
            ("start event signup", None, _ret_call(start_event="signup")),
            ("recurring cohorts", None, _ret_call(cohort="recurring")),
            ("on or after", None, _ret_call(mode="on_or_after")),
            ("streak", None, _ret_call(mode="streak")),
            ("rolling 24 h boundaries", None, _ret_call(boundaries="rolling_24h", freq="day")),
            ("preset amplitude", None, _ret_call(preset="amplitude")),
            ("string user ids", _as_str_ids("user_id"), _ret_call()),
            ("naive time", _naive("time"), _ret_call()),
        ],
    ),
}
