"""Report specs: a TOML file declaring a company's sources and KPIs.

Everything is checked before any computation — unknown keys and metrics, values of the wrong
type, missing files and columns, wrong column types, column keys a metric's function needs —
and every problem found is reported at once, one line each, in the form
``<file>:<line>: <key>: <what is wrong>``, by one :class:`~kpikit.ParameterError`. The format::

    title = "Acme KPIs"          # optional
    as_of = 2026-10-31           # optional: only periods ending by this day count
    freq = "month"               # optional: the journey view's period
    currency = "EUR"             # optional: the ISO code of the money, shown with its symbol

    [sources.subscriptions]      # one table per role (see kpikit.Sources)
    path = "subscriptions.parquet"   # a Parquet or CSV file, a directory of them or a glob
                                     # ("events/*.parquet"), relative to the spec file
                                     # (or connection = "postgresql://…" with query = "select …"
                                     # or table = "crm.subscriptions": kpikit.sql)
    customer = "customer_id"         # role key = column name
    period = "month"
    mrr = "mrr"

    [scorecard]
    preset = "executive"         # optional: start from the executive set (KPIs whose source
    north_star = "Net revenue retention"   # is not declared show "no data")

    [[kpi]]                      # any number of KPIs (added to the preset's; one named as a
                                 # preset KPI replaces it)
    metric = "customer_churn_rate"
    name = "Customer churn"
    target = 0.02                # a number, [low, high] or "previous"
    at_risk = 0.005
    cadence = "month"            # or "Q", "M", "W"… as the functions take them
    owner = "Head of CS"
    deadline = 2026-12-31
    notes = { "2026-10" = "price change" }
"""

from __future__ import annotations

import datetime as _dt
import difflib
import math
import re
import reprlib
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._history import PERIODS, missing_columns, normalize_freq, parse_window
from ._render import check_currency
from .catalog import definitions, resolve
from .exceptions import ParameterError
from .kpi import KPI
from .scorecard import Scorecard
from .sources import Sources

__all__ = ["Spec", "load_spec"]

# Each role's column keys: the required ones (any one alternative set), and every allowed key
# with the kind of column it must be ("time", "number", "flag", "key", "list").
_ROLES: dict[str, tuple[list[set[str]], dict[str, str]]] = {
    "subscriptions": ([{"customer", "period", "mrr"}, {"customer", "started", "amount"}],
                      {"customer": "key", "period": "time", "mrr": "number", "started": "time", "ended": "time",
                       "amount": "number", "interval": "key"}),
    "spend": ([{"time", "amount"}], {"time": "time", "amount": "number"}),
    "deals": ([{"created", "closed", "amount", "won"}],
              {"deal": "key", "owner": "key", "created": "time", "closed": "time", "amount": "number", "won": "flag"}),
    "leads": ([{"stages"}, {"created"}],
              {"stages": "list", "window": "text", "created": "time", "qualified": "time", "converted": "time",
               "revenue": "number"}),
    "responses": ([{"score", "time"}], {"score": "number", "time": "time"}),
    "tickets": ([{"opened"}],
                {"opened": "time", "resolved": "time", "first_response": "time", "handle_seconds": "number",
                 "csat": "number"}),
    "events": ([{"user", "time"}], {"user": "key", "time": "time"}),
}

_TOP = {"title", "as_of", "freq", "currency", "sources", "scorecard", "kpi"}
_KPI_KEYS = {"metric", "name", "target", "direction", "cadence", "owner", "start", "deadline", "at_risk",
             "pace_periods", "notes", "anomaly_periods"}
_PRESETS = {"executive": Scorecard.executive}
# The bounds of the KPI's look-back counts, as the core checks them (kpikit.KPI).
_PERIOD_COUNTS = {"pace_periods": (2, 10_000, 3), "anomaly_periods": (1, 10_000, 6)}
# Days pandas can hold (datetime64[ns]): a spec's dates become pandas timestamps.
_FIRST_DAY, _LAST_DAY = _dt.date(1678, 1, 1), _dt.date(2261, 12, 31)

