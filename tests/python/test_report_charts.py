"""The report's charts say what they show in words: the funnel's stages by name on a log axis
when they are orders of magnitude apart, the retention heat map with its numbers in the cells,
the active-users chart with DAU/MAU in the legend and no start-up spike, money named on axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import kpikit

SCALE = 0.2


@pytest.fixture(scope="module")
def company() -> kpikit.Sources:
    return kpikit.Sources.demo(scale=SCALE)


def test_funnel_names_stages_in_words_on_a_log_axis(company: kpikit.Sources) -> None:
    leads, lc = company.leads
    f = kpikit.funnel_from_stages(leads, stages=lc["stages"], window=lc["window"], freq="month")
    ax = kpikit.plot.funnel(f)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["visited", "signed up", "pql", "customer"]
    done = f[f["complete"].astype(bool)]
    first, last = done[done.step == 1].entered.sum(), done[done.step == 4].converted.sum()
    assert first / last > 20 and ax.get_xscale() == "log"
    assert [int(p.get_width()) for p in ax.patches][-1] == last
    plt.close(ax.figure)
    # Steps close together keep a linear axis starting at zero.
    small = pd.DataFrame({"step": [1, 2], "step_name": ["visited_at", "signed_up_at"], "entered": [100, 100],
                          "converted": [100, 40]})
    ax = kpikit.plot.funnel(small)
    assert ax.get_xscale() == "linear" and ax.get_xlim()[0] == 0
    plt.close(ax.figure)


def test_retention_cells_carry_their_numbers(company: kpikit.Sources) -> None:
    events, ec = company.events
    r = kpikit.retention(events, user=ec["user"], time=ec["time"], freq="month")
    ax = kpikit.plot.retention_heatmap(r)
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    grid = r.pivot_table(index="cohort", columns="period_number", values="rate", aggfunc="first").sort_index()
    assert len(texts) == int(np.isfinite(grid.to_numpy(dtype=float)).sum())
    assert texts[(0, 1)] == f"{100 * grid.iloc[0, 1]:.0f}" and texts[(0, 0)] == "100"
    # The colour scale spans the later periods, not period 0's 100 %.
    assert ax.images[0].get_clim()[1] == pytest.approx(100 * np.nanmax(grid.to_numpy(dtype=float)[:, 1:]))
    plt.close(ax.figure)


def test_active_users_legend_has_dau_mau_without_the_start_up_spike(company: kpikit.Sources) -> None:
    events, ec = company.events
    a = kpikit.active_users(events, user=ec["user"], time=ec["time"], freq="day")
    ax = kpikit.plot.active_users(a)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["dau", "wau", "mau", "DAU/MAU, 7-day mean (right, %)"]
    ratio = ax.figure.axes[1].get_lines()[0].get_ydata()
    # The first 29 days (MAU window not full yet) and the first week of the mean are left out.
    assert np.isnan(ratio[:35]).all() and not np.isnan(ratio[35:]).any()
    expected = (a["dau_mau"].to_numpy() * 100)[29:36].mean()
    assert ratio[35] == pytest.approx(expected)
    plt.close(ax.figure)


def test_money_axes_name_the_currency(company: kpikit.Sources) -> None:
    subs, cols = company.subscriptions
    moves = kpikit.mrr_movements(subs, **cols)
    ax = kpikit.plot.mrr_movements(moves, currency="EUR")
    assert ax.get_ylabel() == "MRR (EUR)"
    plt.close(ax.figure)
    card = kpikit.Scorecard([kpikit.KPI("avg_deal_size", target="previous", cadence="quarter", name="Deal size")])
    result = card.evaluate(company, currency="EUR")
    ax = kpikit.plot.kpi_trend(result, "Deal size")
    assert ax.get_ylabel() == "EUR"
    plt.close(ax.figure)
