"""Database sources: a query or a table in PostgreSQL, SQLite or a DuckDB file, read as Arrow.

A source is declared by a connection string and a query (or a table name)::

    kpikit.sql("postgresql://kpi:${KPIKIT_PG_PASSWORD}@db.internal/crm", "select * from deals")
    kpikit.sql("sqlite:///srv/data/crm.db", table_name="deals")
    kpikit.sql("duckdb:warehouse.duckdb", "select * from main.events")

PostgreSQL and SQLite are read through ADBC drivers (``adbc-driver-postgresql``,
``adbc-driver-sqlite``) and DuckDB files through DuckDB's own Arrow export: every driver hands
over Arrow record batches, no row is converted one by one (``pip install "kpikit[sql]"``).

What kpikit sends (docs/conventions.md#database-sources):

* the schema first, ``select * from (<query>) as q limit 0``: the columns a role names must
  exist and have a usable type before any row is read;
* then only those columns, ``select "a", "b" from (<query>) as q where "t" < '<as_of + 1 day>'``:
  the time bound is pushed down when an ``as_of`` day is known and the role has a time column.
  No lower bound: the report's trends, cohorts and MRR bridge read each source's whole history
  (a customer's movement compares its period with the one before).

``${NAME}`` in a connection string is replaced by the environment variable ``NAME``. A password
never appears in a message, a log line, the report or its history: connection strings are
shown with their password replaced by ``***``. The SQL sent is logged on the ``kpikit.sql``
logger at level INFO (``kpikit report --verbose`` prints it).
"""

from __future__ import annotations

import datetime as _dt
import difflib
import logging
import os
import re
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .exceptions import InputError, KpikitError, ParameterError, SchemaError

__all__ = ["SqlSource", "sql"]

log = logging.getLogger("kpikit.sql")

#: Rows per record batch asked of DuckDB (the ADBC drivers size their batches themselves).
BATCH_ROWS = 65_536
#: Rows per partial state when an analysis streams a database source: about 20-60 MB of Arrow
#: for the few columns an analysis reads.
CHUNK_ROWS = 1 << 20
# The column keys naming a row's own time, by role: the one a time bound is pushed down on
# (every other time of the row — closed, resolved, a later funnel stage — comes after it).
_TIME_KEY = {"subscriptions": ("period", "started"), "spend": ("time",), "deals": ("created",),
             "leads": ("created",), "responses": ("time",), "tickets": ("opened",), "events": ("time",)}
# The keys identifying a row's entity: a null there is no customer, deal or user at all.
_ID_KEYS = ("customer", "deal", "user")
_SCHEMES = {"postgresql": "postgresql", "postgres": "postgresql", "sqlite": "sqlite", "duckdb": "duckdb"}
_SOURCE_KEYS = ("connection", "query", "table")


# The package each kind of database is read with (the install hint of a missing driver).
_PACKAGES = {"postgresql": "adbc-driver-postgresql", "sqlite": "adbc-driver-sqlite", "duckdb": "duckdb"}


@dataclass(frozen=True)
class Target:
    """A parsed connection string: the kind of database, what the driver is given, the host
    (or file) named in messages, and the secrets no message may show."""

    kind: str
    dsn: str
    where: str
    shown: str
    secrets: tuple[str, ...] = ()


def _expand(connection: str, name: str) -> str:
    """``${NAME}`` replaced by the environment variable ``NAME``."""

    def value(found: re.Match[str]) -> str:
        var = found.group(1)
        if var not in os.environ:
            raise ParameterError(f"{name}: the connection string uses ${{{var}}}, and the environment variable {var} "
                                 "is not set")
        return os.environ[var]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", value, connection)


