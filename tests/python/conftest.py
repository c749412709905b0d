"""Shared fixtures: the same data in every input library kpikit accepts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

# Each maker turns a dict of equal-length Python lists into a table of one library.
TABLE_MAKERS: dict[str, Callable[[dict[str, list[Any]]], Any]] = {
    "pandas": lambda d: pd.DataFrame(d),
    "pandas[pyarrow]": lambda d: pd.DataFrame(d).convert_dtypes(dtype_backend="pyarrow"),
    "polars": lambda d: pl.DataFrame(d, strict=False),
    "pyarrow": lambda d: pa.table(d),
    "pyarrow-chunked": lambda d: _chunked(pa.table(d)),
}


def _chunked(t: pa.Table) -> pa.Table:
    """The same table split into three record batches (one of them empty)."""
    n = t.num_rows
    cut = n // 2
    parts = [t.slice(0, cut), t.slice(cut, 0), t.slice(cut)]
    return pa.Table.from_batches([b for p in parts for b in p.to_batches()] or t.to_batches(), schema=t.schema)


@pytest.fixture(params=list(TABLE_MAKERS))
def make_table(request: pytest.FixtureRequest) -> Callable[[dict[str, list[Any]]], Any]:
    """A function building a table of one input library (the test runs once per library)."""
    return TABLE_MAKERS[request.param]


@pytest.fixture(autouse=True)
def _doctest_namespace(doctest_namespace: dict[str, Any]) -> None:
    doctest_namespace.update(np=np, pd=pd, pl=pl, pa=pa)
