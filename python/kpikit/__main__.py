"""The kpikit command line (or ``python -m kpikit``).

* ``kpikit report SPEC.toml -o report.html``: the main job — a company's KPI report (scorecard,
  journey, trends, revenue, funnel, retention) as one self-contained HTML file, from a spec
  declaring its sources and KPIs (:func:`kpikit.load_spec`);
* ``kpikit report --demo -o report.html``: the same for the built-in demo company;
* ``kpikit demo``: the demo company's executive scorecard, printed (the figures of the report's
  scorecard);
* ``kpikit history SPEC.toml``: the check-ins ``kpikit report SPEC.toml`` recorded (each run
  records every KPI's period, value, target, status and note in ``SPEC.checkins/`` beside the
  spec; ``--no-history`` skips it, ``--history DIR`` records elsewhere, also for ``--demo``).
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
import time
from pathlib import Path
from typing import Any

from . import __version__

#: The demo company's money is in US dollars.
DEMO_CURRENCY = "USD"


def demo(seed: int, scale: float) -> None:
    """Print the demo company's executive scorecard: the same evaluation as the report's
    (:meth:`kpikit.Scorecard.executive` over :meth:`kpikit.Sources.demo`), latest complete
    periods."""
    from .scorecard import Scorecard
    from .sources import Sources

    started = time.perf_counter()
    company = Sources.demo(seed=seed, scale=scale)
    built = time.perf_counter() - started
    print(f"kpikit {__version__} — demo company (seed {seed}, scale {scale})")
    rows = ", ".join(f"{role}={len(getattr(company, role)[0]):,}" for role in company.roles())
    end = company.data_end()
    print(f"{rows}; data up to {end:%Y-%m-%d}" if end is not None else rows)
    print(f"generated in {built:.2f} s")
    card = Scorecard.executive().evaluate(company, currency=DEMO_CURRENCY).to_frame()
    if end is not None:
        print(f"as of {end.day} {end:%b %Y}: each KPI's latest complete period")
    print("\nExecutive scorecard (★ north star)")
    _print_card(card, DEMO_CURRENCY)


def _print_card(rows: Any, currency: str | None = None) -> None:
    from ._render import format_value

    width = max(len(_printable(k)) for k in rows.kpi)
    for r in rows.itertuples(index=False):
        star = "★" if r.north_star else " "
        target = "> previous" if r.target != r.target else format_value(r.target, r.unit, currency)
        value = "no data" if r.value != r.value else format_value(r.value, r.unit, currency)
        status = r.status.replace("_", " ") + (f" ({r.reason})" if isinstance(r.reason, str) and r.reason else "")
        print(f" {star}{_printable(r.kpi):<{width}}  {r.period_label:<8}  {value:>12}  target {target:>12}  {_printable(status)}")


def _printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (an ANSI escape sequence in a KPI name,
    a newline in a file name) are shown escaped, as ``repr`` writes them, instead of acting."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _OutputError(Exception):
    """The report cannot be written where ``-o`` says."""


def _check_output(output: str) -> Path:
    """Fail fast, before any computing, when the report could not be written to ``output``: its
    directory must exist, it must not be a directory (nor a FIFO, which would block), and it
    must open for writing. A file this check creates is removed again."""
    path = Path(output)
    parent = path.parent
    if not parent.is_dir():
        raise _OutputError(f"the directory {str(parent)!r} does not exist" if not parent.exists()
                           else f"{str(parent)!r} is not a directory")
    try:
        mode: int | None = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        raise _OutputError(f"cannot write there: {e.strerror}") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise _OutputError("is a directory; give the path of the HTML file to write")
    if mode is not None and not (stat.S_ISREG(mode) or stat.S_ISCHR(mode)):
        raise _OutputError("is not a regular file (a FIFO or socket); give the path of the HTML file to write")
    try:
        # Append: an existing file is not truncated before the report is ready to replace it.
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as e:
        raise _OutputError(f"cannot write there: {e.strerror or type(e).__name__}") from None
    if mode is None and path.stat().st_size == 0:
        path.unlink()
    return path


def report(spec: str | None, demo_company: bool, seed: int, scale: float, output: str, quiet: bool,
           history: str | None = None, no_history: bool = False) -> None:
    """Write the report of a spec (or of the demo company) and print its scorecard."""
    from .exceptions import KpikitError
    from .report import report as make_report
    from .sources import Sources
    from .spec import load_spec

    started = time.perf_counter()
    target = _check_output(output)
    if demo_company:
        if not quiet:
            print(f"building the demo company (seed {seed}, scale {scale}) …", file=sys.stderr, flush=True)
        company = Sources.demo(seed=seed, scale=scale)
        # The demo company's "today" is the last day of its data, so its freshness is judged there.
        result = make_report(company, title="Demo company — KPI report", as_of=company.data_end(), progress=not quiet,
                             currency=DEMO_CURRENCY, checkins=None if no_history else history)
    else:
        assert spec is not None
        loaded = load_spec(spec)
        try:
            result = loaded.report(progress=not quiet, checkins=None if no_history else (history or True))
        except KpikitError as e:
            # Placed in the spec: the line of the KPI the problem names, else the spec file.
            message = " ".join(str(e).split())
            where = next((at for label, at in loaded.kpi_lines.items() if f"KPI {label!r}" in message), str(loaded.path))
            raise KpikitError(f"{where}: {message}") from None
    try:
        path = result.write(target)
    except OSError as e:
        raise _OutputError(f"cannot write the report: {e.strerror or type(e).__name__}") from None
    print(f"{result.scorecard.rows.shape[0]} KPIs (★ north star):")
    _print_card(result.scorecard.rows, result.scorecard.currency)
    print()
    print(_printable(f"report written to {path.resolve()} ({path.stat().st_size / 1e6:.1f} MB, "
                     f"{len(result.sections)} sections) in {time.perf_counter() - started:.1f} s"))


def _verbose() -> None:
    """Print what kpikit's ``kpikit.sql`` logger says (each query sent, with its connection
    string shown without the password) on stderr."""
    import logging

    class Stderr(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            print(_printable(record.getMessage()), file=sys.stderr, flush=True)  # the stderr of now

    logger = logging.getLogger("kpikit.sql")
    if not any(type(h).__name__ == "Stderr" for h in logger.handlers):
        logger.addHandler(Stderr())
    logger.setLevel(logging.INFO)


def history(spec: str) -> None:
    """Print the check-ins recorded for a spec (or in a store directory), oldest first."""
    from ._checkins import describe, history as read_history, store_for

    store = store_for(spec) if spec.lower().endswith(".toml") else Path(spec)
    frame = read_history(store)
    if frame.empty:
        print(_printable(f"no check-ins in {store}: `kpikit report {spec}` records one per run"))
        return
    days = frame["as_of"].nunique()
    print(_printable(f"{days} check-in{'s' * (days != 1)} in {store}:"))
    for line in describe(frame):
        print(" " + _printable(line))


def _fail(lines: list[str]) -> int:
    for line in lines:
        print(f"kpikit: error: {_printable(line)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Run the command line; the exit status: 0 done, 2 the input or the output is wrong (one
    line ``kpikit: error: <file>:<line>: <key>: <what is wrong>`` per problem on stderr, never a
    traceback)."""
    from .exceptions import KpikitError

    parser = argparse.ArgumentParser(prog="kpikit", description="Business metrics and KPIs over Arrow data.")
    parser.add_argument("--version", action="version", version=f"kpikit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    p_demo = sub.add_parser("demo", help="print the demo company's executive scorecard")
    p_demo.add_argument("--seed", type=int, default=0)
    p_demo.add_argument("--scale", type=float, default=1.0)
    p_report = sub.add_parser("report", help="write a KPI report (HTML) from a spec, or for the demo company")
    p_report.add_argument("spec", nargs="?", help="the spec (TOML) declaring sources and KPIs")
    p_report.add_argument("--demo", action="store_true", help="report on the built-in demo company instead")
    p_report.add_argument("--seed", type=int, default=0, help="demo company seed")
    p_report.add_argument("--scale", type=float, default=1.0, help="demo company scale (1 ≈ 10⁶ events)")
    p_report.add_argument("-o", "--output", default="report.html", help="the HTML file to write (default report.html)")
    p_report.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p_report.add_argument("-v", "--verbose", action="store_true", help="print the SQL sent to database sources")
    p_report.add_argument("--history", metavar="DIR", help="the check-in store to record this run in (default for a "
                          "spec: SPEC.checkins beside it; none for --demo)")
    p_report.add_argument("--no-history", action="store_true", help="do not record this run as a check-in")
    p_history = sub.add_parser("history", help="list the check-ins the reports of a spec recorded")
    p_history.add_argument("spec", help="the spec (TOML), or a check-in store directory")
    args = parser.parse_args(argv)
    where = args.spec if args.command in ("report", "history") and args.spec else "kpikit"
    try:
        if args.command == "demo":
            demo(args.seed, args.scale)
        elif args.command == "report":
            if (args.spec is None) == (not args.demo):
                parser.error("report: give a spec file or --demo (not both)")
            if args.verbose:
                _verbose()
            report(args.spec, args.demo, args.seed, args.scale, args.output, args.quiet, args.history, args.no_history)
        elif args.command == "history":
            history(args.spec)
    except _OutputError as e:
        return _fail([f"{args.output}: -o: {e}"])
    except KpikitError as e:
        # A spec's problems come one per line, each already "<file>:<line>: <key>: …".
        return _fail(str(e).splitlines() or [type(e).__name__])
    except KeyboardInterrupt:
        print("kpikit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # the command line answers every failure with one line, never a traceback
        if os.environ.get("KPIKIT_TRACEBACK"):
            raise
        detail = " ".join(str(e).split())[:300]
        return _fail([f"{where}: internal error ({type(e).__name__}: {detail}); please report it, and set "
                      "KPIKIT_TRACEBACK=1 for the traceback"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
