"""One vocabulary: every public signature uses only the parameter names of docs/vocabulary.md,
with the defaults stated there, and follows the rules stated there."""

from __future__ import annotations

import dataclasses
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
ROW = re.compile(r"^\|\s*`(?P<name>[A-Za-z_0-9]+)`\s*\|\s*(?P<kind>[a-z]+)\s*\|[^|]*\|[^|]*\|\s*(?P<default>[^|]+?)\s*\|\s*$")
NO_DEFAULT = {"required", "varies"}


def vocabulary(operands: bool = False) -> dict[str, tuple[str, str]]:
    """Parameter name -> (kind, default as written) from the doc's tables: the operands of the
    elementwise formulas (``operands=True``) or every other word. An operand named like a
    column holds that quantity's values, so the two lists may share a name."""
    found: dict[str, tuple[str, str]] = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m and (m["kind"] == "operand") == operands:
            assert m["name"] not in found, f"{m['name']} is listed twice in docs/vocabulary.md"
            found[m["name"]] = (m["kind"], m["default"].strip("`"))
    return found


def public_callables() -> list[tuple[str, Any]]:
    """Every public function of kpikit and of its public modules (kpikit.dask, formulas, clv,
    datasets, plot), and every public method of the public classes."""
    found: dict[str, Any] = {}
    modules = [("kpikit", kpikit), ("kpikit.dask", kpikit.dask)]
    modules += [(f"kpikit.{n}", getattr(kpikit, n)) for n in kpikit.__all__ if inspect.ismodule(getattr(kpikit, n))]
    for prefix, module in modules:
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                found[f"{prefix}.{name}"] = obj
            elif inspect.isclass(obj) and not issubclass(obj, (Exception, Warning)):
                for attr, member in vars(obj).items():
                    # A result (ScorecardResult, CheckResult, Report, DemoCompany…) is built by
                    # kpikit, never by the caller.
                    result = dataclasses.is_dataclass(obj) and name.endswith(("Result", "Report", "Company", "Spec"))
                    if (attr == "__init__" and not result) or not attr.startswith("_"):
                        member = member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                        if inspect.isfunction(member):
                            found[f"{prefix}.{name}.{attr}"] = member
    return sorted(found.items())


# Sources' keywords are source roles (docs/conventions.md#source-roles), a namespace of their own.
CALLABLES = [(n, f) for n, f in public_callables() if n != "kpikit.Sources.__init__"]
SELF = {"self", "cls"}


def test_the_doc_lists_a_vocabulary() -> None:
    words = vocabulary()
    assert {"table", "freq", "tz", "by", "invalid", "output", "unit"} <= set(words)
    assert words["output"] == ("value", "None") and words["invalid"] == ("value", '"raise"')
    assert len(CALLABLES) > 80  # the walk below sees the whole public API


@pytest.mark.parametrize("name, f", CALLABLES, ids=[n for n, _ in CALLABLES])
def test_every_public_signature_uses_only_the_vocabulary(name: str, f: Any) -> None:
    words = vocabulary()
    if name.startswith("kpikit.formulas."):
        # A formula takes operands, and settings named as everywhere else.
        words = {k: v for k, v in words.items() if v[0] == "value"} | vocabulary(operands=True)
    params = [p for p in inspect.signature(f).parameters.values() if p.name not in SELF]
    if params and params[0].name == "table" and not name.startswith("kpikit.plot."):
        # An analysis: the data first and positional, every setting by keyword.
        assert params[0].kind is inspect.Parameter.POSITIONAL_ONLY, f"{name}(table) is not positional-only"
        for p in params[1:]:
            if words.get(p.name, ("",))[0] == "table":
                continue  # a second table (quota_attainment's quotas)
            assert p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.VAR_KEYWORD), f"{name}({p.name}) is not keyword-only"
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            continue
        assert p.name in words, f"{name}({p.name}=...) is not in docs/vocabulary.md"
        default = words[p.name][1]
        if default not in NO_DEFAULT and p.kind is not inspect.Parameter.VAR_KEYWORD:
            assert p.default is not inspect.Parameter.empty, f"{name}({p.name}) should default to {default}"
            assert repr(p.default).replace("'", '"') == default, f"{name}({p.name}={p.default!r}) but the vocabulary says {default}"


@pytest.mark.parametrize("name", [n for n in kpikit.dask.__all__])
def test_the_dask_entry_points_are_the_single_machine_functions(name: str) -> None:
    assert getattr(kpikit.dask, name) is getattr(kpikit, name), f"kpikit.dask.{name} is not kpikit.{name}"


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
    # Category order, not alphabetical: pro 4 promoters of 4; team (no answers) a row with no
    # NPS, as pandas' groupby(observed=False); free 0 of 4, 2 detractors.
    assert out.plan.tolist() == ["pro", "team", "free"] and out.responses.tolist() == [4, 0, 4]
    assert out.nps.tolist()[::2] == [100.0, -50.0] and pd.isna(out.nps[1])


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
    with pytest.raises(kpikit.ParameterError, match=r'"by".*period'):
        kpikit.nps(answers, score="score", time="answered_at", by="period")


def test_flags_are_nullable_booleans() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = pa.table({"flag": pa.array([True, None, False])})
        out = kpikit._convert.table_output(table, "pandas")
    assert str(out.flag.dtype) == "boolean" and out.flag.isna().tolist() == [False, True, False]