_short = reprlib.Repr()
_short.maxlevel, _short.maxstring, _short.maxother, _short.maxlist, _short.maxdict = 2, 60, 60, 4, 4


def _show(value: Any) -> str:
    """A value as the spec wrote it, cut short (a deep or long value is not echoed whole)."""
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return _short.repr(value)


@dataclass
class Spec:
    """A parsed, checked spec: its sources (loaded), scorecard and report options."""

    path: Path
    title: str
    sources: Sources
    scorecard: Scorecard
    as_of: Any = None
    freq: str = "month"
    # Each KPI's name → "<file>:<line>: kpi[i]", to place a problem found while computing it.
    kpi_lines: dict[str, str] = field(default_factory=dict)
    #: The ISO code of the sources' money (``currency = "EUR"``).
    currency: str | None = None

    def report(self, *, progress: bool = False, checkins: Any = None) -> Any:
        """The spec's report (:func:`kpikit.report`); with ``checkins`` (a store directory, or
        True for the spec's own, ``<spec>.checkins`` beside it) the run is recorded as a
        check-in there."""
        from ._checkins import store_for
        from .report import report

        store = store_for(self.path) if checkins is True else (checkins or None)
        return report(self.sources, self.scorecard, title=self.title, as_of=self.as_of, freq=self.freq,
                      progress=progress, currency=self.currency, checkins=store)


class _Locator:
    """Finds the line of a key in the spec's text, for error messages (tomllib keeps none), and
    collects the problems found, one line each: ``<file>:<line>: <key>: <what is wrong>``."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()
        self.problems: list[str] = []

    def _header(self, header: str, nth: int = 0) -> int | None:
        pattern = re.compile(r"^\s*\[{1,2}\s*" + re.escape(header).replace(r"\.", r"\s*\.\s*") + r"\s*\]{1,2}\s*(#.*)?$")
        seen = -1
        for i, line in enumerate(self.lines):
            if pattern.match(line):
                seen += 1
                if seen == nth:
                    return i
        return None

    def _key(self, start: int, key: str) -> int | None:
        """The line of ``key`` in the table whose first line is ``start`` (0-based)."""
        pattern = re.compile(r"^[\"']?" + re.escape(key) + r"[\"']?\s*[=.]")
        for i in range(start, len(self.lines)):
            text = self.lines[i].strip()
            if text.startswith("["):
                break
            if pattern.match(text):
                return i
        return None

    def _find(self, header: str | None, key: str | None, nth: int) -> int | None:
        if header is None:
            return None if key is None else self._key(0, key)
        start = self._header(header, nth)
        if start is None:
            # A table written inline (leads = { ... }) is on the line of its key in the parent.
            parent, _, last = header.rpartition(".")
            return self._find(parent or None, last, 0)
        found = None if key is None else self._key(start + 1, key)
        return start if found is None else found

    def line(self, header: str | None, key: str | None = None, nth: int = 0) -> int:
        """The 1-based line of ``key`` in table ``header`` (its ``nth`` occurrence for an array
        of tables), else of the table's header, else 1."""
        found = self._find(header, key, nth)
        return 1 if found is None else found + 1

    def at(self, message: str, header: str | None, key: str | None = None, nth: int = 0) -> str:
        return f"{self.path}:{self.line(header, key, nth)}: {message}"

    def error(self, message: str, header: str | None, key: str | None = None, nth: int = 0) -> ParameterError:
        return ParameterError(self.at(message, header, key, nth))

    def note(self, message: str, header: str | None, key: str | None = None, nth: int = 0) -> None:
        self.problems.append(self.at(message, header, key, nth))


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a data or spec file, after its name ("does not exist";
    None: it is a regular file).

    Only regular files (or links to one) are opened: reading a FIFO waits for a writer that may
    never come, and a device may never end."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "does not exist"
    except OSError as e:
        return f"cannot be read: {e.strerror or type(e).__name__}"
    if stat.S_ISREG(mode):
        return None
    kind = ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode)
            else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
            else "not a regular file")
    return f"is {kind}; only regular files are read"


