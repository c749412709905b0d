"""Specs: the README's example runs as written; every problem of a spec is listed in one run,
each with its file, line, key and value; conversion windows and cadences are checked at load
time (and "Q" is a quarter, as the API reads it); a source may be a directory or a glob of
files; currency= formats money."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit.__main__ import main

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
SCALE = 0.1


@pytest.fixture(scope="module")
def company() -> Any:
    return kpikit.datasets.demo(scale=SCALE)


def _readme_spec() -> str:
    section = README.split("## The report: from a spec file to one HTML page", 1)[1]
    return re.search(r"```toml\n(.*?)```", section, flags=re.S).group(1)  # type: ignore[union-attr]


def _write_tables(d: Path, company: object) -> None:
    company.subscriptions.to_parquet(d / "subscriptions.parquet")  # type: ignore[attr-defined]
    company.responses.rename(columns={"time": "answered_at"}).to_csv(d / "nps.csv", index=False)  # type: ignore[attr-defined]


def test_the_readme_spec_runs_as_written(tmp_path: Path, company: object, capsys: pytest.CaptureFixture[str]) -> None:
    _write_tables(tmp_path, company)
    (tmp_path / "kpis.toml").write_text(_readme_spec())
    assert main(["report", str(tmp_path / "kpis.toml"), "-o", str(tmp_path / "report.html"), "-q"]) == 0
    spec = kpikit.load_spec(tmp_path / "kpis.toml")
    rows = spec.report().scorecard.to_frame().set_index("kpi")
    # The executive set, with its Customer churn and NPS replaced by the spec's own.
    assert list(rows.index) == [k.label for k in kpikit.Scorecard.executive().kpis]
    assert rows.loc["Customer churn", "owner"] == "Head of CS" and rows.loc["NPS", "cadence"] == "quarter"
    # Preset KPIs whose source the spec does not declare are no data, with the reason.
    assert rows.loc["Average deal size", ["status", "reason"]].tolist() == ["no_data", "no 'deals' source"]
    assert rows.loc["LTV:CAC", ["status", "reason"]].tolist() == ["no_data", "no 'spend' source"]
    # The numbers are the analyses' own, money in dollars.
    subs = company.subscriptions  # type: ignore[attr-defined]
    rates = kpikit.revenue_metrics(subs, customer="customer_id", period="month", mrr="mrr").set_index("period")
    assert rows.loc["Customer churn", "value"] == rates.loc["2026-10-01", "customer_churn_rate"]
    answers = company.responses  # type: ignore[attr-defined]
    nps = kpikit.nps(answers, score="score", time="time", freq="quarter").set_index("period")
    assert rows.loc["NPS", "value"] == pytest.approx(nps.loc["2026-07-01", "nps"], rel=1e-12)
    printed = capsys.readouterr().out
    assert "Customer churn" in printed and "no data (no 'deals' source)" in printed
    html = (tmp_path / "report.html").read_text()
    assert "price change on the Pro plan" in html and spec.currency == "USD"


def test_every_problem_is_listed_at_once_with_file_line_key_and_value(tmp_path: Path, company: object) -> None:
    _write_tables(tmp_path, company)
    company.leads.to_parquet(tmp_path / "leads.parquet")  # type: ignore[attr-defined]
    text = """title = "T"
currency = "dollars"

[sources.subscriptions]
path = "subscriptions.parquet"
customer = "customer_id"
period = "month"
mrr = "mrr"

[sources.leads]
path = "leads.parquet"
stages = ["visited_at", "signed_up_at"]
window = "3 months"

[[kpi]]
metric = "customer_churn_rate"
target = 0.02
cadence = "fortnight"

[[kpi]]
metric = "mrr"
target = 1000
name = "Churn"