def redact(connection: str) -> str:
    """A connection string fit to show: the password of its user part and any ``password=``
    parameter replaced by ``***``; ``${NAME}`` references are kept as written (they are no
    secret).

    >>> redact("postgresql://kpi:s3cret@db.example.com:5432/crm?sslmode=require")
    'postgresql://kpi:***@db.example.com:5432/crm?sslmode=require'
    >>> redact("postgresql://db/crm?user=kpi&password=s3cret")
    'postgresql://db/crm?user=kpi&password=***'
    """
    # Up to the last @ of the authority: libpq splits there, so a password may hold an @.
    shown = re.sub(r"(://[^:/@?#]*):[^/?#]*@", r"\1:***@", connection)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", shown)


def _target(connection: str, name: str, base: Path | None) -> Target:
    """Parse an expanded connection string (``name`` places a problem in messages)."""
    scheme, sep, rest = connection.partition(":")
    kind = _SCHEMES.get(scheme.lower()) if sep else None
    if kind is None:
        raise ParameterError(f"{name}: {redact(connection)!r} is not a connection string kpikit reads; use "
                             "postgresql://user:password@host:port/database, sqlite:///path/file.db or "
                             "duckdb:///path/file.duckdb")
    if kind == "postgresql":
        parts = urllib.parse.urlsplit(connection)
        secrets = [s for s in (parts.password, *urllib.parse.parse_qs(parts.query).get("password", [])) if s]
        secrets += [urllib.parse.unquote(s) for s in secrets]
        try:
            port = parts.port
        except ValueError:
            raise ParameterError(f"{name}: {redact(connection)!r}: the port is not a number") from None
        where = f"{parts.hostname or 'localhost'}:{port or 5432}"
        return Target(kind, connection, where, redact(connection), tuple(sorted(set(secrets), key=len, reverse=True)))
    # A file: sqlite:///abs/path.db (absolute) or sqlite:path.db (relative to the spec).
    path_text = "/" + rest.lstrip("/") if rest.startswith("//") else rest
    path_text = path_text.split("?", 1)[0]
    if not path_text:
        raise ParameterError(f"{name}: {connection!r} names no database file")
    path = Path(path_text)
    if not path.is_absolute() and base is not None:
        path = base / path
    if not path.is_file():
        raise InputError(f"{name}: the {kind} database {str(path)!r} does not exist (or is not a file)")
    return Target(kind, str(path), str(path), connection)


def _scrub(text: str, target: Target) -> str:
    """A driver's message without any secret of the connection, on one line."""
    for s in target.secrets:
        text = text.replace(s, "***")
    text = text.replace(target.dsn, target.shown)
    return " ".join(redact(text).split())


def _driver_error(error: Exception, target: Target) -> str:
    """A driver's message, scrubbed and shortened to its first statement of what went wrong."""
    text = _scrub(str(error), target)
    # ADBC prefixes its status code ("IO: ", "INVALID_ARGUMENT: [libpq] …"); keep the reason.
    text = re.sub(r"^[A-Z_]+: (\[[^\]]+\] )?", "", text)
    return text[:400]


class _Connection:
    """An open connection: schemas and record-batch readers of SQL text."""

    def __init__(self, target: Target, raw: Any, cursor: Any) -> None:
        self.target, self.raw, self.cursor = target, raw, cursor

    def schema(self, query: str) -> Any:
        reader = self.reader(query)
        schema = reader.schema
        reader.read_all()
        return _numbers_schema(schema)

    def reader(self, query: str, batch_rows: int = BATCH_ROWS, *, one_batch: bool = False) -> Any:
        log.info("kpikit.sql: %s: %s", self.target.shown, query.replace("\n) as q", ") as q"))
        if self.target.kind == "duckdb":
            rel = self.raw.sql(query)
            if hasattr(rel, "to_arrow_reader"):
                return rel.to_arrow_reader(batch_rows)
            return rel.fetch_arrow_reader(batch_rows)  # duckdb 1.x
        if one_batch and self.target.kind == "sqlite":
            # The driver types each column from its first batch: one batch sees every value.
            self.cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(2**30)})
        self.cursor.execute(query)
        return self.cursor.fetch_record_batch()


