"""A real PostgreSQL server for the database-source tests (started once per session, stopped at
the end), and the demo company loaded into it, into a DuckDB file, into SQLite and into Parquet
files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import kpikit

import pgserver  # beside this file


SCALE = 0.05
# Each demo role's columns (kpikit.Sources.demo's) as spec keys.
COLUMNS: dict[str, dict[str, Any]] = {
    role: dict(cols) for role, (_, cols) in
    ((r, getattr(kpikit.Sources.demo(scale=0.01), r)) for r in kpikit.Sources.demo(scale=0.01).roles())
}


def demo_tables() -> dict[str, pa.Table]:
    """The demo company's tables (as kpikit.Sources.demo builds them) as Arrow, categories as
    text: every database stores text, so every copy starts from the same types."""
    company = kpikit.Sources.demo(scale=SCALE)
    tables = {}
    for role in company.roles():
        t = pa.Table.from_pandas(getattr(company, role)[0], preserve_index=False)
        for i, f in enumerate(t.schema):
            if pa.types.is_dictionary(f.type):
                t = t.set_column(i, f.name, t.column(i).cast(pa.string()))
        tables[role] = t.replace_schema_metadata(None)
    return tables


@pytest.fixture(scope="session")
def tables() -> dict[str, pa.Table]:
    return demo_tables()


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