[[kpi]]
metric = "arr"
target = 1000
name = "Churn"
"""
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    with pytest.raises(kpikit.ParameterError) as e:
        kpikit.load_spec(spec)
    lines = str(e.value).splitlines()
    numbered = text.splitlines()

    def line_of(start: str, nth: int = 0) -> int:
        return [i + 1 for i, t in enumerate(numbered) if t.startswith(start)][nth]

    expected = [(line_of("currency"), "currency", "'dollars'"),
                (line_of("window"), "sources.leads.window", "'3 months'"),
                (line_of("cadence"), "kpi[0].cadence", "'fortnight'"),
                (line_of('name = "Churn"', 1), "kpi[2].name", "'Churn'")]
    assert len(lines) == len(expected), lines
    for line, (number, key, value) in zip(lines, expected, strict=True):
        assert line.startswith(f"{spec}:{number}: {key}: "), line
        assert value in line, line
    assert "months and years have no fixed length" in lines[1]


def test_a_window_in_days_loads_and_q_is_a_quarter(tmp_path: Path, company: object) -> None:
    _write_tables(tmp_path, company)
    text = _readme_spec()
    assert 'cadence = "Q"' in text
    (tmp_path / "kpis.toml").write_text(text)
    spec = kpikit.load_spec(tmp_path / "kpis.toml")
    nps = next(k for k in spec.scorecard.kpis if k.label == "NPS")
    assert nps.cadence == "quarter" == kpikit.KPI("nps", target=30, cadence="Q").cadence
    with pytest.raises(kpikit.ParameterError, match="'cadence': 'fortnight'"):
        kpikit.KPI("nps", target=30, cadence="fortnight")


@pytest.mark.parametrize("path", ["subs", "subs/*.parquet", "subs/"])
def test_a_source_may_be_a_directory_or_a_glob(tmp_path: Path, company: object, path: str) -> None:
    subs = company.subscriptions  # type: ignore[attr-defined]
    (tmp_path / "subs").mkdir()
    cut = pd.Timestamp("2026-01-01")
    subs[subs["month"] < cut].to_parquet(tmp_path / "subs" / "2025.parquet")
    subs[subs["month"] >= cut].to_parquet(tmp_path / "subs" / "2026.parquet")
    (tmp_path / "s.toml").write_text(f"""
[sources.subscriptions]
path = "{path}"
customer = "customer_id"
period = "month"
mrr = "mrr"

[[kpi]]
metric = "customer_churn_rate"
target = 0.02
""")
    spec = kpikit.load_spec(tmp_path / "s.toml")
    assert spec.sources.subscriptions[0].num_rows == len(subs)
    row = spec.report().scorecard.to_frame().iloc[0]
    rates = kpikit.revenue_metrics(subs, customer="customer_id", period="month", mrr="mrr").set_index("period")
    assert row.value == rates.loc["2026-10-01", "customer_churn_rate"]


def test_a_directory_of_mismatched_files_or_none_is_one_line(tmp_path: Path, company: object) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "mixed").mkdir()
    subs = company.subscriptions  # type: ignore[attr-defined]
    subs.to_parquet(tmp_path / "mixed" / "a.parquet")
    subs.rename(columns={"mrr": "amount"}).to_parquet(tmp_path / "mixed" / "b.parquet")
    for folder, words in (("empty", "holds no Parquet or CSV file"), ("mixed", "'b.parquet' has other columns")):
        (tmp_path / "s.toml").write_text(f"""
[sources.subscriptions]
path = "{folder}"
customer = "customer_id"
period = "month"
mrr = "mrr"

[[kpi]]
metric = "customer_churn_rate"
target = 0.02
""")
        with pytest.raises(kpikit.ParameterError) as e:
            kpikit.load_spec(tmp_path / "s.toml")
        assert str(e.value).startswith(f"{tmp_path / 's.toml'}:3: sources.subscriptions.path: ") and words in str(e.value)


def test_currency_formats_money_with_its_symbol() -> None:
    from kpikit._render import format_value

    assert format_value(8217.4, "currency", "USD") == "$8,217"
    assert format_value(1234567.0, "currency", "EUR") == "€1,234,567"
    assert format_value(12.5, "currency", "GBP") == "£12.50"
    assert format_value(1200.0, "currency", "CHF") == "CHF 1,200"
    assert format_value(1200.0, "currency", "SEK") == "SEK 1,200"
    assert format_value(1200.0, "currency", "XYZ") == "XYZ 1,200"
    with pytest.raises(kpikit.ParameterError, match="'currency': 'euro'"):
        kpikit.report(kpikit.Sources.demo(scale=0.05), currency="euro")
    assert [format_value(v, u) for v, u in ((9.04, "months"), (49.0, "days"), (43.0, "score"), (5.9, "ratio"))] == [
        "9.0 months", "49.0 days", "+43 points", "5.90×"]
