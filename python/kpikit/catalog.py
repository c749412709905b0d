"""The metric catalog: one definition per metric, the same for built-ins and your own.

A metric is a defined, reproducible measurement — formula, unit, favourable direction,
department, customer-journey stage, natural cadence, the industries it serves, the inputs it
reads and the kpikit function (and output column) that computes it. The built-in definitions
are data compiled into the Rust core; :func:`register_metric` adds yours, checked against the
same vocabularies, and from then on :func:`catalog`, :func:`metric` and :class:`kpikit.KPI`
treat it like a built-in.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _kpikit
from .exceptions import ParameterError

__all__ = ["Metric", "catalog", "metric", "register_metric"]


@dataclass(frozen=True)
class Metric:
    """One metric definition (see the module docstring for the fields).

    ``compute`` (user metrics) is a callable taking a DataFrame of other metrics, one row per
    period, and returning the metric's values; ``expression`` is the same as a pandas
    ``DataFrame.eval`` expression over metric ids (``"mrr / customers"``).
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


def _from_json(d: dict[str, Any], builtin: bool) -> Metric:
    return Metric(
        id=d["id"], name=d["name"], description=d["description"], formula=d["formula"],
        unit=d["unit"], direction=d["direction"], department=d["department"], stage=d["stage"],
        cadence=d["cadence"], industries=tuple(d["industries"]), inputs=tuple(d["inputs"]),
        function=d["function"], column=d["column"], select=dict(d.get("select", {})), builtin=builtin,
    )


_BUILTIN: dict[str, Metric] = {d["id"]: _from_json(d, True) for d in json.loads(_kpikit.metric_catalog())}
_USER: dict[str, Metric] = {}


def _all() -> dict[str, Metric]:
    return {**_BUILTIN, **_USER}


def metric(id: str) -> Metric:
    """One metric's definition by id.

    >>> import kpikit
    >>> m = kpikit.metric("net_revenue_retention")
    >>> m.formula, m.direction, m.stage
    ('(starting − churned − contraction + expansion MRR) / starting MRR', 'increase', 'retention')
    """
    found = _all().get(id)
    if found is None:
        close = difflib.get_close_matches(id, list(_all()), n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ParameterError(f"parameter 'id': {id!r} is not a metric of the catalog{hint}")
    return found


def catalog(
    *,
    department: str | None = None,
    stage: str | None = None,
    industry: str | None = None,
    unit: str | None = None,
    direction: str | None = None,
) -> Any:
    """Every metric definition as a pandas DataFrame (one row per metric), optionally filtered.

    Filters keep rows whose field equals the value (``industry`` keeps metrics serving it).
    Columns: id, name, description, formula, unit, direction, department, stage, cadence,
    industries, inputs, function, column, builtin.

    >>> import kpikit
    >>> retention = kpikit.catalog(stage="retention", department="finance")
    >>> {"mrr", "net_mrr_churn_rate", "ltv"} <= set(retention.id)
    True
    """
    import pandas as pd

    rows = []
    for m in _all().values():
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
            "id": m.id, "name": m.name, "description": m.description, "formula": m.formula,
            "unit": m.unit, "direction": m.direction, "department": m.department, "stage": m.stage,
            "cadence": m.cadence, "industries": list(m.industries), "inputs": list(m.inputs),
            "function": m.function, "column": m.column, "builtin": m.builtin,
        })
    columns = ["id", "name", "description", "formula", "unit", "direction", "department", "stage",
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
    definition = {
        "id": id, "name": name, "description": description or name, "formula": formula,
        "unit": unit, "direction": direction, "department": department, "stage": stage,
        "cadence": cadence, "industries": list(industries), "inputs": list(inputs),
        "function": "user", "column": id,
    }
    checked = json.loads(_kpikit.check_metric_definition(json.dumps(definition), list(_BUILTIN)))
    m = _from_json(checked, builtin=False)
    m = Metric(**{**m.__dict__, "compute": compute, "expression": expression})
    _USER[id] = m
    return m
