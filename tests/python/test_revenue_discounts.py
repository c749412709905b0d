"""MRR after recurring discounts (docs/conventions.md#discounts): an amount off per billing
interval or a percentage, normalised to a month like the amount, in every input library, and
the errors naming the discount column and rows."""

from __future__ import annotations

from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit

# a: 100 a month with 20 off → 80. b: 1,200 a year with 25 % off → 900 / 12 = 75.
# c: 300 a quarter, no discount → 100. d: 1,200 a year with 240 off each year → 960 / 12 = 80.
SUBS = {
    "customer": ["a", "b", "c", "d"],
    "start": pd.to_datetime(["2026-01-05"] * 4).tolist(),
    "amount": [100.0, 1200.0, 300.0, 1200.0],
    "interval": ["month", "year", "quarter", "year"],
    "off": [20.0, None, None, 240.0],
    "pct": [None, 25.0, None, None],
}
COLS = dict(customer="customer", started="start", amount="amount", interval="interval", discount="off", discount_percent="pct")


def make(library: str, data: dict[str, list[Any]]) -> Any:
    frame = pd.DataFrame(data)
    if library == "polars":
        return pl.from_pandas(frame)
    if library == "arrow":
        return pa.Table.from_pandas(frame, preserve_index=False)
    return frame


@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_mrr_after_discount(library: str) -> None:
    m = kpikit.mrr(make(library, SUBS), **COLS, output="pandas")
    assert dict(zip(m.customer, m.mrr, strict=True)) == {"a": 80.0, "b": 75.0, "c": 100.0, "d": 80.0}
    moved = kpikit.mrr_movements(make(library, SUBS), **COLS, output="pandas")
    assert moved.ending_mrr.tolist() == [335.0] and moved.new_mrr.tolist() == [335.0]
    rates = kpikit.revenue_metrics(make(library, SUBS), **COLS, output="pandas")
    assert rates.mrr.tolist() == [335.0] and rates.arpa.tolist() == [83.75]  # 335 / 4


def test_a_discount_that_ends_is_a_second_row_and_shows_as_expansion() -> None:
    # 50 % off for January and February only, then the list price of 60: two rows.
    subs = pd.DataFrame(
        {
            "customer": ["a", "a"],
            "start": pd.to_datetime(["2026-01-05", "2026-03-01"]),
            "end": pd.to_datetime(["2026-03-01", None]),
            "amount": [60.0, 60.0],
            "pct": [50.0, None],
        }
    )
    m = kpikit.mrr_movements(subs, customer="customer", started="start", ended="end", amount="amount", discount_percent="pct")
    assert m.ending_mrr.tolist() == [30.0, 30.0, 60.0]
    assert m.expansion_mrr.tolist() == [0.0, 0.0, 30.0]


def test_discounts_rounded_per_subscription_like_amounts() -> None:
    # 100 a year with 1/3 % off: 100 × (100 − 1/3) / 100 / 12 = 8.30555… → 8.31.
    subs = pd.DataFrame(
        {"customer": ["a"], "start": pd.to_datetime(["2026-01-05"]), "amount": [100.0], "interval": ["year"], "pct": [100 / 300]}
    )
    m = kpikit.mrr(subs, customer="customer", started="start", amount="amount", interval="interval", discount_percent="pct")
    assert m.mrr.tolist() == [8.31]


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        ({"off": [120.0, None, None, None]}, "off", r'"off": must not exceed the amount.*row 0'),
        ({"off": [-5.0, None, None, None]}, "off", r'"off": must be a finite, non-negative amount.*row 0'),
        ({"off": [None, None, float("inf"), None]}, "off", r'"off": must be a finite.*row 2'),
        ({"pct": [None, 150.0, -1.0, None]}, "pct", r'"pct": must be a percentage from 0 to 100.*rows? 1.*2'),
        ({"pct": [10.0, None, None, None]}, "pct", r'"pct": a row has either a discount or a discount percentage.*row 0'),
    ],
)
@pytest.mark.parametrize("library", ["pandas", "polars", "arrow"])
def test_bad_discounts_name_the_column_and_rows(change: dict[str, list[Any]], column: str, message: str, library: str) -> None:
    data = {**SUBS, **change}
    with pytest.raises(kpikit.InputError, match=message):
        kpikit.mrr(make(library, data), **COLS)


def test_discount_is_for_subscriptions_only() -> None:
    snaps = pd.DataFrame({"customer": ["a"], "month": pd.to_datetime(["2026-01-01"]), "mrr": [10.0], "off": [1.0]})
    with pytest.raises(kpikit.ParameterError, match="discount"):
        kpikit.mrr(snaps, customer="customer", period="month", mrr="mrr", discount="off")
    with pytest.raises(kpikit.SchemaError, match="nope"):
        kpikit.mrr(pd.DataFrame(SUBS), **{**COLS, "discount": "nope"})
    with pytest.raises(kpikit.ParameterError, match="discount"):
        # A movement table has its own columns: a discount needs the subscriptions.
        kpikit.revenue_metrics(kpikit.mrr_movements(pd.DataFrame(SUBS), **COLS), discount="off")