def _driver_errors() -> tuple[type[Exception], ...]:
    """The exceptions a driver raises (those of the drivers loaded so far), and Arrow's."""
    found: list[type[Exception]] = []
    for module, name in (("adbc_driver_manager", "Error"), ("adbc_driver_manager", "DatabaseError"), ("duckdb", "Error")):
        mod = sys.modules.get(module)
        if mod is not None and isinstance(getattr(mod, name, None), type):
            found.append(getattr(mod, name))
    import pyarrow as pa

    return (*found, pa.ArrowException, OSError)


@contextmanager
def _connect(target: Target, name: str) -> Iterator[_Connection]:
    """A connection to ``target``; a failure is an :class:`~kpikit.InputError` naming the
    source and the host, without the password."""
    raw: Any
    cursor: Any
    try:
        if target.kind == "duckdb":
            import duckdb

            raw = duckdb.connect(target.dsn, read_only=True)
            cursor = None
        elif target.kind == "postgresql":
            import adbc_driver_postgresql.dbapi as pg

            raw = pg.connect(target.dsn)
            cursor = raw.cursor()
        else:
            import adbc_driver_sqlite.dbapi as lite

            raw = lite.connect(target.dsn)
            cursor = raw.cursor()
    except ImportError:
        package = _PACKAGES[target.kind]
        raise ParameterError(f"{name}: reading {target.kind} needs the {package} package: "
                             f"pip install \"kpikit[sql]\" (or pip install {package})") from None
    except _driver_errors() as e:
        raise InputError(f"{name}: cannot connect to {target.kind} at {target.where}: "
                         f"{_driver_error(e, target)}") from None
    try:
        yield _Connection(target, raw, cursor)
    finally:
        for closable in (cursor, raw):
            # Closing a broken connection may fail again; there is nothing left to keep.
            with suppress(Exception):
                if closable is not None:
                    closable.close()


def _ident(name: str) -> str:
    """A column name as a quoted SQL identifier (PostgreSQL, SQLite and DuckDB alike)."""
    return '"' + name.replace('"', '""') + '"'


_TABLE_NAME = re.compile(r'^(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")(?:\.(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")){0,2}$')


