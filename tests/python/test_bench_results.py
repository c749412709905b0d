"""The benchmark suite's results store (benches/run.py): rows merge by (workload, scale,
threads), the first format migrates without losing a figure, and the growth figure."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benches"))
import run


def _row(workload: str, scale: float, threads: int, median: float, when: str, rows: int = 100) -> dict:
    m = {"times": [median], "working_mib": 1.0, "median": median}
    return {"workload": workload, "scale": scale, "rows": rows, "threads": threads, "engines": {"kpikit": m},
            "differs": {}, "repeat": 1, "version": "0.1.0", "measured_at": when}


def test_a_run_replaces_only_the_rows_it_measured() -> None:
    kept = [_row("nps", 1, 2, 0.1, "old"), _row("nps", 10, 2, 1.0, "old"), _row("nps", 10, 1, 1.9, "old"), _row("rfm", 10, 2, 5.0, "old")]
    new = [_row("nps", 10, 2, 0.8, "new")]
    merged = run.merge_rows(kept, new)
    got = {(r["workload"], r["scale"], r["threads"]): (r["engines"]["kpikit"]["median"], r["measured_at"]) for r in merged}
    assert got == {
        ("nps", 1, 2): (0.1, "old"),
        ("nps", 10, 2): (0.8, "new"),  # the only row measured again
        ("nps", 10, 1): (1.9, "old"),  # same scale, other thread count: kept
        ("rfm", 10, 2): (5.0, "old"),
    }
    assert len(merged) == 4


def test_the_first_format_migrates_with_every_figure(tmp_path: Path) -> None:
    old = {
        "nps": {"rows": [{"scale": 1.0, "rows": 1201, "threads": 2, "engines": {"kpikit": {"times": [0.003], "working_mib": 4.0, "median": 0.003}}, "differs": {}}],
                "repeat": 5, "version": "0.1.0", "when": "2026-11-26 02:52 UTC"},
        "rfm": {"rows": [{"scale": 10.0, "rows": 10**7, "threads": 2, "engines": {"kpikit": {"times": [0.7], "working_mib": 400.0, "median": 0.7}}, "differs": {}}],
                "repeat": 3, "version": "0.1.0", "when": "2026-11-26 02:56 UTC"},
    }
    path = tmp_path / "results.json"
    path.write_text(json.dumps(old))
    rows = run.load_store(path)
    assert [(r["workload"], r["scale"], r["repeat"], r["measured_at"], r["engines"]["kpikit"]["median"]) for r in rows] == [
        ("nps", 1.0, 5, "2026-11-26 02:52 UTC", 0.003),
        ("rfm", 10.0, 3, "2026-11-26 02:56 UTC", 0.7),
    ]
    run.save_store(rows, path)
    assert json.loads(path.read_text())["format"] == run.FORMAT
    assert run.load_store(path) == rows


def test_growth_is_the_time_ratio_over_the_row_ratio() -> None:
    rows = [_row("x", 1, 2, 0.010, "t", rows=10**6), _row("x", 10, 2, 0.080, "t", rows=10**7), _row("x", 50, 2, 0.500, "t", rows=5 * 10**7)]
    # (0.5 / 0.01) / 50 = 1.0 over all scales; (0.5 / 0.08) / 5 = 1.25 over the two largest.
    assert run.growth(rows) == pytest.approx((1.0, 1.25, 50.0))
    assert run.growth(rows[:1]) is None


def test_every_workload_names_three_increasing_scales() -> None:
    for w in run.WORKLOADS.values():
        assert len(w.scales) == 3 and list(w.scales) == sorted(set(w.scales)), w.name
