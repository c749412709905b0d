"""One vocabulary: every public signature uses only the parameter names of docs/vocabulary.md,
with the defaults stated there, and follows the rules stated there."""

from __future__ import annotations

import inspect
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import kpikit
import kpikit.dask

DOC = Path(__file__).resolve().parents[2] / "docs" / "vocabulary.md"
ROW = re.compile(r"^\|\s*`(?P<name>[a-z_0-9]+)`\s*\|\s*(?P<kind>[a-z]+)\s*\|[^|]*\|[^|]*\|\s*(?P<default>[^|]+?)\s*\|\s*$")
NO_DEFAULT = {"required", "varies"}


def vocabulary() -> dict[str, tuple[str, str]]:
    """Parameter name -> (kind, default as written) from the doc's tables."""
    found: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m:
            assert m["name"] not in found, f"{m['name']} is listed twice in docs/vocabulary.md"
            found[m["name"]] = (m["kind"], m["default"].strip("`"))
    return found


def public_functions() -> list[tuple[str, Any]]:
    """Every public function and class constructor: kpikit, kpikit.dask and kpikit's public
    submodules (formulas, clv, datasets, plot)."""
    found: dict[str, Any] = {}
    modules = [("kpikit", kpikit), ("kpikit.dask", kpikit.dask)]
    modules += [(f"kpikit.{n}", getattr(kpikit, n)) for n in kpikit.__all__ if inspect.ismodule(getattr(kpikit, n))]
    for prefix, module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[f"{prefix}.{name}"] = obj
    return sorted(found.items())


ANALYSES = [
    "active_users",
    "stickiness",
    "lifecycle",
    "retention",
    "nps",
    "csat",
    "deal_metrics",
    "lead_metrics",
    "support_metrics",
    "campaign_metrics",
    "onboarding_time",
    "funnel",
    "funnel_from_stages",
    "mrr",
    "mrr_movements",
    "revenue_metrics",
    "revenue_cohorts",
    "rfm_summary",
    "rfm_split",
]

# Functions of two tables: both positional-only, named in the vocabulary as tables.
TWO_TABLES = [
    "quota_attainment",
]


def test_the_doc_lists_a_vocabulary() -> None:
    words = vocabulary()
    assert {"table", "freq", "tz", "by", "invalid", "output", "unit"} <= set(words)
    assert words["output"] == ("value", "None") and words["invalid"] == ("value", '"raise"')


@pytest.mark.parametrize("name", ANALYSES)
def test_analysis_signatures_use_only_the_vocabulary(name: str) -> None:
    words = vocabulary()
    f = getattr(kpikit, name)
    params = list(inspect.signature(f).parameters.values())
    assert params[0].name == "table" and params[0].kind is inspect.Parameter.POSITIONAL_ONLY, name
    for p in params[1:]:
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            # Keyword overrides given by name (revenue's **conventions): listed like a parameter.
            assert p.name in words, f"{name}(**{p.name}) is not in docs/vocabulary.md"
            continue
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}({p.name}) is not keyword-only"
        assert p.name in words, f"{name}({p.name}=...) is not in docs/vocabulary.md"
        default = words[p.name][1]
        if default not in NO_DEFAULT:
            assert p.default is not inspect.Parameter.empty, f"{name}({p.name}) should default to {default}"
            assert repr(p.default).replace("'", '"') == default, f"{name}({p.name}={p.default!r}) but the vocabulary says {default}"
    if hasattr(kpikit.dask, name):
        assert getattr(kpikit.dask, name) is f, f"kpikit.dask.{name} is not kpikit.{name}"


def _answers() -> pd.DataFrame:
    return pd.DataFrame({
        "score": [10, 9, 8, 6, 10, 3, 9, 7],
        "plan": pd.Categorical(["pro", "pro", "free", "free", "pro", "free", "pro", "free"], categories=["pro", "team", "free"]),
        "answered_at": pd.date_range("2026-01-03", periods=8, freq="W", tz="UTC"),
    })


def test_output_follows_the_input_library() -> None:
    answers = _answers()
    assert isinstance(kpikit.nps(answers, score="score"), pd.DataFrame)
    assert isinstance(kpikit.nps(pl.from_pandas(answers), score="score"), pl.DataFrame)
    assert isinstance(kpikit.nps(pa.Table.from_pandas(answers), score="score"), pa.Table)
    assert isinstance(kpikit.nps(answers, score="score", output="polars"), pl.DataFrame)


def test_categorical_segments_keep_their_categories_and_order() -> None:
    out = kpikit.nps(_answers(), score="score", by="plan")
    assert isinstance(out.plan.dtype, pd.CategoricalDtype)
    assert list(out.plan.cat.categories) == ["pro", "team", "free"]
    # pro first (category order, not alphabetical): pro 4 promoters of 4, free 0 of 4, 2 detractors.
    assert out.plan.tolist() == ["pro", "free"] and out.nps.tolist() == [100.0, -50.0]


def test_skipped_rows_are_reported_by_one_warning_for_every_library() -> None:
    answers = pd.DataFrame({"score": [10, 11, None, 3]})
    for table in (answers, pl.from_pandas(answers), pa.Table.from_pandas(answers)):
        with pytest.warns(kpikit.SkippedRowsWarning) as caught:
            out = kpikit.nps(table, score="score", invalid="skip", output="pandas")
        assert caught[0].message.count == 2  # 11 is off the scale, None is missing
        assert out.responses.tolist() == [2] and "skipped" not in out.columns


@pytest.mark.parametrize("alias, word", [("M", "month"), ("ME", "month"), ("QS", "quarter"), ("1mo", "month"), ("D", "day"), ("W-SUN", "week")])
def test_foreign_frequency_spellings_are_refused_with_the_word_to_use(alias: str, word: str) -> None:
    with pytest.raises(kpikit.ParameterError, match=f'"freq".*write {word!r}'):
        kpikit.nps(_answers(), score="score", time="answered_at", freq=alias)


def test_a_segment_named_like_a_result_key_is_refused() -> None:
    answers = _answers().rename(columns={"plan": "period"})
    with pytest.raises(kpikit.ParameterError, match='"by".*period'):
        kpikit.nps(answers, score="score", time="answered_at", by="period")


def test_flags_are_nullable_booleans() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = pa.table({"flag": pa.array([True, None, False])})
        out = kpikit._convert.table_output(table, "pandas")
    assert str(out.flag.dtype) == "boolean" and out.flag.isna().tolist() == [False, True, False]


@pytest.mark.parametrize("name", TWO_TABLES)
def test_two_table_signatures_use_only_the_vocabulary(name: str) -> None:
    words = vocabulary()
    params = list(inspect.signature(getattr(kpikit, name)).parameters.values())
    for p in params[:2]:
        assert p.kind is inspect.Parameter.POSITIONAL_ONLY, f"{name}({p.name}) is not positional-only"
        assert words.get(p.name, ("",))[0] == "table", f"{name}({p.name}) is not a table of docs/vocabulary.md"
    for p in params[2:]:
        assert p.kind is inspect.Parameter.KEYWORD_ONLY, f"{name}({p.name}) is not keyword-only"
        assert p.name in words, f"{name}({p.name}=...) is not in docs/vocabulary.md"
        default = words[p.name][1]
        if default not in NO_DEFAULT:
            assert repr(p.default).replace("'", '"') == default, f"{name}({p.name}={p.default!r}) but the vocabulary says {default}"
