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
    return {
        "workload": workload,
        "scale": scale,
        "rows": rows,
        "threads": threads,
        "engines": {"kpikit": m},
        "differs": {},
        "repeat": 1,
        "version": "0.1.0",
        "measured_at": when,
    }


def test_a_run_replaces_only_the_rows_it_measured() -> None:
    kept = [
        _row("nps", 1, 2, 0.1, "old"),
        _row("nps", 10, 2, 1.0, "old"),
        _row("nps", 10, 1, 1.9, "old"),
        _row("rfm", 10, 2, 5.0, "old"),
    ]
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
        "nps": {
            "rows": [
                {
                    "scale": 1.0,
                    "rows": 1201,
                    "threads": 2,
                    "engines": {"kpikit": {"times": [0.003], "working_mib": 4.0, "median": 0.003}},
                    "differs": {},
                }
            ],
            "repeat": 5,
            "version": "0.1.0",
            "when": "2026-11-26 02:52 UTC",
        },
        "rfm": {
            "rows": [
                {
                    "scale": 10.0,
                    "rows": 10**7,
                    "threads": 2,
                    "engines": {"kpikit": {"times": [0.7], "working_mib": 400.0, "median": 0.7}},
                    "differs": {},
                }
            ],
            "repeat": 3,
            "version": "0.1.0",
            "when": "2026-11-26 02:56 UTC",
        },
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
    rows = [
        _row("x", 1, 2, 0.010, "t", rows=10**6),
        _row("x", 10, 2, 0.080, "t", rows=10**7),
        _row("x", 50, 2, 0.500, "t", rows=5 * 10**7),
    ]
    # (0.5 / 0.01) / 50 = 1.0 over all scales; (0.5 / 0.08) / 5 = 1.25 over the two largest.
    assert run.growth(rows) == pytest.approx((1.0, 1.25, 50.0))
    assert run.growth(rows[:1]) is None


def test_every_workload_names_three_increasing_scales() -> None:
    for w in run.WORKLOADS.values():
        assert len(w.scales) == 3 and list(w.scales) == sorted(set(w.scales)), w.name


def _engine(median: float, mib: float = 1.0, **extra: float) -> dict:
    return {"times": [median], "working_mib": mib, "median": median, **extra}


def test_speed_up_is_against_the_faster_mode_of_each_peer() -> None:
    # polars from pandas 0.9 s, natively 0.3 s; DuckDB natively 0.4 s: the fastest peer is
    # polars on its own frame, and the leanest peer DuckDB natively (2 MiB).
    e = {
        "kpikit": _engine(0.1, 4.0),
        "polars": _engine(0.9, 50.0),
        "polars:native": _engine(0.3, 20.0),
        "duckdb": _engine(1.2, 30.0),
        "duckdb:native": _engine(0.4, 2.0),
    }
    speed, mem, fastest = run._ratios(e)
    assert (speed, mem, fastest) == ("3.0×", "2.00", "polars (native) 300 ms")
    assert run._fastest(e, native=False) == "polars 900 ms"
    assert run._fastest(e, native=True) == "polars 300 ms"


def test_conversion_share_and_the_bandwidth_floor() -> None:
    # 300 MB at 30 GB/s is a 10 ms floor; kpikit's 50 ms is 5× it, 10 ms of which converting.
    row = _row("x", 1, 2, 0.05, "t") | {"bandwidth_gbs": 30.0}
    row["engines"]["kpikit"] |= {"convert_median": 0.01, "input_bytes": 300_000_000}
    assert run._limits(row) == ("20% (10 ms)", "300 MB", "10 ms", "5×")
    del row["bandwidth_gbs"]
    assert run._limits(row) == ("20% (10 ms)", "—", "—", "—")


def test_every_workload_runs_natively_on_kpikit_polars_and_duckdb() -> None:
    for w in run.WORKLOADS.values():
        assert sorted(w.native) == ["duckdb", "kpikit", "polars"], w.name
        assert w.duckdb_table and w.columns, w.name
        assert run.engine_names(w) == [*w.engines, "kpikit:native", "polars:native", "duckdb:native"]


def test_the_issue_shapes_are_workloads_and_every_sweep_has_variants() -> None:
    import workloads

    for name in ["active_users", "revenue_metrics", "retention", "funnel_30d", "nps_region", "deal_metrics_closed"]:
        assert name in run.WORKLOADS
    assert set(workloads.SWEEPS) >= {"nps", "mrr_movements", "deal_metrics", "funnel_from_stages", "active_users", "retention"}
    for _build, variants in workloads.SWEEPS.values():
        names = [v[0] for v in variants]
        assert len(names) >= 5 and len(set(names)) == len(names)


def test_sweep_rows_merge_and_report_ratios_to_the_first_variant(tmp_path: Path) -> None:
    def r(variant: str, rows: int, median: float, when: str = "t") -> dict:
        return {"analysis": "nps", "variant": variant, "rows": rows, "median": median, "times": [median], "measured_at": when}

    kept = [r("base", 10**6, 0.010, "old"), r("slow", 10**6, 0.040, "old"), r("base", 10**7, 0.1, "old")]
    merged = run.merge_sweep(kept, [r("slow", 10**6, 0.030, "new")])
    assert sorted((x["variant"], x["rows"], x["median"]) for x in merged) == [
        ("base", 10**6, 0.01),
        ("base", 10**7, 0.1),
        ("slow", 10**6, 0.03),
    ]
    text = "\n".join(run._sweep_section(merged))
    assert "| slow | 30 ms | 3.00 | 30 |" in text  # 0.03 s / 0.01 s; 30 ms over 10⁶ rows = 30 ns/row
    assert "| base | 10 ms | 1.00 | 10 | 100 ms | 1.00 | 10 |" in text
