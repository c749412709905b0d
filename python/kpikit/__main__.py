"""The kpikit command line: ``kpikit demo`` (or ``python -m kpikit demo``).

The main job: build the demo company and print its headline metrics and executive scorecard.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from . import __version__
from .headline import headline_metrics


def _format(value: Any, unit: str) -> str:
    if value is None or value != value:  # NaN: a missing value
        return "n/a"
    if unit == "fraction":
        return f"{100 * value:.1f} %"
    if unit == "currency":
        return f"{value:,.2f}"
    if unit == "months":
        return f"{value:.1f} months"
    if unit == "ratio":
        return f"{value:.2f}"
    if unit == "points":
        return f"{value:+.1f}"
    return f"{value:,.0f}"


def demo(seed: int, scale: float) -> None:
    from .datasets import demo as make_demo

    started = time.perf_counter()
    company = make_demo(seed=seed, scale=scale)
    built = time.perf_counter() - started
    print(f"kpikit {__version__} — demo company (seed {seed}, scale {scale})")
    print(company)
    print(f"generated in {built:.2f} s\n")
    metrics = headline_metrics(company)
    width = max(len(m.name) for m in metrics)
    last_section = None
    for m in metrics:
        if m.section != last_section:
            print(f"\n{m.section}")
            last_section = m.section
        print(f"  {m.name:<{width}}  {_format(m.value, m.unit):>16}   {m.note}")
    scorecard(seed, scale)


def scorecard(seed: int, scale: float) -> None:
    """Print the executive scorecard of the demo company (latest complete periods)."""
    from .scorecard import Scorecard, Sources, _format as fmt

    rows = Scorecard.executive().evaluate(Sources.demo(seed=seed, scale=scale)).to_frame()
    width = max(len(k) for k in rows.kpi)
    print("\nExecutive scorecard (★ north star)")
    for r in rows.itertuples(index=False):
        star = "★" if r.north_star else " "
        period = r.period.strftime("%Y-%m")
        target = "> previous" if r.target != r.target else fmt(r.target, r.unit)
        print(f" {star}{r.kpi:<{width}}  {period}  {fmt(r.value, r.unit):>12}  target {target:>12}  {r.status.replace('_', ' ')}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kpikit", description="Business metrics and KPIs over Arrow data.")
    parser.add_argument("--version", action="version", version=f"kpikit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="print the demo company's headline metrics")
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args(argv)
    if args.command == "demo":
        demo(args.seed, args.scale)
    return 0


if __name__ == "__main__":
    sys.exit(main())
