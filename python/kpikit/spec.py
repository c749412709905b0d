"""Report specs: a TOML file declaring a company's sources and KPIs.

Everything is checked before any computation — unknown keys and metrics, missing files and
columns, wrong column types — and the first problem is raised as one
:class:`~kpikit.ParameterError` naming the key and its line in the file. The format::

    title = "Acme KPIs"          # optional
    as_of = 2026-10-31           # optional: only periods ending by this day count
    freq = "month"               # optional: the journey view's period

    [sources.subscriptions]      # one table per role (see kpikit.Sources)
    path = "subscriptions.parquet"   # Parquet or CSV, relative to the spec file
    customer = "customer_id"         # role key = column name
    period = "month"
    mrr = "mrr"

    [scorecard]
    preset = "executive"         # optional: start from the executive set
    north_star = "Net revenue retention"

    [[kpi]]                      # any number of KPIs (added to the preset's)
    metric = "customer_churn_rate"
    name = "Customer churn"
    target = 0.02                # a number, [low, high] or "previous"
    at_risk = 0.005
    cadence = "month"
    owner = "Head of CS"
    deadline = 2026-12-31
    notes = { "2026-10" = "price change" }
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._history import PERIODS
from .catalog import definitions
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

_TOP = {"title", "as_of", "freq", "sources", "scorecard", "kpi"}
_KPI_KEYS = {"metric", "name", "target", "direction", "cadence", "owner", "start", "deadline", "at_risk",
             "pace_periods", "notes", "anomaly_periods"}
_PRESETS = {"executive": Scorecard.executive}


@dataclass
class Spec:
    """A parsed, checked spec: its sources (loaded), scorecard and report options."""

    path: Path
    title: str
    sources: Sources
    scorecard: Scorecard
    as_of: Any = None
    freq: str = "month"

    def report(self, *, progress: bool = False) -> Any:
        """The spec's report (:func:`kpikit.report`)."""
        from .report import report

        return report(self.sources, self.scorecard, title=self.title, as_of=self.as_of, freq=self.freq,
                      progress=progress)


class _Locator:
    """Finds the line of a key in the spec's text, for error messages (tomllib keeps none)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def _header(self, header: str, nth: int = 0) -> int | None:
        pattern = re.compile(r"^\s*\[{1,2}\s*" + re.escape(header).replace(r"\.", r"\s*\.\s*") + r"\s*\]{1,2}\s*(#.*)?$")
        seen = -1
        for i, line in enumerate(self.lines):
            if pattern.match(line):
                seen += 1
                if seen == nth:
                    return i
        return None

    def line(self, header: str | None, key: str | None = None, nth: int = 0) -> int | None:
        start = 0 if header is None else self._header(header, nth)
        if start is None:
            return None
        if key is None:
            return start + 1
        for i in range(start + (header is not None), len(self.lines)):
            text = self.lines[i].strip()
            if header is not None and text.startswith("[") and i > start:
                break
            if header is None and text.startswith("["):
                break
            if re.match(r"^\"?" + re.escape(key) + r"\"?\s*=", text):
                return i + 1
        return start + 1 if header is not None else None

    def error(self, message: str, header: str | None, key: str | None = None, nth: int = 0) -> ParameterError:
        line = self.line(header, key, nth)
        where = f"{self.path}, line {line}" if line is not None else str(self.path)
        return ParameterError(f"{where}: {message}")


def _schema(path: Path, role: str, loc: _Locator) -> Any:
    """The file's Arrow schema, read without loading the data."""
    import pyarrow as pa

    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.read_schema(path)
        if suffix in (".csv", ".txt", ".gz"):
            import pyarrow.csv as pcsv

            with pcsv.open_csv(path) as reader:  # infers the types from the first block
                return reader.schema
    except FileNotFoundError:
        raise loc.error(f"sources.{role}.path: no file {str(path)!r}", f"sources.{role}", "path") from None
    except (OSError, pa.ArrowInvalid) as e:
        raise loc.error(f"sources.{role}.path: cannot read {str(path)!r}: {e}", f"sources.{role}", "path") from None
    raise loc.error(f"sources.{role}.path: {path.name!r} is neither Parquet (.parquet, .pq) nor CSV (.csv)",
                    f"sources.{role}", "path")


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


def _read(path: Path) -> Any:
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        return pq.read_table(path)
    import pyarrow.csv as pcsv

    return pcsv.read_csv(path)