@dataclass(frozen=True)
class SqlSource:
    """A table of a database, read by kpikit through Arrow (see :func:`kpikit.sql`).

    It exports the Arrow C stream interface (``__arrow_c_stream__``), so every analysis takes
    it as its table; :class:`kpikit.Sources` reads the columns its role names once.
    """

    connection: str
    query: str | None = None
    table_name: str | None = None
    columns: Mapping[str, Any] | None = None
    base: Path | None = field(default=None, repr=False)
    name: str = "sql source"
    #: Rows per partial state when an analysis streams the source (see :meth:`chunks`).
    chunk_rows: int = field(default=CHUNK_ROWS, repr=False)

    def __post_init__(self) -> None:
        if (self.query is None) == (self.table_name is None):
            raise ParameterError(f"{self.name}: give a query or a table name (table_name=), one of the two")
        if self.table_name is not None and not _TABLE_NAME.match(self.table_name):
            raise ParameterError(f"{self.name}: table_name {self.table_name!r} is not a table name (schema.table, "
                                 "quoted with \"…\" where it needs it); write a query instead")
        if self.query is not None and (not isinstance(self.query, str) or not self.query.strip()):
            raise ParameterError(f"{self.name}: the query is empty")

    def __repr__(self) -> str:
        what = f"query={self.query!r}" if self.query is not None else f"table_name={self.table_name!r}"
        return f"kpikit.sql({redact(self.connection)!r}, {what})"

    # The user's relation, wrapped so that kpikit selects from it.
    def _relation(self) -> str:
        if self.table_name is not None:
            return self.table_name
        assert self.query is not None
        # The parenthesis on a line of its own: a query ending in a -- comment must not swallow it.
        return "(" + self.query.strip().rstrip(";").strip() + "\n) as q"

    def target(self) -> Target:
        return _target(_expand(self.connection, self.name), self.name, self.base)

    def select(self, columns: list[str] | None, *, time: str | None = None, until: str | None = None,
               order: str | None = None, limit: int | None = None) -> str:
        """The SQL kpikit sends: the columns (all with None), the time bound, the order."""
        cols = "*" if columns is None else ", ".join(_ident(c) for c in columns)
        text = f"select {cols} from {self._relation()}"
        if time is not None and until is not None:
            text += f" where {_ident(time)} < {until}"
        if order is not None:
            text += f" order by {_ident(order)}"
        if limit is not None:
            text += f" limit {limit}"
        return text

    def schema(self) -> Any:
        """The Arrow schema of the source, from a query returning no row."""
        target = self.target()
        with _connect(target, self.name) as con:
            return _run(lambda: con.schema(self.select(None, limit=0)), self.name, target)

    def read(self, columns: list[str] | None = None, *, as_of: Any = None, time: str | None = None,
             one_batch: bool = False) -> Any:
        """The source's rows as a pyarrow Table: ``columns`` only, rows before the day after
        ``as_of`` when the ``time`` column is given."""
        import pyarrow as pa

        with self.stream(columns, as_of=as_of, time=time, one_batch=one_batch) as reader:
            target = self.target()
            return _run(lambda: pa.Table.from_batches(list(reader), schema=reader.schema), self.name, target)

    @contextmanager
    def stream(self, columns: list[str] | None = None, *, as_of: Any = None, time: str | None = None,
               order: str | None = None, batch_rows: int = BATCH_ROWS, one_batch: bool = False) -> Iterator[Any]:
        """A ``pyarrow.RecordBatchReader`` of the source's rows, batch by batch (the
        connection is open while the ``with`` block runs)."""
        target = self.target()
        with _connect(target, self.name) as con:
            until = None
            if time is not None and as_of is not None:
                schema = _run(lambda: con.schema(self.select([time], limit=0)), self.name, target)
                until = _bound(as_of, schema.field(time).type, target.kind)
            query = self.select(columns, time=time, until=until, order=order)
            reader = _run(lambda: con.reader(query, batch_rows, one_batch=one_batch), self.name, target)
            yield _Guarded(reader, self.name, target)

    def chunks(self, columns: list[str], *, order: str | None = None) -> Iterator[Any]:
        """The rows of ``columns`` as pyarrow Tables of about ``chunk_rows`` rows each, read
        batch by batch: an analysis builds a partial state of each and merges them
        (docs/architecture.md), so only one chunk is in memory at a time. With ``order`` (the
        key an analysis needs whole, such as the customer of revenue movements) the rows come
        sorted on it and a chunk never splits a key (:func:`_whole_keys`)."""
        import pyarrow as pa

        with self.stream(columns, order=order) as reader:
            rest = pa.Table.from_batches([], schema=reader.schema)
            sent = False
            for batch in reader:
                rest = pa.concat_tables([rest, pa.Table.from_batches([batch])])
                while rest.num_rows >= self.chunk_rows:
                    size = self.chunk_rows if order is None else _whole_keys(rest.column(order), self.chunk_rows)
                    if size is None:
                        break  # one key's rows go on past what has arrived: wait for more
                    chunk, rest = rest.slice(0, size), rest.slice(size)
                    sent = True
                    yield chunk
            if rest.num_rows or not sent:  # the rest, or the one empty chunk of an empty result
                yield rest

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        """Every column of every row, as an Arrow C stream (read when the capsule is taken)."""
        table = self.read(None if self.columns is None else _named_columns(self.columns))
        return table.__arrow_c_stream__(requested_schema)

    def load(self, role: str, columns: Mapping[str, Any], *, as_of: Any = None, where: str | None = None) -> Any:
        """The role's columns as a checked pyarrow Table: each column exists and has a type
        that can play its part, no identifying key is null, and there is at least one row."""
        return _load(self, role, columns, as_of=as_of, where=where)


