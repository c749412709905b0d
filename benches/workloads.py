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
)


def _ret_kpikit(df: pd.DataFrame) -> Any:
    import kpikit

    return kpikit.retention(df, user="user_id", time="time", start_event="signup", period="month")


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
)

WORKLOADS.update({w.name: w for w in [ACTIVE_USERS, RETENTION]})