def _arrow_reason(error: Exception) -> str:
    """What pyarrow found wrong with a file, without its content: pyarrow's CSV messages quote
    the offending line or value, and the file may be anything (a link to another file), so only
    the row, column and type it names are kept."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    text = str(error)
    parts = []
    for pattern in (r"CSV parse error", r"Empty CSV file", r"In CSV column #\d+", r"Row #\d+",
                    r"Expected \d+ columns, got \d+", r"CSV conversion error to [\w\[\], ]+?(?=:|$)",
                    r"Parquet magic bytes not found"):
        found = re.search(pattern, text)
        if found is not None:
            parts.append(found.group(0))
    return ", ".join(parts) if parts else "not in the format its name says"


_SUFFIXES = (".parquet", ".pq", ".csv", ".txt", ".gz")


def _files(path: Path) -> list[Path]:
    """The data files a source's path names: itself, the Parquet and CSV files of a directory
    (sorted by name), or the files a glob pattern in its last part matches (``"events/*.parquet"``)."""
    if any(c in path.name for c in "*?["):
        return sorted(p for p in path.parent.glob(path.name) if p.suffix.lower() in _SUFFIXES)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES and not p.name.startswith("."))
    return [path]


def _one_schema(path: Path, role: str, loc: _Locator) -> Any:
    """One file's Arrow schema, read without loading the data."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    where = (f"sources.{role}", "path")
    if suffix not in _SUFFIXES:
        raise loc.error(f"sources.{role}.path: {path.name!r} is neither Parquet (.parquet, .pq) nor CSV (.csv)", *where)
    why = _file_problem(path)
    if why is not None:
        raise loc.error(f"sources.{role}.path: {str(path)!r} {why}", *where)
    kind = "Parquet" if suffix in (".parquet", ".pq") else "CSV"
    try:
        if kind == "Parquet":
            import pyarrow.parquet as pq

            return pq.read_schema(path)
        import pyarrow.csv as pcsv

        with pcsv.open_csv(path) as reader:  # infers the types from the first block
            return reader.schema
    except (OSError, pa.ArrowException) as e:
        raise loc.error(f"sources.{role}.path: cannot read {str(path)!r} as {kind}: {_arrow_reason(e)}", *where) from None


def _schema(path: Path, role: str, loc: _Locator) -> Any:
    """The schema of a source's file, or of every file of its directory or glob pattern: they
    must be of one format and have the same columns of the same types."""
    where = (f"sources.{role}", "path")
    if path.is_dir() or any(c in path.name for c in "*?["):
        files = _files(path)
        if not files:
            raise loc.error(f"sources.{role}.path: {str(path)!r} holds no Parquet or CSV file", *where)
        kinds = {f.suffix.lower() in (".parquet", ".pq") for f in files}
        if len(kinds) > 1:
            raise loc.error(f"sources.{role}.path: {str(path)!r} mixes Parquet and CSV files; use one format", *where)
        first = _one_schema(files[0], role, loc)
        for other in files[1:]:
            schema = _one_schema(other, role, loc)
            if not schema.equals(first):
                raise loc.error(f"sources.{role}.path: {other.name!r} has other columns or types than "
                                f"{files[0].name!r}; the files of one source must match", *where)
        return first
    return _one_schema(path, role, loc)


def _check_type(field: Any, kind: str) -> str | None:
    """Why the column cannot play a role of this kind (None when it can)."""
    import pyarrow as pa

    t = field.type
    if pa.types.is_dictionary(t):
        t = t.value_type
    if kind == "time" and not (pa.types.is_timestamp(t) or pa.types.is_date(t)):
        return f"is {t}, not a timestamp or date"
    if kind == "number" and not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        return f"is {t}, not a number"
    if kind == "flag" and not (pa.types.is_boolean(t) or pa.types.is_integer(t)):
        return f"is {t}, not a boolean"
    return None


# For database sources (kpikit._sql), whose columns are checked as a file's are here.
ROLE_KEYS, column_type_problem, show_value = _ROLES, _check_type, _show