class _Guarded:
    """A record-batch reader whose driver failures become kpikit errors."""

    def __init__(self, reader: Any, name: str, target: Target) -> None:
        self.reader, self.name, self.target = reader, name, target
        self.schema = _numbers_schema(reader.schema)
        self.numeric = [i for i, f in enumerate(reader.schema) if _is_numeric(f.type)]

    def __iter__(self) -> Iterator[Any]:
        it = iter(self.reader)
        while True:
            try:
                batch = next(it)
            except StopIteration:
                return
            except _driver_errors() as e:
                raise InputError(f"{self.name}: reading from {self.target.kind} at {self.target.where} failed: "
                                 f"{_driver_error(e, self.target)}") from None
            yield _numbers(batch, self.numeric, self.schema) if self.numeric else batch


def _is_numeric(kind: Any) -> bool:
    """PostgreSQL's ``numeric``, which its ADBC driver hands over as text (an opaque type)."""
    return getattr(kind, "type_name", None) == "numeric" and getattr(kind, "vendor_name", None) == "PostgreSQL"


def _numbers_schema(schema: Any) -> Any:
    """The schema with PostgreSQL ``numeric`` columns as float64, as kpikit reads amounts."""
    import pyarrow as pa

    if not any(_is_numeric(f.type) for f in schema):
        return schema
    return pa.schema([f.with_type(pa.float64()) if _is_numeric(f.type) else f for f in schema], schema.metadata)


def _numbers(batch: Any, numeric: list[int], schema: Any) -> Any:
    """A batch with its ``numeric`` columns (text) parsed into float64 ("NaN" stays NaN)."""
    import pyarrow as pa

    columns = list(batch.columns)
    for i in numeric:
        columns[i] = columns[i].storage.cast(pa.float64())
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _whole_keys(keys: Any, size: int) -> int | None:
    """How many leading rows of ``keys`` (sorted) make a chunk of about ``size`` rows that
    ends with a whole key: the rows of the key at row ``size`` are moved to the next chunk, or,
    when that key fills the whole chunk, all its rows are kept in this one (None: its rows
    may go on past the end of ``keys``)."""
    import pyarrow.compute as pc

    def same(key: Any, part: Any) -> Any:
        return pc.is_null(part) if not key.is_valid else pc.fill_null(pc.equal(part, key), False)

    key = keys[size - 1]
    head = same(key, keys.slice(0, size))
    start = size - pc.sum(head).as_py()  # the first row of the key (sorted: its rows are together)
    if start > 0:
        return int(start)
    after = same(key, keys.slice(size))
    first_other = pc.index(after, False).as_py()
    return None if first_other < 0 else size + int(first_other)


def _run(work: Any, name: str, target: Target) -> Any:
    try:
        return work()
    except KpikitError:
        raise
    except _driver_errors() as e:
        raise InputError(f"{name}: {target.kind} at {target.where} refused the query: {_driver_error(e, target)}") from None


def _bound(as_of: Any, kind: Any, database: str) -> str:
    """The SQL literal of the instant after ``as_of``'s day, in the column's terms (UTC)."""
    import pandas as pd
    import pyarrow as pa

    day = pd.Timestamp(as_of)
    day = (day.tz_convert("UTC").tz_localize(None) if day.tzinfo is not None else day).normalize()
    after = (day + pd.Timedelta(days=1)).to_pydatetime().date()
    if isinstance(kind, pa.TimestampType) and kind.tz is not None and database != "sqlite":
        return f"'{after.isoformat()} 00:00:00+00:00'"
    # Naive timestamps, dates and SQLite's ISO text compare with the day itself.
    return f"'{after.isoformat()}'"