def _source(role: str, entry: Any, base: Path, loc: _Locator) -> tuple[Path, dict[str, Any]]:
    header = f"sources.{role}"
    if role not in _ROLES:
        raise loc.error(f"sources: unknown role {role!r}; the roles are {', '.join(_ROLES)}", header)
    if not isinstance(entry, dict):
        raise loc.error(f"sources.{role}: expected a table with path and column keys", header)
    required, allowed = _ROLES[role]
    columns = {k: v for k, v in entry.items() if k != "path"}
    if "path" not in entry or not isinstance(entry["path"], str):
        raise loc.error(f"{header}: 'path' (a Parquet or CSV file) is missing", header)
    for key, value in columns.items():
        if key not in allowed:
            raise loc.error(f"{header}.{key}: unknown key; the keys of {role} are path, {', '.join(allowed)}", header, key)
        if allowed[key] == "list":
            if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
                raise loc.error(f"{header}.{key}: expected a list of column names", header, key)
        elif not isinstance(value, str):
            raise loc.error(f"{header}.{key}: expected a column name (a string), got {value!r}", header, key)
    if not any(need <= set(columns) for need in required):
        options = " or ".join("{" + ", ".join(sorted(n)) + "}" for n in required)
        raise loc.error(f"{header}: needs the column keys {options}", header)
    path = Path(entry["path"])
    path = path if path.is_absolute() else base / path
    schema = _schema(path, role, loc)
    for key, value in columns.items():
        kind = allowed[key]
        if kind == "text":
            continue
        for name in value if kind == "list" else [value]:
            if name not in schema.names:
                raise loc.error(f"{header}.{key}: {path.name} has no column {name!r} (its columns: "
                                f"{', '.join(schema.names)})", header, key)
            why = _check_type(schema.field(name), "time" if kind == "list" else kind)
            if why is not None:
                raise loc.error(f"{header}.{key}: column {name!r} of {path.name} {why}", header, key)
    return path, columns


def _kpi(entry: Any, i: int, loc: _Locator, roles: set[str]) -> KPI:
    if not isinstance(entry, dict):
        raise loc.error(f"kpi[{i}]: expected a table", "kpi", nth=i)
    unknown = set(entry) - _KPI_KEYS
    if unknown:
        key = sorted(unknown)[0]
        raise loc.error(f"kpi[{i}].{key}: unknown key; the keys are {', '.join(sorted(_KPI_KEYS))}", "kpi", key, i)
    if "metric" not in entry:
        raise loc.error(f"kpi[{i}]: 'metric' (a catalog id) is missing", "kpi", nth=i)
    metric_id = entry["metric"]
    known = definitions()
    if metric_id not in known:
        close = [m for m in known if metric_id.split("_")[0] in m][:3]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see kpikit.catalog()"
        raise loc.error(f"kpi[{i}].metric: {metric_id!r} is not a catalog metric{hint}", "kpi", "metric", i)
    m = known[metric_id]
    if m.recipe is None:
        raise loc.error(f"kpi[{i}].metric: {metric_id!r} is computed by {m.function}, which cannot run from "
                        "sources; KPIs of it are evaluated from a history (kpikit.KPI.evaluate)", "kpi", "metric", i)
    missing = [r for r in m.inputs if r not in roles]
    if missing:
        raise loc.error(f"kpi[{i}].metric: {metric_id!r} needs the {missing[0]!r} source, which the spec does not "
                        "declare", "kpi", "metric", i)
    if "target" not in entry:
        raise loc.error(f"kpi[{i}]: 'target' is missing", "kpi", nth=i)
    target = entry["target"]
    if isinstance(target, list):
        if len(target) != 2 or not all(isinstance(v, (int, float)) for v in target):
            raise loc.error(f"kpi[{i}].target: a range is [low, high], got {target!r}", "kpi", "target", i)
        target = (float(target[0]), float(target[1]))
    elif isinstance(target, bool) or not (isinstance(target, (int, float)) or target == "previous"):
        raise loc.error(f"kpi[{i}].target: expected a number, [low, high] or \"previous\", got {target!r}", "kpi",
                        "target", i)
    cadence = entry.get("cadence", m.cadence if m.cadence in PERIODS else "month")
    if cadence not in PERIODS:
        raise loc.error(f"kpi[{i}].cadence: {cadence!r} is not one of {', '.join(PERIODS)}", "kpi", "cadence", i)
    notes = entry.get("notes", {})
    if not isinstance(notes, dict) or not all(isinstance(v, str) for v in notes.values()):
        raise loc.error(f"kpi[{i}].notes: expected a table of period = \"note\"", "kpi", "notes", i)
    at_risk = entry.get("at_risk")
    if at_risk is not None and (isinstance(at_risk, bool) or not isinstance(at_risk, (int, float))):
        raise loc.error(f"kpi[{i}].at_risk: expected a number, got {at_risk!r}", "kpi", "at_risk", i)
    try:
        return KPI(
            metric_id,
            target=float(target) if isinstance(target, (int, float)) else target,
            direction=entry.get("direction"),
            cadence=cadence,
            owner=entry.get("owner"),
            start=entry.get("start"),
            deadline=entry.get("deadline"),
            thresholds={"at_risk": float(at_risk)} if at_risk is not None else None,
            name=entry.get("name"),
            pace_periods=entry.get("pace_periods", 3),
            notes={str(k): v for k, v in notes.items()},
            anomaly_periods=entry.get("anomaly_periods", 6),
        )
    except ParameterError as e:
        raise loc.error(f"kpi[{i}]: {e}", "kpi", nth=i) from None