def _read(path: Path) -> Any:
    files = _files(path)
    if files != [path]:
        import pyarrow as pa

        return pa.concat_tables([_read(f) for f in files])
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path)


def _no_column(name: str, file: str, names: list[str]) -> str:
    # The file's header is not listed: the file may be anything (a link to another file), and
    # its first line is not the spec's to print. Names close to the one asked for are.
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(map(repr, close))}?" if close else f"it has {len(names)} column{'s' * (len(names) != 1)}"
    return f"{file} has no column {name!r} ({hint})"


def _source(role: str, entry: Any, base: Path, loc: _Locator) -> tuple[Any, dict[str, Any]] | None:
    """A source's file and column keys, checked (None when a problem was noted)."""
    header = f"sources.{role}"
    if role not in _ROLES:
        loc.note(f"sources: unknown role {role!r}; the roles are {', '.join(_ROLES)}", header)
        return None
    if not isinstance(entry, dict):
        loc.note(f"sources.{role}: expected a table with path and column keys", header)
        return None
    if "connection" in entry:  # a database source: checked and read by kpikit.sql
        from ._sql import spec_source

        return spec_source(role, entry, base, loc)
    before = len(loc.problems)
    required, allowed = _ROLES[role]
    columns = {k: v for k, v in entry.items() if k != "path"}
    if not isinstance(entry.get("path"), str) or not entry["path"]:
        loc.note(f"{header}.path: expected the path of a Parquet or CSV file (a string), got "
                 f"{_show(entry.get('path'))}", header, "path")
    valid: dict[str, Any] = {}
    for key, value in columns.items():
        if key not in allowed:
            loc.note(f"{header}.{key}: unknown key; the keys of {role} are path, {', '.join(allowed)}", header, key)
        elif allowed[key] == "list":
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                valid[key] = value
            else:
                loc.note(f"{header}.{key}: expected a list of column names, got {_show(value)}", header, key)
        elif not isinstance(value, str):
            what = "a duration such as \"90d\"" if allowed[key] == "text" else "a column name"
            loc.note(f"{header}.{key}: expected {what} (a string), got {_show(value)}", header, key)
        elif key == "window":
            try:
                parse_window(value)
                valid[key] = value
            except ParameterError as e:
                loc.note(f"{header}.{key}: {e}", header, key)
        else:
            valid[key] = value
    if not any(need <= set(columns) for need in required):
        options = " or ".join("{" + ", ".join(sorted(n)) + "}" for n in required)
        loc.note(f"{header}: needs the column keys {options}", header)
    if not isinstance(entry.get("path"), str) or not entry["path"]:
        return None
    path = Path(entry["path"])
    path = path if path.is_absolute() else base / path
    try:
        schema = _schema(path, role, loc)
    except ParameterError as e:
        loc.problems.append(str(e))
        return None
    _check_columns(role, path, schema, valid, loc)
    return (path, columns) if len(loc.problems) == before else None


def _shown_name(path: Path) -> str:
    """A source's file name as a message names it (a directory's files as ``dir/*``)."""
    return f"{path.name}/*" if path.is_dir() else path.name


def _check_columns(role: str, path: Path, schema: Any, columns: dict[str, Any], loc: _Locator) -> None:
    """Note each declared column the file lacks or whose type cannot play its role."""
    header, allowed = f"sources.{role}", _ROLES[role][1]
    for key, value in columns.items():
        kind = allowed[key]
        if kind == "text":
            continue
        for name in value if kind == "list" else [value]:
            if name not in schema.names:
                loc.note(f"{header}.{key}: {_no_column(name, _shown_name(path), schema.names)}", header, key)
                continue
            why = _check_type(schema.field(name), "time" if kind == "list" else kind)
            if why is not None:
                loc.note(f"{header}.{key}: column {name!r} of {_shown_name(path)} {why}", header, key)