def _named_columns(columns: Mapping[str, Any]) -> list[str]:
    names: list[str] = []
    for key, value in columns.items():
        if key == "window":
            continue
        names.extend(value if isinstance(value, list) else [value])
    return list(dict.fromkeys(n for n in names if isinstance(n, str)))


def _kinds(role: str) -> dict[str, str]:
    from .spec import ROLE_KEYS

    return ROLE_KEYS[role][1] if role in ROLE_KEYS else {}


def _time_column(role: str, columns: Mapping[str, Any]) -> str | None:
    for key in _TIME_KEY.get(role, ()):
        if isinstance(columns.get(key), str):
            return str(columns[key])
    stages = columns.get("stages")
    if role == "leads" and isinstance(stages, list) and stages:
        return str(stages[0])
    return None


def _column_problems(role: str, columns: Mapping[str, Any], schema: Any, what: str, text_times: bool) -> list[str]:
    """Each declared column the schema lacks or whose type cannot play its part."""
    from .spec import column_type_problem

    problems = []
    kinds = _kinds(role)
    for key, value in columns.items():
        kind = kinds.get(key)
        if kind is None or kind == "text":
            continue
        for name in value if kind == "list" else [value]:
            if name not in schema.names:
                close = difflib.get_close_matches(name, schema.names, n=3, cutoff=0.6)
                hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"it has {', '.join(schema.names)}"
                problems.append(f"{key}: {what} has no column {name!r} ({hint})")
                continue
            if text_times:
                continue  # SQLite declares no types: they are known once rows are read
            why = column_type_problem(schema.field(name), "time" if kind == "list" else kind)
            if why is not None:
                hint = " (cast it in the query, e.g. amount::float8)" if kind == "number" else ""
                problems.append(f"{key}: column {name!r} of {what} {why}{hint}")
    return problems