def load_spec(path: str | Path) -> Spec:
    """Read and check a report spec (TOML), then load its sources.

    Every key, metric, file, column and column type is checked before any table is read in
    full; the first problem raises a :class:`~kpikit.ParameterError` of the form
    ``"<file>, line <n>: <key>: <what is wrong>"``. File paths are relative to the spec.

    Examples
    --------
    >>> import pathlib, tempfile, kpikit
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> kpikit.datasets.demo(scale=0.05).responses.to_parquet(d / "nps.parquet")
    >>> _ = (d / "kpis.toml").write_text('''
    ... [sources.responses]
    ... path = "nps.parquet"
    ... score = "score"
    ... time = "time"
    ... [[kpi]]
    ... metric = "nps"
    ... target = 30
    ... ''')
    >>> spec = kpikit.load_spec(d / "kpis.toml")
    >>> [k.metric for k in spec.scorecard.kpis], spec.sources.roles()
    (['nps'], ['responses'])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParameterError(f"{path}: no such spec file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ParameterError(f"{path}: cannot read the spec: {e}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"{path}: not valid TOML: {e}") from None
    loc = _Locator(path, text)
    for key in data:
        if key not in _TOP:
            raise loc.error(f"{key}: unknown key; the top-level keys are {', '.join(sorted(_TOP))}", None, key)
    sources = data.get("sources", {})
    if not isinstance(sources, dict) or not sources:
        raise ParameterError(f"{path}: no [sources.<role>] table; declare at least one of {', '.join(_ROLES)}")
    checked = {role: _source(role, entry, path.parent, loc) for role, entry in sources.items()}
    roles = set(checked)

    card = data.get("scorecard", {})
    if not isinstance(card, dict):
        raise loc.error("scorecard: expected a table", "scorecard")
    for key in card:
        if key not in ("preset", "north_star"):
            raise loc.error(f"scorecard.{key}: unknown key; the keys are preset, north_star", "scorecard", key)
    kpis: list[KPI] = []
    north_star = None
    if "preset" in card:
        if card["preset"] not in _PRESETS:
            raise loc.error(f"scorecard.preset: {card['preset']!r} is not one of {', '.join(_PRESETS)}", "scorecard",
                            "preset")
        preset = _PRESETS[card["preset"]]()
        for k in preset.kpis:
            missing = [r for r in definitions()[k.metric].inputs if r not in roles]
            if missing:
                raise loc.error(f"scorecard.preset: the {card['preset']} set's KPI {k.label!r} needs the "
                                f"{missing[0]!r} source, which the spec does not declare", "scorecard", "preset")
        kpis.extend(preset.kpis)
        north_star = preset.north_star
    entries = data.get("kpi", [])
    if not isinstance(entries, list):
        raise loc.error("kpi: use [[kpi]] tables, one per KPI", None, "kpi")
    kpis.extend(_kpi(entry, i, loc, roles) for i, entry in enumerate(entries))
    if not kpis:
        raise ParameterError(f"{path}: no KPIs; add [[kpi]] tables or [scorecard] preset = \"executive\"")
    north_star = card.get("north_star", north_star)
    try:
        scorecard = Scorecard(kpis, north_star=north_star)
    except ParameterError as e:
        raise loc.error(f"scorecard: {e}", "scorecard", "north_star") from None

    freq = data.get("freq", "month")
    if freq not in ("week", "month", "quarter", "year"):
        raise loc.error(f"freq: {freq!r} is not one of week, month, quarter, year", None, "freq")
    title = data.get("title", path.stem)
    if not isinstance(title, str):
        raise loc.error("title: expected a string", None, "title")
    as_of = data.get("as_of")

    # Checked: now read the data.
    tables = {role: (_read(p), cols) for role, (p, cols) in checked.items()}
    return Spec(path, title, Sources(**tables), scorecard, as_of=as_of, freq=freq)
