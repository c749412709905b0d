"""The report (kpikit's main job): the demo company's HTML is self-contained and holds every
executive KPI with its value and status; specs load Parquet and CSV sources and reproduce the
scorecard of the same tables; bad specs fail with the file, line and key before any data is
read; the command line writes the file."""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

import kpikit
from kpikit.__main__ import main
from kpikit._render import format_value as _format

SCALE = 0.1


class _Page(HTMLParser):
    """Collects the text of each table cell row, the image sources and any external reference."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        if tag == "td":
            self._cell = []
        if tag == "img":
            self.images.append(a.get("src") or "")
        for key in ("src", "href"):
            value = a.get(key) or ""
            if value and not value.startswith("data:"):
                self.external.append(value)
        if tag in ("script", "link"):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def demo_sources() -> kpikit.Sources:
    return kpikit.Sources.demo(scale=SCALE)


@pytest.fixture(scope="module")
def demo_report(demo_sources: kpikit.Sources) -> kpikit.Report:
    return kpikit.report(demo_sources, title="Demo <report>")


def test_demo_report_has_every_executive_kpi_with_value_and_status(demo_report: kpikit.Report) -> None:
    page = _Page()
    page.feed(demo_report.html)
    expected = demo_report.scorecard.to_frame().set_index("kpi")
    assert list(expected.index) == [k.label for k in kpikit.Scorecard.executive().kpis]
    by_name = {}
    for row in page.rows:
        # Scorecard rows: KPI (+ its period, shown there on phones), owner, period, value
        # (+ interval), target, change, status, trend.
        name = row[0].split(" ★")[0].removesuffix(row[2]).strip() if len(row) == 8 else None
        if name in expected.index:
            by_name[name] = row
    assert set(by_name) == set(expected.index)
    for name, row in by_name.items():
        r = expected.loc[name]
        assert row[3].startswith(_format(r["value"], r["unit"])), name
        assert row[6].startswith(r["status"].replace("_", " ")), name
        # Every period as people read it: a month "Oct 2026", a quarter "Q3 2026".
        expected_label = f"Q{r['period'].quarter} {r['period'].year}" if r["cadence"] == "quarter" else f"{r['period']:%b %Y}"
        assert row[2] == expected_label, name
    # The north star is marked and leads the card.
    assert by_name["Net revenue retention"][0].startswith("Net revenue retention ★")
    assert demo_report.sections == ["headline", "scorecard", "data_checks", "journey", "kpi_trends", "mrr_movements", "funnel",
                                    "retention", "active_users"]
    # The title is escaped, not markup.
    assert "Demo &lt;report&gt;" in demo_report.html


def test_demo_report_is_self_contained_and_its_images_decode(demo_report: kpikit.Report) -> None:
    import matplotlib.image as mpimg

    page = _Page()
    page.feed(demo_report.html)
    assert page.external == []
    # KPI trends, MRR movements, funnel, retention heat map, active users.
    assert len(page.images) == 5
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        pixels = mpimg.imread(io.BytesIO(data), format="png")
        assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 300
    assert demo_report._repr_html_().startswith("<h1>")


def test_report_leaves_out_sections_without_sources(demo_sources: kpikit.Sources) -> None:
    only_revenue = kpikit.Sources(subscriptions=demo_sources.subscriptions, spend=demo_sources.spend)
    card = kpikit.Scorecard([kpikit.KPI("customer_churn_rate", target=0.02, name="Churn",
                                        notes={"2026-10": "new onboarding flow"})])
    r = kpikit.report(only_revenue, card)
    assert r.sections == ["headline", "scorecard", "data_checks", "journey", "kpi_trends", "mrr_movements", "notes"]
    assert set(r.skipped) == {"funnel", "retention", "active_users"}
    assert "new onboarding flow" in r.html and "no events source" in r.html


def _write_demo_files(d: Path, sources: kpikit.Sources) -> None:
    subs, _ = sources.subscriptions
    subs.to_parquet(d / "subscriptions.parquet")
    sources.spend[0].to_csv(d / "spend.csv", index=False)
    sources.deals[0].to_parquet(d / "deals.parquet")
    sources.responses[0].to_parquet(d / "responses.parquet")


SPEC = """
title = "Acme"
as_of = 2026-10-31

[sources.subscriptions]
path = "subscriptions.parquet"
customer = "customer_id"
period = "month"
mrr = "mrr"

[sources.spend]
path = "spend.csv"
time = "month"
amount = "amount"

[sources.deals]
path = "deals.parquet"
deal = "deal_id"
created = "created"
closed = "closed"
amount = "amount"
won = "won"

[sources.responses]
path = "responses.parquet"
score = "score"
time = "time"

[scorecard]
north_star = "Churn"

[[kpi]]
metric = "customer_churn_rate"
name = "Churn"
target = 0.02
at_risk = 0.005
owner = "Head of CS"
notes = { "2026-10" = "price change" }

[[kpi]]
metric = "win_rate"
target = [0.2, 0.4]
cadence = "quarter"