def _day(value: Any) -> _dt.date | None:
    """A TOML date, date-time (its own day) or ISO date string as a day (None: it is none)."""
    if isinstance(value, _dt.datetime):
        day = value.date()  # the day as written, in the date-time's own offset
    elif isinstance(value, _dt.date):
        day = value
    elif isinstance(value, str):
        try:
            day = _dt.datetime.fromisoformat(value).date()
        except ValueError:
            return None
    else:
        return None
    return day if _FIRST_DAY <= day <= _LAST_DAY else None


def _date_problem(key: str, value: Any) -> str:
    return (f"{key}: expected a day such as 2026-10-31 (a TOML date, or a date-time whose day is used) from "
            f"{_FIRST_DAY} to {_LAST_DAY}, got {_show(value)}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _missing_keys(metric_id: str, declared: dict[str, dict[str, Any]]) -> str | None:
    """Why the declared column keys cannot run the metric's functions (None: they can)."""
    lacking = missing_columns(metric_id, declared)
    if not lacking:
        return None
    function, role, key = lacking[0]
    keys = ", ".join(sorted(declared[role])) or "none"
    return (f"{metric_id!r} is computed by {function}, which needs the column key {key!r} of [sources.{role}] "
            f"(it declares {keys})")


def _catalog_id(name: str) -> str | None:
    """The catalog id a spec's metric name stands for (an id, name or alias), or None."""
    try:
        return resolve(name)
    except ParameterError:
        return None


def _hint(name: str, known: list[str]) -> str:
    """Close ids and aliases of an unknown metric name (the catalog's did-you-mean), else ids
    sharing its first word."""
    try:
        resolve(name)
    except ParameterError as e:
        hint = str(e).split(" is not a metric of the catalog", 1)[-1]
        if "did you mean" in hint:
            return hint
    close = [m for m in known if name.split("_")[0] in m][:3]
    return f"; did you mean {', '.join(close)}?" if close else "; see kpikit.catalog()"


def _kpi(entry: Any, i: int, loc: _Locator, declared: dict[str, dict[str, Any]]) -> KPI | None:
    """A KPI table, checked key by key (None when a problem was noted)."""
    if not isinstance(entry, dict):
        loc.note(f"kpi[{i}]: expected a table", "kpi", nth=i)
        return None
    before = len(loc.problems)

    def bad(key: str, message: str) -> None:
        loc.note(f"kpi[{i}].{key}: {message}", "kpi", key, i)

    for key in sorted(set(entry) - _KPI_KEYS):
        bad(key, f"unknown key; the keys are {', '.join(sorted(_KPI_KEYS))}")
    known = definitions()
    metric_id = entry.get("metric")
    m = None
    if "metric" not in entry:
        loc.note(f"kpi[{i}]: 'metric' (a catalog id) is missing", "kpi", nth=i)
    elif not isinstance(metric_id, str):
        bad("metric", f"expected a catalog id (a string), got {_show(metric_id)}")
    elif (found := _catalog_id(metric_id)) is None:
        bad("metric", f"{metric_id!r} is not a catalog metric{_hint(metric_id, list(known))}")
    elif known[(metric_id := found)].recipe is None:
        bad("metric", f"{metric_id!r} is computed by {known[metric_id].function}, which cannot run from sources; "
                      "KPIs of it are evaluated from a history (kpikit.KPI.evaluate)")
    else:
        m = known[metric_id]
        missing = [r for r in m.inputs if r not in declared]
        if missing:
            bad("metric", f"{metric_id!r} needs the {missing[0]!r} source, which the spec does not declare")
        else:
            why = _missing_keys(metric_id, declared)
            if why is not None:
                bad("metric", why)

    target = entry.get("target")
    if "target" not in entry:
        loc.note(f"kpi[{i}]: 'target' is missing", "kpi", nth=i)
    elif isinstance(target, list):
        if len(target) != 2 or not all(_number(v) for v in target) or target[0] > target[1]:
            bad("target", f"a range is [low, high], two finite numbers with low ≤ high, got {_show(target)}")
    elif not (_number(target) or target == "previous"):
        bad("target", f"expected a finite number, [low, high] or \"previous\", got {_show(target)}")
    direction = entry.get("direction")
    if direction is not None and direction not in ("increase", "decrease", "neutral"):
        bad("direction", f"expected \"increase\", \"decrease\" or \"neutral\", got {_show(direction)}")
    default_cadence = m.cadence if m is not None and m.cadence in PERIODS else "month"
    cadence = entry.get("cadence", default_cadence)
    # The aliases the API takes ("Q", "M", "W"…) as well as the names.
    if not isinstance(cadence, str) or normalize_freq(cadence) is None:
        bad("cadence", f"{_show(cadence)} is not one of {', '.join(PERIODS)} (or Q, M, W, D, Y)")
    else:
        cadence = normalize_freq(cadence)
    for key in ("name", "owner"):
        if key in entry and not isinstance(entry[key], str):
            bad(key, f"expected text (a string), got {_show(entry[key])}")
    days: dict[str, _dt.date | None] = {}
    for key in ("start", "deadline"):
        days[key] = None if key not in entry else _day(entry[key])
        if key in entry and days[key] is None:
            bad(key, _date_problem(key, entry[key]).split(": ", 1)[1])
    start, deadline = days["start"], days["deadline"]
    if start is not None and deadline is not None and deadline < start:
        bad("deadline", f"{deadline} is before the start, {start}")
    at_risk = entry.get("at_risk")
    if at_risk is not None and not (_number(at_risk) and at_risk >= 0):
        bad("at_risk", f"expected a finite number ≥ 0 (a band in the metric's unit), got {_show(at_risk)}")
    counts: dict[str, int] = {}
    for key, (low, high, default) in _PERIOD_COUNTS.items():
        value = entry.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            bad(key, f"expected a whole number of periods from {low} to {high:,}, got {_show(value)}")
        else:
            counts[key] = value
    notes = entry.get("notes", {})
    if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
        bad("notes", "expected a table of period = \"note\"")
    if len(loc.problems) > before or m is None:
        return None
    assert isinstance(metric_id, str)
    goal: float | tuple[float, float] | str = "previous"
    if isinstance(target, list):
        goal = (float(target[0]), float(target[1]))
    elif isinstance(target, (int, float)):
        goal = float(target)
    try:
        return KPI(
            metric_id,
            target=goal,
            direction=direction,
            cadence=cadence,
            owner=entry.get("owner"),
            start=start,
            deadline=deadline,
            thresholds={"at_risk": float(at_risk)} if at_risk is not None else None,
            name=entry.get("name"),
            pace_periods=counts["pace_periods"],
            notes={str(k): v for k, v in notes.items()},
            anomaly_periods=counts["anomaly_periods"],
        )
    except ParameterError as e:
        loc.note(f"kpi[{i}]: {e}", "kpi", nth=i)
        return None


def _spec_text(path: Path) -> str:
    why = _file_problem(path)
    if why == "does not exist":
        raise ParameterError(f"{path}: no such spec file")
    if why is not None:
        raise ParameterError(f"{path}: cannot read the spec: it {why}")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) else f"not UTF-8 text ({e.reason} at byte {e.start})"
        raise ParameterError(f"{path}: cannot read the spec: {reason}") from None


