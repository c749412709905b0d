"""Check-ins: each `kpikit report SPEC.toml` run records every KPI's period, value, target,
status and note beside the spec (re-running an as-of replaces it), the report says what
changed since the last check-in, and `kpikit history` / `kpikit.history` list the check-ins.
Three check-ins of the demo company, a month apart, with a target changed and a note added."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import kpikit
from kpikit.__main__ import main
from kpikit._render import format_value

SCALE = 0.2
DAYS = ["2026-08-31", "2026-09-30", "2026-10-31"]


class _Changes(HTMLParser):
    """The items of the report's "Since the last check-in" list, as text."""

    def __init__(self) -> None:
        super().__init__()
        self.items: list[str] = []
        self._in = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "li" and (dict(attrs).get("class") or "").startswith("change-"):
            self._in = True
            self.items.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self._in = False

    def handle_data(self, data: str) -> None:
        if self._in:
            self.items[-1] += data


def _spec(as_of: str, churn_target: float, note: str | None) -> str:
    notes = f'notes = {{ "2026-09" = "{note}" }}' if note else ""
    return f"""title = "Demo check-ins"
as_of = {as_of}
currency = "USD"

[sources.subscriptions]
path = "subscriptions.parquet"
customer = "customer_id"
period = "month"
mrr = "mrr"

[sources.spend]
path = "spend.parquet"
time = "month"
amount = "amount"

[[kpi]]
metric = "customer_churn_rate"
name = "Customer churn"
target = {churn_target}
at_risk = 0.005
owner = "Head of CS"
{notes}

[[kpi]]
metric = "cac_payback_months"
name = "CAC payback"
target = 12
at_risk = 3
owner = "CFO"

[[kpi]]
metric = "net_revenue_retention"
name = "NRR"
target = "previous"
"""


@pytest.fixture(scope="module")
def checkins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("checkins")
    company = kpikit.datasets.demo(scale=SCALE)
    company.subscriptions.to_parquet(d / "subscriptions.parquet")
    company.spend.to_parquet(d / "spend.parquet")
    spec = d / "kpis.toml"
    runs = [(DAYS[0], 0.02, None), (DAYS[1], 0.02, "win-back campaign"), (DAYS[2], 0.045, "win-back campaign")]
    pages, cards = [], []
    for day, target, note in runs:
        spec.write_text(_spec(day, target, note))
        out = d / f"report-{day}.html"
        assert main(["report", str(spec), "-o", str(out), "-q"]) == 0
        pages.append(out.read_text())
        cards.append(kpikit.load_spec(spec).scorecard.evaluate(kpikit.load_spec(spec).sources, as_of=day).to_frame())
    return {"dir": d, "spec": spec, "pages": pages, "cards": cards}


def _items(page: str) -> list[str]:
    parser = _Changes()
    parser.feed(page)
    return [" ".join(i.split()) for i in parser.items]


def _expected(before: pd.DataFrame, after: pd.DataFrame, note: str | None, target: tuple[str, str] | None) -> list[str]:
    """The changes, derived from the two scorecards directly, in the report's order."""
    out = []
    b = before.set_index("kpi")
    for r in after.itertuples(index=False):
        was = b.loc[r.kpi]
        if was.status != r.status:
            out.append(f"{r.kpi}: {was.status.replace('_', ' ')} → {r.status.replace('_', ' ')}")
        if was.value != r.value or was.period != r.period:
            out.append(f"{r.kpi}: {format_value(was.value, r.unit, 'USD')} ({was.period_label}) → "
                       f"{format_value(r.value, r.unit, 'USD')} ({r.period_label})")
        if target is not None and r.kpi == "Customer churn":
            out.append(f"{r.kpi}: target {target[0]} → {target[1]}")
        if note is not None and r.kpi == "Customer churn":
            out.append(f"{r.kpi}: note: {note}")
    return out


def test_the_first_check_in_has_nothing_to_compare(checkins: dict[str, Any]) -> None:
    page = checkins["pages"][0]
    assert "<h2>Since the last check-in</h2>" in page and "This is the first check-in" in page and not _items(page)