[[kpi]]
metric = "nps"
target = 30
cadence = "quarter"
"""


def test_spec_reproduces_the_scorecard_of_the_same_tables(tmp_path: Path, demo_sources: kpikit.Sources) -> None:
    _write_demo_files(tmp_path, demo_sources)
    (tmp_path / "kpis.toml").write_text(SPEC)
    spec = kpikit.load_spec(tmp_path / "kpis.toml")
    assert spec.title == "Acme" and spec.sources.roles() == ["subscriptions", "spend", "deals", "responses"]
    got = spec.scorecard.evaluate(spec.sources, as_of=spec.as_of).to_frame()
    direct = kpikit.Scorecard(
        [kpikit.KPI("customer_churn_rate", target=0.02, name="Churn", thresholds={"at_risk": 0.005}),
         kpikit.KPI("win_rate", target=(0.2, 0.4), cadence="quarter"),
         kpikit.KPI("nps", target=30.0, cadence="quarter")],
        north_star="Churn",
    ).evaluate(demo_sources, as_of="2026-10-31").to_frame()
    cols = ["kpi", "period", "value", "status", "attainment", "north_star"]
    pd.testing.assert_frame_equal(got[cols], direct[cols])
    assert got.loc[0, "owner"] == "Head of CS"
    r = spec.report()
    assert "price change" in r.html and "Acme" in r.html
    assert r.sections == ["headline", "scorecard", "data_checks", "journey", "kpi_trends", "mrr_movements", "notes"]


def _spec_error(tmp_path: Path, demo_sources: kpikit.Sources, text: str, monkeypatch: pytest.MonkeyPatch) -> str:
    _write_demo_files(tmp_path, demo_sources)
    (tmp_path / "bad.toml").write_text(text)

    def no_reading(path: Path) -> None:
        raise AssertionError(f"read {path} before the spec was checked")

    monkeypatch.setattr("kpikit.spec._read", no_reading)
    with pytest.raises(kpikit.ParameterError) as e:
        kpikit.load_spec(tmp_path / "bad.toml")
    return str(e.value)


@pytest.mark.parametrize(
    ("edit", "line", "words"),
    [
        # An unknown metric, on the line of the second KPI's metric key.
        (lambda s: s.replace('metric = "win_rate"', 'metric = "win_rat"'), 41, ["kpi[1].metric", "'win_rat'", "win_rate"]),
        # A column the file does not have.
        (lambda s: s.replace('mrr = "mrr"', 'mrr = "mrr_cents"'), 9, ["sources.subscriptions.mrr", "'mrr_cents'"]),
        # A column of the wrong type: the deal id is not a timestamp.
        (lambda s: s.replace('created = "created"', 'created = "deal_id"'), 19, ["sources.deals.created", "not a timestamp"]),
        # A file that does not exist.
        (lambda s: s.replace('"deals.parquet"', '"dealz.parquet"'), 17, ["sources.deals.path", "dealz.parquet"]),
        # An unknown role and an unknown key.
        (lambda s: s.replace("[sources.spend]", "[sources.spending]"), 11, ["unknown role 'spending'"]),
        (lambda s: s.replace('won = "won"', 'won = "won"\nstage = "x"'), 23, ["sources.deals.stage", "unknown key"]),
        # A metric whose source is not declared.
        (lambda s: s + '\n[[kpi]]\nmetric = "dau_mau"\ntarget = 0.2\n', 51, ["kpi[3].metric", "'events' source"]),
        # A bad target and a bad cadence.
        (lambda s: s.replace("target = 30", 'target = "thirty"'), 47, ["kpi[2].target", "'thirty'"]),
        (lambda s: s.replace('cadence = "quarter"', 'cadence = "fortnight"', 1), 43, ["kpi[1].cadence", "'fortnight'"]),
        # The north star must be one of the KPIs.
        (lambda s: s.replace('north_star = "Churn"', 'north_star = "Growth"'), 30, ["north_star", "'Growth'"]),
    ],
)
def test_bad_specs_name_the_key_and_line_before_reading_data(tmp_path: Path, demo_sources: kpikit.Sources,
                                                             monkeypatch: pytest.MonkeyPatch, edit, line, words) -> None:
    message = _spec_error(tmp_path, demo_sources, edit(SPEC), monkeypatch)
    assert f"bad.toml:{line}: " in message, message
    for w in words:
        assert w in message, message


def test_unreadable_and_invalid_specs(tmp_path: Path, demo_sources: kpikit.Sources, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(kpikit.ParameterError, match="no such spec file"):
        kpikit.load_spec(tmp_path / "missing.toml")
    message = _spec_error(tmp_path, demo_sources, "title = \n", monkeypatch)
    assert "not valid TOML" in message and "bad.toml:1: title:" in message
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    message = _spec_error(tmp_path, demo_sources, SPEC.replace('"deals.parquet"', '"broken.parquet"'), monkeypatch)
    assert "cannot read" in message and "bad.toml:17: sources.deals.path:" in message
    message = _spec_error(tmp_path, demo_sources, 'title = "x"\n', monkeypatch)
    assert "no [sources.<role>] table" in message


def test_command_line_writes_the_report(tmp_path: Path, demo_sources: kpikit.Sources, capsys: pytest.CaptureFixture[str]) -> None:
    _write_demo_files(tmp_path, demo_sources)
    (tmp_path / "kpis.toml").write_text(SPEC)
    out = tmp_path / "out.html"
    assert main(["report", str(tmp_path / "kpis.toml"), "-o", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "report written to" in printed and "★Churn" in printed
    assert out.read_text().startswith("<!DOCTYPE html>")

    (tmp_path / "bad.toml").write_text(SPEC.replace('metric = "nps"', 'metric = "npss"'))
    assert main(["report", str(tmp_path / "bad.toml"), "-o", str(out)]) == 2
    assert re.search(r"kpikit: error: .*bad\.toml:\d+: kpi\[2\]\.metric", capsys.readouterr().err)

    demo_out = tmp_path / "demo.html"
    assert main(["report", "--demo", "--scale", "0.05", "-o", str(demo_out)]) == 0
    captured = capsys.readouterr()
    assert "[1/8] data checks" in captured.err and "[2/8] scorecard" in captured.err  # progress on the terminal
    assert "Net revenue retention" in captured.out and demo_out.stat().st_size > 100_000


@pytest.mark.parametrize(("value", "text"), [(0.99994, "99.99 %"), (1.00004, "100.004 %"), (0.0004, "0.04 %"),
                                              (1.0, "100.0 %"), (0.0, "0.0 %"), (0.1234, "12.3 %")])
def test_fractions_never_round_to_a_misleading_figure(value: float, text: str) -> None:
    assert _format(value, "fraction") == text


def test_every_table_function_has_an_obvious_chart(demo_sources: kpikit.Sources) -> None:
    d = kpikit.datasets.demo(scale=0.05)
    subs = dict(customer="customer_id", period="month", mrr="mrr")
    tables = {
        "nps": kpikit.nps(d.responses, score="score", time="time", freq="month"),
        "csat": kpikit.csat(d.tickets.dropna(subset=["csat"]), score="csat", time="opened", freq="month"),
        "mrr": kpikit.mrr(d.subscriptions, **subs),
        "mrr_movements": kpikit.mrr_movements(d.subscriptions, **subs),
        "revenue_metrics": kpikit.revenue_metrics(d.subscriptions, **subs),
        "revenue_cohorts": kpikit.revenue_cohorts(d.subscriptions, **subs),
        "deal_metrics": kpikit.deal_metrics(d.deals, created="created", closed="closed", amount="amount", won="won"),
        "lead_metrics": kpikit.lead_metrics(d.leads, created="visited_at", qualified="pql_at", converted="customer_at"),
        "support_metrics": kpikit.support_metrics(d.tickets, opened="opened", resolved="resolved"),
        "active_users": kpikit.active_users(d.events, user="user_id", time="time"),
        "lifecycle": kpikit.lifecycle(d.events, user="user_id", time="time", freq="month"),
        "stickiness": kpikit.stickiness(d.events, user="user_id", time="time", start="2026-10-01", end="2026-11-01"),
        "retention": kpikit.retention(d.events, user="user_id", time="time", freq="month"),
        "funnel_from_stages": kpikit.funnel_from_stages(d.leads, stages=["visited_at", "signed_up_at", "pql_at"]),
    }
    import matplotlib.pyplot as plt

    for name, table in tables.items():
        ax = kpikit.plot.auto(table)
        drawn = ax.get_lines() or ax.patches or ax.images or ax.collections
        assert drawn, name
        plt.close("all")
    with pytest.raises(kpikit.ParameterError, match="no chart known"):
        kpikit.plot.auto(pd.DataFrame({"x": [1]}))


def test_kpis_on_a_source_that_failed_its_check_are_marked(demo_sources: kpikit.Sources) -> None:
    answers, columns = demo_sources.responses
    bad = answers.copy()
    bad.loc[bad.index[:3], "score"] = 11  # off the 0–10 scale: NPS skips them, the check fails
    sources = kpikit.Sources(responses=(bad, columns), subscriptions=demo_sources.subscriptions)
    card = kpikit.Scorecard([kpikit.KPI("nps", target=30.0, cadence="quarter"),
                             kpikit.KPI("customer_churn_rate", target=0.02, name="Churn")])
    checks = kpikit.check(sources, as_of=sources.data_end())
    assert checks.failed_roles() == {"responses"}
    frame = card.evaluate(sources, checks=checks).to_frame().set_index("kpi")
    assert frame.loc["nps", "data_check"] == "failed" and frame.loc["Churn", "data_check"] == "ok"
    r = kpikit.report(sources, card, as_of=sources.data_end())
    assert r.html.count("⚠ data check failed") == 1 and "Failed: responses" in r.html
