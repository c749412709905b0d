"""Database sources against real databases: a PostgreSQL server started for the session, a
DuckDB file and a SQLite file holding the demo company, compared with the same tables read from
Parquet files."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kpikit
import pgserver  # tests/python/pgserver.py
from kpikit.__main__ import main
from pgserver import COLUMNS

# --- the databases, started or written once for the session -----------------------------

@pytest.fixture(scope="session")
def tables() -> dict[str, pa.Table]:
    return pgserver.demo_tables()


@pytest.fixture(scope="session")
def pg(tables: dict[str, pa.Table]) -> Iterator[Any]:
    """The server, with the demo company in schema ``crm``."""
    if pgserver.binaries() is None:
        pytest.skip("the PostgreSQL server binaries are not installed (make system-packages installs them)")
    import adbc_driver_postgresql.dbapi as adbc_pg

    server = pgserver.Server()
    try:
        with adbc_pg.connect(server.url) as con, con.cursor() as cur:
            cur.execute("create schema crm")
            for role, t in tables.items():
                cur.adbc_ingest(role, t, mode="create", db_schema_name="crm")  # ADBC's bulk load (COPY)
            con.commit()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def files(tables: dict[str, pa.Table], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company as Parquet files, a DuckDB file (demo.duckdb) and a SQLite file (demo.db)."""
    import adbc_driver_sqlite.dbapi as adbc_sqlite
    import duckdb

    d = tmp_path_factory.mktemp("demo-db")
    for role, t in tables.items():
        pq.write_table(t, d / f"{role}.parquet")
    con = duckdb.connect(str(d / "demo.duckdb"))
    for role, t in tables.items():
        con.register("incoming", t)
        con.execute(f"create table {role} as select * from incoming")
        con.unregister("incoming")
    con.close()
    with adbc_sqlite.connect(str(d / "demo.db")) as lite, lite.cursor() as cur:
        for role, t in tables.items():
            cur.adbc_ingest(role, t, mode="create")
        lite.commit()
    return d

AS_OF = "2026-10-31"


def _keys(role: str) -> str:
    lines = []
    for key, value in COLUMNS[role].items():
        lines.append(f"{key} = {value!r}".replace("'", '"'))
    return "\n".join(lines)


def spec_text(source: dict[str, str], as_of: str = AS_OF) -> str:
    """The executive scorecard of the demo company, each role read as ``source[role]`` says."""
    parts = [f'title = "Demo"\nas_of = {as_of}\n\n[scorecard]\npreset = "executive"\n']
    for role in COLUMNS:
        parts.append(f"[sources.{role}]\n{source[role]}\n{_keys(role)}\n")
    return "\n".join(parts)


def write_spec(d: Path, backend: str, files: Path, as_of: str = AS_OF) -> Path:
    def where(role: str) -> str:
        if backend == "parquet":
            return f'path = "{files / role}.parquet"'
        connection = {"postgresql": "${KPIKIT_TEST_PG_URL}", "duckdb": f"duckdb:///{files}/demo.duckdb",
                      "sqlite": f"sqlite:///{files}/demo.db"}[backend]
        table = f"crm.{role}" if backend == "postgresql" else role
        return f'connection = "{connection}"\ntable = "{table}"'

    path = d / f"{backend}.toml"
    path.write_text(spec_text({r: where(r) for r in COLUMNS}, as_of))
    return path