def test_the_second_and_third_check_ins_list_what_changed(checkins: dict[str, Any]) -> None:
    first, second, third = checkins["cards"]
    # September: a month on, the churn note for September is added; values moved.
    items = _items(checkins["pages"][1])
    assert items == _expected(first, second, "win-back campaign", None)
    assert "as of 31 August 2026" in checkins["pages"][1]
    # October: churn's target raised from 2 % to 4.5 % — its status follows; the note is not new.
    items = _items(checkins["pages"][2])
    assert items == _expected(second, third, None, ("2.0 %", "4.5 %"))
    assert "Customer churn: target 2.0 % → 4.5 %" in items
    churn = third.set_index("kpi").loc["Customer churn"]
    assert (churn.value <= 0.045) == (churn.status == "on_track")
    # A "previous" target follows the data: never listed as a changed target.
    assert not [i for i in items if i.startswith("NRR: target")]
    # Each KPI's status at every check-in, oldest first.
    statuses = re.findall(r"title='(\d\d \w\w\w 2026)(?: \(now\))?: ([a-z ]+)'", checkins["pages"][2])
    shown = [(day, s) for day, s in statuses]
    expected = [(pd.Timestamp(d).strftime("%d %b %Y"), card.set_index("kpi").loc[k, "status"].replace("_", " "))
                for k in third["kpi"] for d, card in zip(DAYS, checkins["cards"], strict=True)]
    assert shown == expected


def test_history_lists_the_check_ins_and_a_rerun_replaces(checkins: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    spec: Path = checkins["spec"]
    store = spec.with_name("kpis.checkins")
    assert sorted(p.name for p in store.iterdir()) == [f"as_of={d}.parquet" for d in DAYS]
    table = kpikit.history(spec)
    assert table["as_of"].dt.strftime("%Y-%m-%d").tolist() == [d for d in DAYS for _ in range(3)]
    for day, card in zip(DAYS, checkins["cards"], strict=True):
        got = table[table["as_of"] == pd.Timestamp(day)].set_index("kpi")
        want = card.set_index("kpi")
        assert got["value"].tolist() == want["value"].tolist() and got["status"].tolist() == want["status"].tolist()
        assert got["period"].tolist() == want["period"].tolist()
    last = table[table["as_of"] == pd.Timestamp(DAYS[2])].set_index("kpi")
    assert last.loc["Customer churn", ["target", "owner"]].tolist() == [0.045, "Head of CS"]
    # A note belongs to its period: September's is in September's check-in only.
    notes = table[table["kpi"] == "Customer churn"]["note"].tolist()
    assert notes == [None, "win-back campaign", None]
    assert last.loc["NRR", "target_rule"] == "previous" and last.loc["CAC payback", "target"] == 12.0
    # Re-running the last as-of replaces its check-in: still three, and the same changes.
    assert main(["report", str(spec), "-o", str(spec.with_name("again.html")), "-q"]) == 0
    again = kpikit.history(spec)
    assert len(again) == 9 and again["recorded_at"].iloc[-1] >= table["recorded_at"].iloc[-1]
    assert _items(spec.with_name("again.html").read_text()) == _items(checkins["pages"][2])
    capsys.readouterr()
    assert main(["history", str(spec)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"3 check-ins in {store}:"
    for line, day, card in zip(lines[1:], DAYS, checkins["cards"], strict=True):
        counts = card["status"].value_counts()
        assert line.startswith(f" {day}  3 KPIs: " + ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items()))
    assert "; 1 note (" in lines[2] and "note" not in lines[1] and "note" not in lines[3]


def test_no_history_and_empty_stores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert kpikit.history(tmp_path / "none.toml").empty
    assert main(["history", str(tmp_path / "none.toml")]) == 0
    assert "no check-ins in" in capsys.readouterr().out
    (tmp_path / "file").write_text("x")
    with pytest.raises(kpikit.ParameterError, match="not a check-in store"):
        kpikit.history(tmp_path / "file")


def test_a_store_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(kpikit.ParameterError, match=r"cannot record the check-in .*--no-history"):
        kpikit.report(kpikit.Sources.demo(scale=0.05), as_of="2026-10-31", checkins=tmp_path / "file" / "store")
    spec = tmp_path / "kpis.toml"
    assert main(["history", str(spec)]) == 0
