"""The metric catalog: one definition per metric, the same for built-ins and your own.

A metric is a defined, reproducible measurement — formula, unit, favourable direction,
department, customer-journey stage, natural cadence, the industries it serves, the inputs it
reads and the kpikit function (and output column) that computes it. A metric is found by its
id, its name or an alias ("logo churn", "ARPU"), compared without case and punctuation
(docs/conventions.md#metric-names). The built-in definitions
are data compiled into the Rust core; :func:`register_metric` adds yours, checked against the
same vocabularies, and from then on :func:`catalog`, :func:`metric` and :class:`kpikit.KPI`
treat it like a built-in.

Built-in definitions also carry what the KPI layer needs to compute them from a
:class:`kpikit.Sources` bundle: the function's :class:`Recipe`, the :class:`Counts` behind a
rate, the function's own 95 % interval, and the metric's place in the journey view
(:func:`kpikit.journey`). :class:`kpikit.Scorecard` and :func:`kpikit.journey` read only these.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from . import _kpikit
from .exceptions import ParameterError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Metric", "Counts", "Recipe", "ExtraSource", "JourneyPlace", "catalog", "definitions", "metric", "recipe",
           "register_metric", "resolve"]


@dataclass(frozen=True)
class Counts:
    """The counts behind a rate (k of n): its ``numerator`` and ``denominator`` columns in the
    output of ``function`` (same periods), or of the metric's own function when None. With
    them a KPI gets the Wilson interval of each value and the significance of each change."""

    numerator: str
    denominator: str
    function: str | None = None


@dataclass(frozen=True)
class JourneyPlace:
    """A metric's place in the journey view: ``order`` across the view (stages in journey
    order), and ``stage_rate``: the stage's conversion rate, read with its neighbours'."""

    order: int
    stage_rate: bool = False


@dataclass(frozen=True)
class ExtraSource:
    """A second role a :class:`Recipe` passes when the bundle has it: its table as keyword
    ``table``, and each declared column key ``k`` as keyword ``columns[k]``."""

    source: str
    table: str
    columns: Mapping[str, str]


@dataclass(frozen=True)
class Recipe:
    """How a kpikit function runs over a :class:`kpikit.Sources` bundle.

    The call is ``function(table, freq=freq, **keywords)`` where ``table`` is the ``source``
    role's table; for each column key ``k`` the bundle declares for that role, keyword
    ``columns[k]`` = the column's name (the ``required`` keys must be declared); ``options``
    are fixed keywords; each :class:`ExtraSource` adds a second role when present.
    """

    source: str
    columns: Mapping[str, str]
    required: tuple[str, ...] = ()
    options: Mapping[str, str] = field(default_factory=dict)
    extra: tuple[ExtraSource, ...] = ()


@dataclass(frozen=True)
class Metric:
    """One metric definition (see the module docstring for the fields).

    ``compute`` (user metrics) is a callable taking a DataFrame of other metrics, one row per
    period, and returning the metric's values; ``expression`` is the same as a pandas
    ``DataFrame.eval`` expression over metric ids (``"mrr / customers"``).

    Built-ins computed from sources also have ``recipe`` (how ``function`` runs over a
    :class:`kpikit.Sources` bundle), and where they apply ``counts`` (the counts behind a
    rate), ``interval`` (the output columns of the function's own 95 % interval, low and
    high) and ``journey`` (the place in :func:`kpikit.journey`). ``aliases`` are the other names
    it is found under (:func:`resolve`).

    >>> import kpikit
    >>> m = kpikit.metric("customer_churn_rate")
    >>> m.counts
    Counts(numerator='churned_customers', denominator='starting_customers', function='mrr_movements')
    >>> m.recipe.source, m.journey
    ('subscriptions', JourneyPlace(order=12, stage_rate=True))
    >>> kpikit.metric("nps").interval
    ('nps_ci_low', 'nps_ci_high')
    """

    id: str
    name: str
    description: str
    formula: str
    unit: str
    direction: str
    department: str
    stage: str
    cadence: str
    industries: tuple[str, ...]
    inputs: tuple[str, ...]
    function: str
    column: str
    select: Mapping[str, str] = field(default_factory=dict)
    builtin: bool = True
    compute: Callable[[Any], Any] | None = None
    expression: str | None = None
    counts: Counts | None = None
    interval: tuple[str, str] | None = None
    journey: JourneyPlace | None = None
    recipe: Recipe | None = None
    aliases: tuple[str, ...] = ()

    def values(self, frame: Any) -> Any:
        """The metric's values from a frame holding it (or, for a user metric, its inputs).

        value = frame[column] for a built-in, ``frame.eval(expression)`` or
        ``compute(frame)`` for a user metric.

        >>> import pandas as pd, kpikit
        >>> kpikit.metric("arr").values(pd.DataFrame({"arr": [12.0, 24.0]})).tolist()
        [12.0, 24.0]
        """
        if self.compute is not None:
            return self.compute(frame)
        if self.expression is not None:
            return frame.eval(self.expression)
        return frame[self.column]


def _recipe(d: dict[str, Any] | None) -> Recipe | None:
    if d is None:
        return None
    extra = tuple(ExtraSource(e["source"], e["table"], dict(e["columns"])) for e in d.get("extra", []))
    return Recipe(d["source"], dict(d["columns"]), tuple(d.get("required", [])), dict(d.get("options", {})), extra)


def _from_json(d: dict[str, Any], builtin: bool) -> Metric:
    counts = d.get("counts")
    interval = d.get("interval")
    journey = d.get("journey")
    return Metric(
        id=d["id"], name=d["name"], description=d["description"], formula=d["formula"],
        unit=d["unit"], direction=d["direction"], department=d["department"], stage=d["stage"],
        cadence=d["cadence"], industries=tuple(d["industries"]), inputs=tuple(d["inputs"]),
        function=d["function"], column=d["column"], select=dict(d.get("select", {})), builtin=builtin,
        counts=Counts(counts["numerator"], counts["denominator"], counts.get("function")) if counts else None,
        interval=(interval["low"], interval["high"]) if interval else None,
        journey=JourneyPlace(journey["order"], journey.get("stage_rate", False)) if journey else None,
        recipe=_recipe(d.get("recipe")),
        aliases=tuple(d.get("aliases", [])),
    )


_BUILTIN: dict[str, Metric] = {d["id"]: _from_json(d, True) for d in json.loads(_kpikit.catalog())}
_USER: dict[str, Metric] = {}
# Recipes belong to functions; each built-in metric carries its function's.
_RECIPE_OF: dict[str, Recipe] = {m.function: m.recipe for m in _BUILTIN.values() if m.recipe is not None}


def _key(name: str) -> str:
    """A name as lookups compare it, as the core's catalog check does: lower case, each run of
    other characters than letters and digits one ``_`` (docs/conventions.md#metric-names)."""
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


# Every built-in's id, name and aliases by key (unique: the core checks it).
_NAMES: dict[str, str] = {_key(text): m.id for m in _BUILTIN.values() for text in (m.id, m.name, *m.aliases)}


def _lookup(name: str) -> str | None:
    """The id ``name`` stands for (an id, a name or an alias; a leading "number of" is read
    as the count it names), or None."""
    if name in _BUILTIN or name in _USER:
        return name
    key = _key(name)
    for k in (key, key.removeprefix("number_of_")):
        found = _NAMES.get(k)
        if found is not None:
            return found
        user = next((u for u in _USER.values() if k in (_key(u.id), _key(u.name))), None)
        if user is not None:
            return user.id
    return None


def _unknown(name: str, parameter: str) -> ParameterError:
    """The error for a name that is no metric, with the closest ids and aliases."""
    keys = {**_NAMES, **{_key(u.id): u.id for u in _USER.values()}}
    texts = {_key(t): t for m in definitions().values() for t in (m.id, *m.aliases)}
    close = difflib.get_close_matches(_key(name), list(keys), n=5, cutoff=0.6)
    shown = []
    for k in close:
        text = texts.get(k, keys[k])
        label = repr(text) if text == keys[k] else f"{text!r} ({keys[k]})"
        if label not in shown:
            shown.append(label)
    hint = f"; did you mean {', '.join(shown[:3])}?" if shown else "; see kpikit.catalog()"
    return ParameterError(f"parameter {parameter!r}: {name!r} is not a metric of the catalog{hint}")


def resolve(name: str, *, parameter: str = "metric") -> str:
    """The catalog id a metric name stands for: an id, a name or an alias, compared without
    case and punctuation ("Visitor-to-signup rate", "ARPU", "logo churn"); a leading "number of"
    names the count itself. An unknown name raises :class:`~kpikit.ParameterError` naming
    ``parameter`` and the closest ids and aliases.

    >>> from kpikit.catalog import resolve
    >>> resolve("Revenue growth rate"), resolve("logo churn"), resolve("ARPU")
    ('revenue_growth_rate', 'customer_churn_rate', 'arpa')
    >>> resolve("Number of support tickets")
    'tickets_opened'
    """
    if not isinstance(name, str):
        raise ParameterError(f"parameter {parameter!r}: expected a metric id (a string), got {type(name).__name__}")
    found = _lookup(name)
    if found is None:
        raise _unknown(name, parameter)
    return found


def definitions() -> dict[str, Metric]:
    """Every metric definition by id, built-ins first, then yours (:func:`register_metric`).

    >>> from kpikit.catalog import definitions
    >>> definitions()["arr"].formula
    '12 × MRR'
    """
    return {**_BUILTIN, **_USER}


def recipe(function: str) -> Recipe | None:
    """How a kpikit function runs over a :class:`kpikit.Sources` bundle (None: it cannot, and
    its metrics are judged from a history you compute, :meth:`kpikit.KPI.evaluate`).

    keywords = {columns[k]: the bundle's column for key k} ∪ options, per :class:`Recipe`.

    >>> from kpikit.catalog import recipe
    >>> r = recipe("csat")
    >>> r.source, r.columns["csat"], r.options
    ('tickets', 'score', {'invalid': 'skip'})
    >>> recipe("formulas.roi") is None
    True
    """
    return _RECIPE_OF.get(function)


def metric(id: str) -> Metric:
    """One metric's definition by id, or by any of its names and aliases (:func:`resolve`).

    >>> import kpikit
    >>> m = kpikit.metric("net_revenue_retention")
    >>> m.formula, m.direction, m.stage
    ('(starting − churned − contraction + expansion MRR) / starting MRR', 'increase', 'retention')
    >>> kpikit.metric("NRR").id, kpikit.metric("Sales growth").id
    ('net_revenue_retention', 'revenue_growth_rate')
    """
    return definitions()[resolve(id, parameter="id")]


def catalog(
    *,
    department: str | None = None,
    stage: str | None = None,
    industry: str | None = None,
    unit: str | None = None,
    direction: str | None = None,
) -> pd.DataFrame:
    """Every metric definition as a pandas DataFrame (one row per metric), optionally filtered.

    Filters keep rows whose field equals the value (``industry`` keeps metrics serving it).
    Columns: id, name, aliases (other names it is found under, :func:`resolve`), description,
    formula, unit, direction, department, stage, cadence, industries, inputs, function, column,
    builtin.

    >>> import kpikit
    >>> retention = kpikit.catalog(stage="retention", department="finance")
    >>> {"mrr", "net_mrr_churn_rate", "ltv"} <= set(retention.id)
    True
    """
    import pandas as pd

    rows = []
    for m in definitions().values():
        if department is not None and m.department != department:
            continue
        if stage is not None and m.stage != stage:
            continue
        if industry is not None and industry not in m.industries:
            continue
        if unit is not None and m.unit != unit:
            continue
        if direction is not None and m.direction != direction:
            continue
        rows.append({
            "id": m.id, "name": m.name, "aliases": list(m.aliases), "description": m.description, "formula": m.formula,
            "unit": m.unit, "direction": m.direction, "department": m.department, "stage": m.stage,
            "cadence": m.cadence, "industries": list(m.industries), "inputs": list(m.inputs),
            "function": m.function, "column": m.column, "builtin": m.builtin,
        })
    columns = ["id", "name", "aliases", "description", "formula", "unit", "direction", "department", "stage",
               "cadence", "industries", "inputs", "function", "column", "builtin"]
    return pd.DataFrame(rows, columns=columns)


def register_metric(
    id: str,
    *,
    name: str,
    formula: str,
    unit: str,
    direction: str,
    department: str,
    description: str | None = None,
    stage: str = "none",
    cadence: str = "month",
    industries: Sequence[str] = ("saas",),
    inputs: Sequence[str] = ("financials",),
    compute: Callable[[Any], Any] | None = None,
    expression: str | None = None,
) -> Metric:
    """Add a metric of your own; it then behaves like a built-in in :func:`catalog`,
    :func:`metric` and :class:`kpikit.KPI` (whose direction it provides).

    Give either ``expression`` (a ``DataFrame.eval`` formula over other metrics' columns, e.g.
    ``"mrr / tickets_opened"``) or ``compute`` (a callable from such a frame to the values).
    Vocabularies are the catalog's: unit (fraction, ratio, currency, count, score, days…),
    direction (increase, decrease, neutral), department, stage, cadence, industries, inputs.
    Registering an id again replaces your earlier definition; built-in ids cannot be replaced.

    >>> import pandas as pd, kpikit
    >>> m = kpikit.register_metric("mrr_per_ticket", name="MRR per ticket", formula="mrr / tickets_opened",
    ...                            expression="mrr / tickets_opened", unit="currency",
    ...                            direction="increase", department="support")
    >>> m.values(pd.DataFrame({"mrr": [100.0], "tickets_opened": [4]})).tolist()
    [25.0]
    """
    if (compute is None) == (expression is None):
        raise ParameterError("register_metric: give exactly one of expression= or compute=")
    taken = _NAMES.get(_key(id)) if isinstance(id, str) else None
    if taken is not None and taken != id:
        # An alias resolves to its built-in: a user metric under that name would be unreachable.
        raise ParameterError(f"parameter 'id': {id!r} is already a name of the catalog metric {taken!r}")
    definition = {
        "id": id, "name": name, "description": description or name, "formula": formula,
        "unit": unit, "direction": direction, "department": department, "stage": stage,
        "cadence": cadence, "industries": list(industries), "inputs": list(inputs),
        "function": "user", "column": id,
    }
    checked = json.loads(_kpikit.register_metric(json.dumps(definition), list(_BUILTIN)))
    m = _from_json(checked, builtin=False)
    m = Metric(**{**m.__dict__, "compute": compute, "expression": expression})
    _USER[id] = m
    return m