@pytest.fixture
def env(pg: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KPIKIT_TEST_PG_URL", pg.url)
    return pg


def _html(report: Any) -> str:
    # The one line that differs between two runs: when the report was generated.
    return re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC by kpikit", "TIME", report.html)


@pytest.fixture(scope="module")
def parquet_report(files: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    spec = kpikit.load_spec(write_spec(tmp_path_factory.mktemp("spec"), "parquet", files))
    return spec, spec.report()


@pytest.mark.parametrize("backend", ["postgresql", "duckdb", "sqlite"])
def test_the_report_from_a_database_is_the_parquet_report(
    backend: str, env: Any, files: Path, tmp_path: Path, parquet_report: Any
) -> None:
    _, want = parquet_report
    spec = kpikit.load_spec(write_spec(tmp_path, backend, files))
    got = spec.report()
    assert got.sections == want.sections and got.skipped == want.skipped
    rows = got.scorecard.rows
    assert len(rows) == len(want.scorecard.rows) >= 8
    pd.testing.assert_frame_equal(rows, want.scorecard.rows)
    assert _html(got) == _html(want)
    assert pgserver.PASSWORD not in got.html


ANALYSES = {
    "mrr_movements": lambda s: kpikit.mrr_movements(s.subscriptions[0], customer="customer_id", period="month",
                                                    mrr="mrr", output="pandas"),
    "deal_metrics": lambda s: kpikit.deal_metrics(s.deals[0], created="created", closed="closed", amount="amount",
                                                  won="won", freq="month", output="pandas"),
    "nps": lambda s: kpikit.nps(s.responses[0], score="score", time="time", freq="month", output="pandas"),
    "active_users": lambda s: kpikit.active_users(s.events[0], user="user_id", time="time", freq="month",
                                                  output="pandas"),
    "retention": lambda s: kpikit.retention(s.events[0], user="user_id", time="time", freq="month", output="pandas"),
    "funnel_from_stages": lambda s: kpikit.funnel_from_stages(
        s.leads[0], stages=["visited_at", "signed_up_at", "pql_at", "customer_at"], window="90d", output="pandas"),
}


@pytest.mark.parametrize("backend", ["postgresql", "duckdb", "sqlite"])
def test_the_analyses_from_a_database_are_the_parquet_analyses(
    backend: str, env: Any, files: Path, tmp_path: Path, parquet_report: Any
) -> None:
    want = parquet_report[0].sources
    got = kpikit.load_spec(write_spec(tmp_path, backend, files)).sources
    for name, analysis in ANALYSES.items():
        expected = analysis(want)
        assert len(expected) > 3, name
        pd.testing.assert_frame_equal(analysis(got), expected, check_dtype=False, obj=name)


def test_the_query_sent_projects_the_columns_and_pushes_the_time_bound(
    env: Any, files: Path, tmp_path: Path, tables: dict[str, pa.Table], caplog: pytest.LogCaptureFixture
) -> None:
    # A wide table: the demo deals with ten more columns nobody asked for.
    wide = tables["deals"]
    for i in range(10):
        wide = wide.append_column(f"extra_{i}", pa.array([f"x{i}"] * wide.num_rows))
    import adbc_driver_postgresql.dbapi as adbc_pg

    with adbc_pg.connect(env.url) as con, con.cursor() as cur:
        cur.adbc_ingest("wide_deals", wide, mode="replace", db_schema_name="crm")
        con.commit()
    deals = dict(COLUMNS["deals"])
    query = "select * from crm.wide_deals -- a comment ends the query"
    with caplog.at_level(logging.INFO, logger="kpikit.sql"):
        bundle = kpikit.Sources(deals=(kpikit.sql("${KPIKIT_TEST_PG_URL}", query), deals))
    sent = [r.getMessage() for r in caplog.records if "select" in r.getMessage()]
    wanted = ", ".join(f'"{c}"' for c in deals.values())
    assert any(f"select {wanted} from ({query}) as q" in s for s in sent), sent
    assert not any("extra_" in s for s in sent)
    assert bundle.deals[0].column_names == list(deals.values())
    assert bundle.deals[0].num_rows == wide.num_rows

    # The spec's as_of bounds the rows read, on each role's own time column.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="kpikit.sql"):
        spec = kpikit.load_spec(write_spec(tmp_path, "postgresql", files, as_of="2026-03-31"))
    sent = [r.getMessage() for r in caplog.records]
    assert any("""where "created" < '2026-04-01 00:00:00+00:00'""" in s for s in sent), sent
    assert any("""where "month" < '2026-04-01'""" in s for s in sent), sent  # a naive snapshot month
    created = tables["deals"].column("created").to_pandas()
    assert spec.sources.deals[0].num_rows == int((created < pd.Timestamp("2026-04-01", tz="UTC")).sum()) > 0
    months = spec.sources.subscriptions[0].column("month").to_pandas()
    assert months.max() == pd.Timestamp("2026-03-01")
    assert all(pgserver.PASSWORD not in s for s in sent)


def test_the_api_reads_queries_tables_and_arrow_streams(env: Any, files: Path, parquet_report: Any) -> None:
    import duckdb

    want = parquet_report[0].sources
    deals = COLUMNS["deals"]
    by_query = kpikit.Sources(deals=kpikit.sql(env.url, "select * from crm.deals where amount >= 0", columns=deals))
    by_table = kpikit.Sources(deals=(kpikit.sql(env.url, table_name="crm.deals"), deals))
    con = duckdb.connect(str(files / "demo.duckdb"), read_only=True)
    relation = kpikit.Sources(deals=(con.sql("select * from deals"), deals))   # a DuckDB relation, a stream
    expected = ANALYSES["deal_metrics"](want)
    import adbc_driver_postgresql.dbapi as adbc_pg

    with adbc_pg.connect(env.url) as pg_con, pg_con.cursor() as cur:
        cur.execute("select * from crm.deals")
        from_cursor = kpikit.Sources(deals=(cur.fetch_record_batch(), deals))  # an ADBC result, read once
    for bundle in (by_query, by_table, relation, from_cursor):
        pd.testing.assert_frame_equal(ANALYSES["deal_metrics"](bundle), expected, check_dtype=False)
    con.close()
    # An analysis takes a database source as its table.
    moves = kpikit.mrr_movements(kpikit.sql(env.url, table_name="crm.subscriptions"), customer="customer_id",
                                 period="month", mrr="mrr", output="pandas")
    pd.testing.assert_frame_equal(moves, ANALYSES["mrr_movements"](want), check_dtype=False)
    assert pgserver.PASSWORD not in repr(kpikit.sql(env.url, "select 1"))


def test_verbose_prints_the_sql_sent(env: Any, files: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = write_spec(tmp_path, "postgresql", files)
    assert main(["report", str(spec), "-o", str(tmp_path / "r.html"), "-q", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert 'select "deal_id", "owner", "created", "closed", "amount", "won" from crm.deals where "created" <' in err
    assert f"postgresql://kpikit:***@127.0.0.1:{env.port}/postgres" in err
    assert pgserver.PASSWORD not in err
    assert pgserver.PASSWORD not in (tmp_path / "r.html").read_text()


# ---- bad cases: each a kpikit error naming the source (and never the password) ----------------


def _spec_error(tmp_path: Path, deals: str, env: Any | None = None) -> str:
    """The error of loading a spec whose deals source is ``deals`` (the rest from Parquet)."""
    text = spec_text({r: f'path = "{tmp_path}/{r}.parquet"' for r in COLUMNS} | {"deals": deals})
    for role, t in _TABLES.items():
        import pyarrow.parquet as pq

        pq.write_table(t, tmp_path / f"{role}.parquet")
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(kpikit.KpikitError) as caught:
        kpikit.load_spec(path)
    message = str(caught.value)
    assert pgserver.PASSWORD not in message
    line = text.splitlines().index("[sources.deals]") + 1
    # Placed on the source's header or on the key the problem is about.
    found = re.search(r"bad\.toml:(\d+): sources\.deals", message)
    assert found is not None and line <= int(found.group(1)) <= line + 12, message
    return message


_TABLES: dict[str, pa.Table] = {}


@pytest.fixture
def bad(env: Any, tables: dict[str, pa.Table], tmp_path: Path) -> Any:
    _TABLES.update(tables)
    return lambda deals: _spec_error(tmp_path, deals)


def test_an_unreachable_host(bad: Any) -> None:
    port = pgserver._free_port()  # nothing listens there
    message = bad(f'connection = "postgresql://kpikit:{pgserver.PASSWORD}@127.0.0.1:{port}/crm"\ntable = "deals"')
    assert f"cannot connect to postgresql at 127.0.0.1:{port}" in message and "refused" in message


def test_a_wrong_password(bad: Any, env: Any) -> None:
    wrong = env.url.replace(pgserver.PASSWORD, "not-the-password")
    message = bad(f'connection = "{wrong}"\ntable = "crm.deals"')
    assert f"cannot connect to postgresql at 127.0.0.1:{env.port}" in message
    assert "password authentication failed" in message and "not-the-password" not in message


def test_a_missing_environment_variable(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_NO_SUCH_VARIABLE}"\ntable = "crm.deals"')
    assert "environment variable KPIKIT_NO_SUCH_VARIABLE is not set" in message


def test_a_query_with_a_syntax_error(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_TEST_PG_URL}"\nquery = "selec * from crm.deals"')
    assert "postgresql at 127.0.0.1" in message and "refused the query" in message
    assert "syntax error at or near" in message and "select * from (selec * from crm.deals" in message


def test_a_missing_column(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_TEST_PG_URL}"\nquery = "select deal_id, owner, created, closed, won from crm.deals"')
    assert "sources.deals.amount: the query's result has no column 'amount'" in message


def test_a_column_of_the_wrong_type(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_TEST_PG_URL}"\n'
                  'query = "select deal_id, owner, created::text as created, closed, amount::text as amount, won '
                  'from crm.deals"')
    assert "sources.deals.created: column 'created' of the query's result is string, not a timestamp or date" in message
    assert "sources.deals.amount: column 'amount'" in message and "not a number" in message


def test_an_empty_result(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_TEST_PG_URL}"\nquery = "select * from crm.deals where amount < 0"')
    assert "sources.deals: the query returned no rows" in message


def test_nulls_in_keys(bad: Any) -> None:
    message = bad('connection = "${KPIKIT_TEST_PG_URL}"\n'
                  'query = "select case when deal_id % 7 = 0 then null else deal_id end as deal_id, owner, created, '
                  'closed, amount, won from crm.deals"')
    assert re.search(r"sources\.deals\.deal: column 'deal_id' has \d+ null values", message), message


def test_the_api_names_the_source_and_hides_the_password(env: Any) -> None:
    wrong = env.url.replace(pgserver.PASSWORD, "not-the-password")
    with pytest.raises(kpikit.InputError, match=r"deals: cannot connect to postgresql at 127\.0\.0\.1") as caught:
        kpikit.Sources(deals=(kpikit.sql(wrong, table_name="crm.deals"), COLUMNS["deals"]))
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(kpikit.SchemaError, match=r"deals\.won: the query's result has no column 'won'"):
        kpikit.Sources(deals=(kpikit.sql(env.url, "select deal_id, created, closed, amount from crm.deals"),
                              COLUMNS["deals"]))


def test_redaction() -> None:
    assert kpikit._sql.redact("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert kpikit._sql.redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert kpikit._sql.redact("postgresql://u:p@ss@h:5/db?x=1") == "postgresql://u:***@h:5/db?x=1"
    assert kpikit._sql.redact("postgresql://h/db?password=x&sslmode=require") == "postgresql://h/db?password=***&sslmode=require"


# ---- streaming: an analysis reads a database source chunk by chunk ------------------------------


@pytest.mark.parametrize("chunk_rows", [50, 213])
def test_analyses_stream_a_database_source_in_chunks(env: Any, tables: dict[str, pa.Table], chunk_rows: int) -> None:
    import dataclasses

    def source(name: str) -> Any:
        return dataclasses.replace(kpikit.sql(env.url, table_name=f"crm.{name}"), chunk_rows=chunk_rows)

    # Several chunks, and none splits a customer (the key revenue movements need whole).
    chunks = list(source("subscriptions").chunks(["customer_id", "month", "mrr"], order="customer_id"))
    assert len(chunks) >= max(2, tables["subscriptions"].num_rows // (chunk_rows * 2))
    firsts = [c.column("customer_id")[0].as_py() for c in chunks]
    lasts = [c.column("customer_id")[-1].as_py() for c in chunks]
    assert all(last < first for last, first in zip(lasts, firsts[1:], strict=False))
    assert sum(c.num_rows for c in chunks) == tables["subscriptions"].num_rows

    cases = [
        ("subscriptions", lambda t: kpikit.mrr_movements(t, customer="customer_id", period="month", mrr="mrr",
                                                         output="pandas")),
        ("deals", lambda t: kpikit.deal_metrics(t, deal="deal_id", created="created", closed="closed",
                                                amount="amount", won="won", freq="month", output="pandas")),
        ("responses", lambda t: kpikit.nps(t, score="score", time="time", freq="month", output="pandas")),
        ("events", lambda t: kpikit.active_users(t, user="user_id", time="time", freq="month", output="pandas")),
        ("events", lambda t: kpikit.retention(t, user="user_id", time="time", freq="month", output="pandas")),
    ]
    for name, analysis in cases:
        expected = analysis(tables[name])
        assert len(expected) > 3
        pd.testing.assert_frame_equal(analysis(source(name)), expected, check_dtype=False, obj=name)


def test_a_streamed_source_with_bad_rows_names_it(env: Any) -> None:
    nulls = kpikit.sql(env.url, "select case when deal_id % 5 = 0 then null else created end as created, closed, "
                                "amount, won from crm.deals")
    with pytest.raises(kpikit.InputError, match=r"sql source, rows from 0: .*created") as caught:
        kpikit.deal_metrics(nulls, created="created", closed="closed", amount="amount", won="won")
    assert pgserver.PASSWORD not in str(caught.value)


def test_a_chunk_ends_with_a_whole_key() -> None:
    from kpikit._sql import _whole_keys

    keys = pa.chunked_array([["a", "a", "b", "b", "b"], ["b", "c", "c"]])
    assert _whole_keys(keys, 3) == 2            # b's rows wait for the next chunk
    assert _whole_keys(keys.slice(2), 3) == 4   # b fills the chunk: all of its rows, up to c
    assert _whole_keys(keys.slice(2, 4), 3) is None  # b may go on past what has arrived
    assert _whole_keys(pa.chunked_array([["a", None, None]]), 2) == 1


def test_a_file_database_is_found_relative_to_the_spec(files: Path, tables: dict[str, pa.Table]) -> None:
    text = spec_text({r: f'path = "{r}.parquet"' for r in COLUMNS} | {"deals": 'connection = "sqlite:demo.db"\ntable = "deals"'})
    (files / "relative.toml").write_text(text)
    spec = kpikit.load_spec(files / "relative.toml")
    assert spec.sources.deals[0].num_rows == tables["deals"].num_rows
    (files / "missing.toml").write_text(text.replace("sqlite:demo.db", "duckdb:nowhere.duckdb"))
    with pytest.raises(kpikit.ParameterError, match=r"missing\.toml:\d+: sources\.deals: the duckdb database .*nowhere\.duckdb' does not exist"):
        kpikit.load_spec(files / "missing.toml")


def test_a_funnel_reads_only_its_columns(env: Any, tables: dict[str, pa.Table], caplog: pytest.LogCaptureFixture) -> None:
    events = kpikit.sql(env.url, table_name="crm.events")
    with caplog.at_level(logging.INFO, logger="kpikit.sql"):
        got = kpikit.funnel(events, user="user_id", time="time", steps=["signup", "feature_used", "upgrade"],
                            output="pandas")
    assert any('select "user_id", "time", "event" from crm.events' in r.getMessage() for r in caplog.records)
    want = kpikit.funnel(tables["events"], user="user_id", time="time", steps=["signup", "feature_used", "upgrade"],
                         output="pandas")
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    with pytest.raises(kpikit.InputError, match="never"):
        kpikit.funnel(events, user="user_id", time="time", steps=["signup", "no_such_event"])


def test_sqlite_columns_null_in_their_first_rows(tmp_path: Path) -> None:
    # SQLite's ADBC driver types a column from its first rows: a time or an amount missing in
    # the first thousands of rows and present later is still read, as a time and a number.
    import adbc_driver_sqlite.dbapi as adbc_sqlite

    n = 5000
    tickets = pa.table({"opened": [f"2026-01-{1 + i % 28:02d} 10:00:00" for i in range(n)],
                        "resolved": [None] * 3000 + ["2026-02-01 09:00:00"] * (n - 3000),
                        "csat": [None] * 3000 + [4.5] * (n - 3000)})
    with adbc_sqlite.connect(str(tmp_path / "t.db")) as con, con.cursor() as cur:
        cur.adbc_ingest("tickets", tickets, mode="create")
        con.commit()
    bundle = kpikit.Sources(tickets=(kpikit.sql(f"sqlite:///{tmp_path}/t.db", table_name="tickets"),
                                     {"opened": "opened", "resolved": "resolved", "csat": "csat"}))
    got = bundle.tickets[0]
    assert got.schema.field("resolved").type == pa.timestamp("us") and got.column("resolved").null_count == 3000
    assert pa.types.is_floating(got.schema.field("csat").type) and got.column("csat").null_count == 3000


def test_postgresql_numeric_amounts_are_numbers(env: Any, tables: dict[str, pa.Table]) -> None:
    query = "select deal_id, created, closed, round(amount::numeric, 2) as amount, won from crm.deals"
    bundle = kpikit.Sources(deals=(kpikit.sql(env.url, query), COLUMNS["deals"] | {"owner": "deal_id"}))
    amount = bundle.deals[0].column("amount")
    assert amount.type == pa.float64()
    assert amount.to_pylist() == [round(a, 2) for a in tables["deals"].column("amount").to_pylist()]
    streamed = kpikit.deal_metrics(kpikit.sql(env.url, query), created="created", closed="closed", amount="amount",
                                   won="won", output="pandas")
    rounded = tables["deals"].set_column(tables["deals"].column_names.index("amount"), "amount",
                                         pa.array([round(a, 2) for a in tables["deals"].column("amount").to_pylist()]))
    want = kpikit.deal_metrics(rounded, created="created", closed="closed", amount="amount", won="won", output="pandas")
    pd.testing.assert_frame_equal(streamed, want, check_dtype=False)
