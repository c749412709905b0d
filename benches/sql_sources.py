"""Database sources against Parquet: read + ``mrr_movements`` + ``deal_metrics`` on the same
rows from a PostgreSQL server (kpikit.sql, ADBC) and from Parquet files.

    python benches/sql_sources.py [ROWS]      # default 10**6 rows per table

Starts a throwaway PostgreSQL server (tests/python/pgserver.py: Debian's server binaries,
``make system-packages``), loads a synthetic subscriptions table (customers × months) and a
deals table of ROWS rows each, writes the same tables to Parquet, and times, best of three:
reading the columns the analyses use, each analysis on the table read, and each analysis given
the database source itself (read batch by batch, one partial state per chunk). Not part of
``make test``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "python"))

import kpikit
import pgserver  # tests/python/pgserver.py: the throwaway server

SUBSCRIPTION_COLUMNS = ["customer_id", "month", "mrr"]
DEAL_COLUMNS = ["deal_id", "created", "closed", "amount", "won"]


def subscriptions(rows: int, rng: np.random.Generator) -> pa.Table:
    """Customers × 24 months, each customer present from a random month for a random span."""
    customers = rows // 4  # more than enough: the spans are cut at `rows`
    start = rng.integers(0, 24, customers)
    span = rng.integers(1, 25, customers)
    length = np.minimum(span, 24 - start)
    keep = np.cumsum(length) <= rows
    start, length = start[keep], length[keep]
    who = np.repeat(np.arange(len(start)), length)
    offset = np.arange(len(who)) - np.repeat(np.cumsum(length) - length, length)
    month = (np.repeat(start, length) + offset).astype("int64")
    months = np.array([np.datetime64("2024-11-01", "M") + i for i in range(24)]).astype("datetime64[ms]")
    base = rng.choice([49.0, 99.0, 299.0, 999.0], len(start))
    mrr = np.repeat(base, length) * rng.choice([1.0, 1.0, 1.0, 1.25, 0.8], len(who))
    return pa.table({"customer_id": pa.array([f"c{i:07d}" for i in who]), "month": pa.array(months[month]),
                     "mrr": pa.array(mrr)})


def deals(rows: int, rng: np.random.Generator) -> pa.Table:
    created = np.datetime64("2024-11-01T00:00:00", "us") + rng.integers(0, 700 * 86_400, rows).astype("timedelta64[s]")
    cycle = rng.integers(1, 120 * 86_400, rows).astype("timedelta64[s]")
    open_ = rng.random(rows) < 0.1
    closed = pa.array(created + cycle, pa.timestamp("us", tz="UTC"), mask=open_)
    won = pa.array(rng.random(rows) < 0.3, mask=open_)
    return pa.table({"deal_id": pa.array(np.arange(rows)), "created": pa.array(created, pa.timestamp("us", tz="UTC")),
                     "closed": closed, "amount": pa.array(rng.gamma(2.0, 5_000.0, rows)), "won": won})


def best(work: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = work()
        times.append(time.perf_counter() - started)
    return min(times), out


def movements(table: Any) -> Any:
    return kpikit.mrr_movements(table, customer="customer_id", period="month", mrr="mrr", output="arrow")


def deal_metrics(table: Any) -> Any:
    return kpikit.deal_metrics(table, deal="deal_id", created="created", closed="closed", amount="amount", won="won",
                               freq="month", output="arrow")


def main(rows: int) -> None:
    import adbc_driver_postgresql.dbapi as adbc_pg

    rng = np.random.default_rng(0)
    subs, dls = subscriptions(rows, rng), deals(rows, rng)
    folder = Path(tempfile.mkdtemp(prefix="kpikit-bench-"))
    pq.write_table(subs, folder / "subscriptions.parquet")
    pq.write_table(dls, folder / "deals.parquet")
    server = pgserver.Server()
    try:
        with adbc_pg.connect(server.url) as con, con.cursor() as cur:
            started = time.perf_counter()
            cur.adbc_ingest("subscriptions", subs, mode="create")
            cur.adbc_ingest("deals", dls, mode="create")
            con.commit()
            cur.execute("analyze")
            print(f"loaded {subs.num_rows:,} subscription rows and {dls.num_rows:,} deals into PostgreSQL "
                  f"in {time.perf_counter() - started:.1f} s (ADBC bulk ingest)")
        sources = {
            "parquet": (lambda: pq.read_table(folder / "subscriptions.parquet", columns=SUBSCRIPTION_COLUMNS),
                        lambda: pq.read_table(folder / "deals.parquet", columns=DEAL_COLUMNS)),
            "postgresql": (lambda: kpikit.sql(server.url, table_name="subscriptions").read(SUBSCRIPTION_COLUMNS),
                           lambda: kpikit.sql(server.url, table_name="deals").read(DEAL_COLUMNS)),
        }
        print(f"\n{'source':<12}{'step':<34}{'seconds':>9}")
        results = {}
        for name, (read_subs, read_deals) in sources.items():
            t_subs, s_table = best(read_subs)
            t_deals, d_table = best(read_deals)
            t_moves, moves = best(lambda t=s_table: movements(t))
            t_dm, dm = best(lambda t=d_table: deal_metrics(t))
            results[name] = (moves, dm)
            for step, seconds in ((f"read subscriptions ({s_table.nbytes / 1e6:.0f} MB Arrow)", t_subs),
                                  (f"read deals ({d_table.nbytes / 1e6:.0f} MB Arrow)", t_deals),
                                  ("mrr_movements", t_moves), ("deal_metrics", t_dm),
                                  ("total", t_subs + t_deals + t_moves + t_dm)):
                print(f"{name:<12}{step:<34}{seconds:>9.3f}")
        t_stream_moves, s_moves = best(lambda: movements(kpikit.sql(server.url, table_name="subscriptions")))
        t_stream_dm, s_dm = best(lambda: deal_metrics(kpikit.sql(server.url, table_name="deals")))
        print(f"{'postgresql':<12}{'mrr_movements, streamed':<34}{t_stream_moves:>9.3f}")
        print(f"{'postgresql':<12}{'deal_metrics, streamed':<34}{t_stream_dm:>9.3f}")
        assert results["parquet"][0].equals(results["postgresql"][0]) and s_moves.num_rows == results["parquet"][0].num_rows
        assert results["parquet"][1].num_rows == results["postgresql"][1].num_rows == s_dm.num_rows
    finally:
        server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000)