def _key_on(lines: list[str], index: int) -> str:
    """The key written on line ``index`` (0-based) or the nearest one above it."""
    for i in range(min(index, len(lines) - 1), -1, -1):
        found = re.match(r"^\s*(\[{1,2}\s*[^\]]+\]{1,2}|[\w\"'.-]+)\s*(=|$)", lines[i])
        if found is not None:
            return found.group(1).strip("[] \"'")
    return "toml"


def _parse(path: Path, text: str) -> dict[str, Any]:
    """The spec's TOML, or a one-line error naming the line and key where it goes wrong."""
    lines = text.splitlines()
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        message = str(e)
        at = re.search(r"\(at line (\d+), column (\d+)\)", message)
        line = int(at.group(1)) if at else max(len(lines), 1)
        reason = re.sub(r"\s*\(at [^)]*\)", "", message)
        where = f" (column {at.group(2)})" if at else " (at the end of the file)"
        raise ParameterError(f"{path}:{line}: {_key_on(lines, line - 1)}: not valid TOML: {reason}{where}") from None
    except RecursionError:
        # tomllib reads nested arrays and inline tables recursively.
        depth, line = 0, 0
        for i, row in enumerate(lines):
            for c in row:
                depth += (c in "[{") - (c in "]}")
                if depth > 100:
                    break
            if depth > 100:
                line = i
                break
        raise ParameterError(f"{path}:{line + 1}: {_key_on(lines, line)}: not valid here: arrays or tables nested "
                             "too deeply to read") from None