def _sqlite_times(table: Any, role: str, columns: Mapping[str, Any], name: str) -> Any:
    """SQLite keeps times as ISO 8601 text: the time columns parsed into timestamps."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kinds = _kinds(role)
    for key, value in columns.items():
        if kinds.get(key) not in ("time", "list"):
            continue
        for col in value if isinstance(value, list) else [value]:
            if col not in table.column_names:
                continue
            array = table.column(col)
            if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
                continue
            try:
                parsed = pc.cast(pc.replace_substring(array, "T", " "), pa.timestamp("us"))
            except pa.ArrowInvalid:
                bad = next((v for v in array.to_pylist() if v is not None and not _is_iso(v)), None)
                raise SchemaError(f"{name}.{key}: column {col!r} holds text that is not an ISO 8601 time, "
                                  f"e.g. {str(bad)[:40]!r}") from None
            table = table.set_column(table.column_names.index(col), col, parsed)
    return table


def _read_sqlite(src: SqlSource, wanted: list[str], *, as_of: Any, time: str | None) -> Any:
    """A SQLite source's columns. SQLite's columns have no fixed type, and its ADBC driver types
    each from the first batch it reads: a column null there and filled later (a funnel stage
    most leads never reach, a CSAT score most tickets lack) changes type mid-read. Then the
    rows are read again as one batch, whose types every value decides."""
    try:
        return src.read(wanted, as_of=as_of, time=time)
    except InputError as e:
        if "Type mismatch" not in str(e):
            raise
    return src.read(wanted, as_of=as_of, time=time, one_batch=True)


def _is_iso(text: str) -> bool:
    try:
        _dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _load(src: SqlSource, role: str, columns: Mapping[str, Any], *, as_of: Any, where: str | None) -> Any:
    name = where or f"sources.{role}"
    src = SqlSource(src.connection, src.query, src.table_name, src.columns, src.base, name)
    target = src.target()
    wanted = _named_columns(columns)
    time = _time_column(role, columns)
    schema = src.schema()
    problems = _column_problems(role, columns, schema, "the query's result", target.kind == "sqlite")
    if problems:
        raise SchemaError("\n".join(f"{name}.{p}" for p in problems))
    if target.kind != "sqlite":
        table = src.read(wanted, as_of=as_of, time=time)
    else:
        table = _read_sqlite(src, wanted, as_of=as_of, time=time)
    if target.kind == "sqlite":
        table = _sqlite_times(table, role, columns, name)
        problems = _column_problems(role, columns, table.schema, "the query's result", False)
        if problems:
            raise SchemaError("\n".join(f"{name}.{p}" for p in problems))
    if table.num_rows == 0:
        bound = f" before the day after as_of ({as_of})" if as_of is not None and time is not None else ""
        raise InputError(f"{name}: the query returned no rows{bound}; a source needs at least one")
    for key in _ID_KEYS:
        col = columns.get(key)
        if isinstance(col, str) and col in table.column_names and table.column(col).null_count:
            nulls = table.column(col).null_count
            raise InputError(f"{name}.{key}: column {col!r} has {nulls:,} null value{'s' * (nulls != 1)}; every row "
                             f"needs its {key} (filter them out in the query: where {_ident(col)} is not null)")
    log.info("kpikit.sql: %s: %s rows, %s columns, %.1f MB of Arrow", name, f"{table.num_rows:,}", table.num_columns,
             table.nbytes / 1e6)
    return table


def sql(connection: str, query: str | None = None, *, table_name: str | None = None,
        columns: Mapping[str, Any] | None = None) -> SqlSource:
    """A table of a database as a kpikit source: PostgreSQL, SQLite or a DuckDB file.

    ``connection`` is ``postgresql://user:password@host:port/database`` (libpq's URI, with its
    parameters), ``sqlite:///path/file.db`` or ``duckdb:///path/file.duckdb`` (``sqlite:file.db``:
    relative to the working directory, or to the spec); ``${NAME}`` is replaced by the
    environment variable ``NAME``. Give the rows as a ``query`` or a ``table_name``; kpikit
    wraps them, ``select <the columns it needs> from (<query>) as q where <time> < <as_of + 1
    day>``, so the database sends only what the analyses read. ``columns`` maps role keys to
    column names (as the second item of a :class:`kpikit.Sources` role does), for
    ``kpikit.Sources(deals=kpikit.sql(...))``.

    The result exports the Arrow C stream interface: any analysis takes it as its table, and
    reads it batch by batch (``SqlSource.chunks``). A connection that fails, a query the
    database refuses, a missing column or a column of the wrong type is a kpikit error naming
    the source and the host, never the password.

    Examples
    --------
    >>> import pathlib, tempfile, kpikit
    >>> import adbc_driver_sqlite.dbapi as sqlite
    >>> db = pathlib.Path(tempfile.mkdtemp()) / "crm.db"
    >>> with sqlite.connect(str(db)) as con, con.cursor() as cur:
    ...     _ = cur.execute("create table answers (score int, answered text, note text)")
    ...     _ = cur.execute("insert into answers values (10, '2026-01-05', 'x'), (3, '2026-01-09', 'y')")
    ...     con.commit()
    >>> answers = kpikit.sql(f"sqlite:///{db}", "select * from answers")
    >>> kpikit.nps(answers, score="score")["nps"].to_pylist()    # 1 promoter, 1 detractor of 2
    [0.0]
    >>> bundle = kpikit.Sources(responses=(answers, {"score": "score", "time": "answered"}))
    >>> bundle.responses[0].column_names    # only the columns the role names were read
    ['score', 'answered']
    """
    if not isinstance(connection, str) or not connection:
        raise ParameterError("connection: expected a connection string such as postgresql://user@host/database")
    return SqlSource(connection, query, table_name, columns)


def resolve(role: str, found: Any) -> Any:
    """A :class:`kpikit.Sources` role with a database source or a foreign Arrow stream read
    into a pyarrow Table (only the columns the role names); anything else as it is."""
    if isinstance(found, SqlSource):
        if found.columns is None:
            raise ParameterError(f"{role}: a kpikit.sql source needs its columns: kpikit.sql(..., columns={{...}}) "
                                 f"or ({role}=(kpikit.sql(...), {{...}}))")
        found = (found, found.columns)
    if not isinstance(found, tuple) or len(found) != 2:
        return found
    table, columns = found
    if isinstance(table, SqlSource):
        return (table.load(role, columns, where=table.name if table.name != "sql source" else role), columns)
    if _is_foreign_stream(table):
        import pyarrow as pa

        data = pa.table(table)
        wanted = [c for c in _named_columns(columns) if c in data.column_names]
        return (data.select(wanted) if wanted else data, columns)
    return found


def _is_foreign_stream(table: Any) -> bool:
    """An Arrow stream that is no pandas, polars or pyarrow table (a DuckDB relation, an
    ADBC result, a RecordBatchReader: some can be read once only)."""
    if not hasattr(table, "__arrow_c_stream__"):
        return False
    for module, names in (("pandas", ("DataFrame",)), ("polars", ("DataFrame", "LazyFrame")),
                          ("pyarrow", ("Table", "RecordBatch"))):
        mod = sys.modules.get(module)
        if mod is not None and isinstance(table, tuple(getattr(mod, n) for n in names)):
            return False
    return True


def spec_source(role: str, entry: dict[str, Any], base: Path, loc: Any) -> tuple[SqlSource, dict[str, Any]] | None:
    """A spec's ``[sources.<role>]`` with a ``connection``: its keys checked, its connection
    opened and its columns' names and types checked from a query returning no row (None when
    a problem was noted in ``loc``)."""
    from .spec import ROLE_KEYS, show_value as _show

    header = f"sources.{role}"
    before = len(loc.problems)
    allowed = ROLE_KEYS[role][1] if role in ROLE_KEYS else {}
    if "path" in entry:
        loc.note(f"{header}: give a path or a connection, not both", header, "path")
    for key in ("connection", "query", "table"):
        if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
            loc.note(f"{header}.{key}: expected a string, got {_show(entry[key])}", header, key)
    if ("query" in entry) == ("table" in entry):
        loc.note(f"{header}: a database source needs a query or a table (one of the two)", header, "connection")
    columns: dict[str, Any] = {}
    for key, value in entry.items():
        if key in _SOURCE_KEYS or key == "path":
            continue
        if key not in allowed:
            loc.note(f"{header}.{key}: unknown key; the keys of {role} are connection, query, table, "
                     f"{', '.join(allowed)}", header, key)
        elif allowed[key] == "list":
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                columns[key] = value
            else:
                loc.note(f"{header}.{key}: expected a list of column names, got {_show(value)}", header, key)
        elif not isinstance(value, str):
            what = "a duration such as \"90d\"" if allowed[key] == "text" else "a column name"
            loc.note(f"{header}.{key}: expected {what} (a string), got {_show(value)}", header, key)
        else:
            columns[key] = value
    required = ROLE_KEYS[role][0]
    if not any(need <= set(columns) for need in required):
        options = " or ".join("{" + ", ".join(sorted(n)) + "}" for n in required)
        loc.note(f"{header}: needs the column keys {options}", header)
    if len(loc.problems) > before:
        return None
    name = loc.at(header, header, "connection")
    try:
        src = SqlSource(entry["connection"], entry.get("query"), entry.get("table"), columns, base, name)
        target = src.target()
        schema = src.schema()
    except KpikitError as e:
        loc.problems.append(str(e))
        return None
    for problem in _column_problems(role, columns, schema, "the query's result", target.kind == "sqlite"):
        key = problem.split(":", 1)[0]
        loc.note(f"{header}.{problem}", header, key)
    return (src, columns) if len(loc.problems) == before else None
