"""A real PostgreSQL server for the database-source tests (started once per session, stopped at
the end), and the demo company loaded into it, into a DuckDB file, into SQLite and into Parquet
files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pgserver  # beside this file
import pyarrow as pa
import pyarrow.parquet as pq
import pytest


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