def load_spec(path: str | Path) -> Spec:
    """Read and check a report spec (TOML), then load its sources.

    Every key, value, metric, file, column and column type is checked before any table is read
    in full. The problems found raise one :class:`~kpikit.ParameterError` listing each on a line
    of its own, ``"<file>:<line>: <key>: <what is wrong>"``. File paths are relative to the spec;
    only regular files are read.

    Examples
    --------
    >>> import pathlib, tempfile, kpikit
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> kpikit.datasets.demo(scale=0.05).responses.to_parquet(d / "nps.parquet")
    >>> _ = (d / "kpis.toml").write_text(\'\'\'
    ... [sources.responses]
    ... path = "nps.parquet"
    ... score = "score"
    ... time = "time"
    ... [[kpi]]
    ... metric = "nps"
    ... target = 30
    ... \'\'\')
    >>> spec = kpikit.load_spec(d / "kpis.toml")
    >>> [k.metric for k in spec.scorecard.kpis], spec.sources.roles()
    (['nps'], ['responses'])
    >>> _ = (d / "bad.toml").write_text(\'\'\'
    ... [sources.responses]
    ... path = "nps.parquet"
    ... score = "score"
    ... time = "time"
    ... [[kpi]]
    ... metric = "nps"
    ... target = 30
    ... pace_periods = 1
    ... name = 7
    ... \'\'\')
    >>> try:
    ...     kpikit.load_spec(d / "bad.toml")
    ... except kpikit.ParameterError as e:
    ...     print(str(e).replace(str(d), "DIR"))
    DIR/bad.toml:9: kpi[0].pace_periods: expected a whole number of periods from 2 to 10,000, got 1
    DIR/bad.toml:10: kpi[0].name: expected text (a string), got 7
    """
    path = Path(path)
    text = _spec_text(path)
    data = _parse(path, text)
    loc = _Locator(path, text)
    for key in data:
        if key not in _TOP:
            loc.note(f"{key}: unknown key; the top-level keys are {', '.join(sorted(_TOP))}", None, key)
    sources = data.get("sources", {})
    checked: dict[str, tuple[Any, dict[str, Any]]] = {}
    # The column keys each declared role names, even where its file has a problem: the KPIs are
    # checked against what the spec says (one problem, one line).
    declared: dict[str, dict[str, Any]] = {}
    if not isinstance(sources, dict) or not sources:
        loc.note(f"sources: no [sources.<role>] table; declare at least one of {', '.join(_ROLES)}", None, "sources")
    else:
        for role, entry in sources.items():
            if role in _ROLES and isinstance(entry, dict):
                declared[role] = {k: v for k, v in entry.items() if k not in ("path", "connection", "query", "table")}
            found = _source(role, entry, path.parent, loc)
            if found is not None:
                checked[role] = found

    card = data.get("scorecard", {})
    if not isinstance(card, dict):
        loc.note("scorecard: expected a table", "scorecard")
        card = {}
    for key in card:
        if key not in ("preset", "north_star"):
            loc.note(f"scorecard.{key}: unknown key; the keys are preset, north_star", "scorecard", key)
    kpis: list[KPI] = []
    north_star = None
    preset_name = card.get("preset")
    if "preset" in card and (not isinstance(preset_name, str) or preset_name not in _PRESETS):
        loc.note(f"scorecard.preset: {_show(preset_name)} is not one of {', '.join(_PRESETS)}", "scorecard", "preset")
    elif isinstance(preset_name, str):
        # A preset KPI whose source the spec does not declare is shown as "no data", with the
        # reason, rather than refused: the set is a starting point, not a demand.
        preset = _PRESETS[preset_name]()
        kpis.extend(preset.kpis)
        north_star = preset.north_star
    entries = data.get("kpi", [])
    before = len(loc.problems)
    if not isinstance(entries, list):
        loc.note("kpi: use [[kpi]] tables, one per KPI", None, "kpi")
        entries = []
    where: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        built = _kpi(entry, i, loc, declared)
        if built is None:
            continue
        if built.label in seen:
            loc.note(f"kpi[{i}].name: {built.label!r} is also the name of kpi[{seen[built.label]}]; give one of "
                     "them another name", "kpi", "name" if "name" in entry else "metric", i)
            continue
        seen[built.label] = i
        where[built.label] = loc.at(f"kpi[{i}]", "kpi", "metric", i)
        # A KPI named as one of the preset's replaces it (another target, an owner, notes).
        same = [j for j, k in enumerate(kpis) if k.label == built.label]
        if same:
            kpis[same[0]] = built
        else:
            kpis.append(built)
    kpis_ok = len(loc.problems) == before
    if not kpis and kpis_ok:
        loc.note("kpi: no KPIs; add [[kpi]] tables or [scorecard] preset = \"executive\"", None, "kpi")
    north_star = card.get("north_star", north_star)
    scorecard = None
    if north_star is not None and not isinstance(north_star, str):
        loc.note(f"scorecard.north_star: expected a KPI's name (a string), got {_show(north_star)}", "scorecard",
                 "north_star")
    elif kpis_ok and kpis:
        try:
            scorecard = Scorecard(kpis, north_star=north_star)
        except ParameterError as e:
            loc.note(f"scorecard: {e}", "scorecard", "north_star")

    freq = data.get("freq", "month")
    if not isinstance(freq, str) or freq not in ("week", "month", "quarter", "year"):
        loc.note(f"freq: {_show(freq)} is not one of week, month, quarter, year", None, "freq")
    currency = data.get("currency")
    if currency is not None:
        try:
            currency = check_currency(currency)
        except ParameterError:
            loc.note(f"currency: {_show(currency)} is not an ISO 4217 currency code (three letters, e.g. \"USD\")",
                     None, "currency")
    title = data.get("title", path.stem)
    if not isinstance(title, str):
        loc.note(f"title: expected text (a string), got {_show(title)}", None, "title")
    as_of = None
    if "as_of" in data:
        as_of = _day(data["as_of"])
        if as_of is None:
            loc.note(_date_problem("as_of", data["as_of"]), None, "as_of")
    if loc.problems:
        # In the order of the file, as a compiler lists them.
        lines = sorted(loc.problems, key=lambda p: int(p[len(str(path)) + 1:].split(":", 1)[0]))
        raise ParameterError("\n".join(lines))
    assert scorecard is not None

    # Checked: now read the data.
    import pyarrow as pa

    tables = {}
    for role, (p, cols) in checked.items():
        if not isinstance(p, Path):  # a database source: its columns, up to as_of (kpikit.sql)
            tables[role] = (p.load(role, cols, as_of=as_of, where=loc.at(f"sources.{role}", f"sources.{role}")), cols)
            continue
        try:
            tables[role] = (_read(p), cols)
        except (OSError, pa.ArrowException) as e:  # a CSV's later rows may not parse as its first block did
            raise loc.error(f"sources.{role}.path: cannot read {str(p)!r}: {_arrow_reason(e)}", f"sources.{role}",
                            "path") from None
        # A CSV's types were inferred from its first block; the whole file may say otherwise.
        _check_columns(role, p, tables[role][0].schema, {k: v for k, v in cols.items() if k in _ROLES[role][1]}, loc)
    if loc.problems:
        raise ParameterError("\n".join(loc.problems))
    return Spec(path, title, Sources(**tables), scorecard, as_of=as_of, freq=freq, kpi_lines=where,
                currency=currency)
