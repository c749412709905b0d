"""KPI check-ins: each report run records every KPI's period, value, target, status and note,
so the next one can say what changed since.

The store is a Parquet dataset — a directory holding one file per check-in,
``as_of=YYYY-MM-DD.parquet`` — beside the spec (``kpis.toml`` → ``kpis.checkins/``). Parquet
rather than a database file because pyarrow is already there (no new dependency), any tool
reads it (pandas, polars, DuckDB, Spark), and one file per as-of makes both rules of the store
plain file operations: a new check-in adds a file and never rewrites the others (append-only),
and re-running a report for the same as-of replaces that one file, written aside and renamed
over it in one step, so a crash leaves the old check-in or the new one, never half of each.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ._render import STATUS_COLOURS, format_value, records
from .exceptions import ParameterError

__all__ = ["COLUMNS", "changes", "checkin", "describe", "history", "record", "render_changes", "store_for"]

#: The columns of a check-in, one row per KPI.
COLUMNS = ["as_of", "recorded_at", "kpi", "metric", "owner", "cadence", "period", "period_label", "unit", "value",
           "target_rule", "target", "target_low", "target_high", "status", "note", "reason"]

_PREFIX = "as_of="


def store_for(spec: str | Path) -> Path:
    """The check-in store of a spec: ``<spec's name without .toml>.checkins`` beside it."""
    path = Path(spec)
    return path.with_name(f"{path.stem}.checkins")


def _store(where: str | Path) -> Path:
    path = Path(where)
    return store_for(path) if path.suffix.lower() == ".toml" else path


def checkin(rows: pd.DataFrame, as_of: Any, notes: dict[str, dict[str, str]]) -> pd.DataFrame:
    """A scorecard's rows (:meth:`kpikit.ScorecardResult.to_frame`) as the check-in of
    ``as_of``: the :data:`COLUMNS`, one row per KPI."""
    from .scorecard import note_for

    day = pd.Timestamp(as_of).normalize()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    out = []
    for r in records(rows):
        target = r.target
        low, high = (float(target[0]), float(target[1])) if isinstance(target, tuple) else (float("nan"), float("nan"))
        single = float("nan") if isinstance(target, tuple) else float(target)
        reason = r.reason if isinstance(r.reason, str) else None
        out.append({
            "as_of": day, "recorded_at": now, "kpi": r.kpi, "metric": r.metric,
            "owner": r.owner if isinstance(r.owner, str) else None, "cadence": r.cadence,
            "period": pd.Timestamp(r.period) if pd.notna(r.period) else pd.NaT, "period_label": r.period_label,
            "unit": r.unit, "value": float(r.value), "target_rule": r.target_rule, "target": single, "target_low": low, "target_high": high,
            "status": r.status, "note": note_for(notes.get(r.kpi, {}), r.period, r.cadence) or None, "reason": reason,
        })
    frame = pd.DataFrame(out, columns=COLUMNS)
    for c in ("as_of", "recorded_at", "period"):
        frame[c] = pd.to_datetime(frame[c]).astype("datetime64[us]")
    return frame


def record(store: str | Path, frame: pd.DataFrame) -> Path:
    """Write a check-in (:func:`checkin`) into ``store``, replacing an earlier one of the same
    day; returns its file."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    directory = Path(store)
    if directory.exists() and not directory.is_dir():
        raise ParameterError(f"history: {str(directory)!r} is not a directory; the check-ins are a directory of "
                             "as_of=….parquet files")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".checkin-"):
            pass  # the store takes files
    except OSError as e:
        raise ParameterError(f"history: cannot record the check-in in {str(directory)!r}: "
                             f"{e.strerror or type(e).__name__} (kpikit report --no-history skips it)") from None
    day = pd.Timestamp(frame["as_of"].iloc[0])
    table = pa.Table.from_pandas(frame, preserve_index=False)
    target = directory / f"{_PREFIX}{day:%Y-%m-%d}.parquet"
    # Written aside, then renamed over the old check-in of the same day in one step.
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".checkin-", suffix=".parquet")
    os.close(handle)
    try:
        pq.write_table(table, temporary)
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
    return target


def history(path: str | Path) -> pd.DataFrame:
    """Every check-in recorded by ``kpikit report``, one row per KPI and check-in, oldest first.

    ``path`` is the spec (``"kpis.toml"``: its store ``kpis.checkins/`` beside it) or the
    store directory. Columns: as_of (the check-in's day), recorded_at (UTC), kpi, metric,
    owner, cadence, period, period_label, unit, value, target_rule (value, range or previous),
    target (or target_low and target_high for a range; for ``"previous"`` the value before, or
    null), status, note, reason (why a KPI had no data). A
    store that does not exist yet has no check-ins: an empty table.

    A check-in per as-of: the row of KPI k on day d = the scorecard of the report run with
    ``as_of=d`` (the latest run of that day replaces the earlier ones).

    Examples
    --------
    >>> import tempfile, kpikit
    >>> store = tempfile.mkdtemp()
    >>> card = kpikit.Scorecard([kpikit.KPI("customer_churn_rate", target=0.02, name="Churn")])
    >>> r = kpikit.report(kpikit.Sources.demo(scale=0.05), card, as_of="2026-09-30", checkins=store)
    >>> r = kpikit.report(kpikit.Sources.demo(scale=0.05), card, as_of="2026-10-31", checkins=store)
    >>> kpikit.history(store)[["as_of", "kpi", "period_label"]]
           as_of   kpi period_label
    0 2026-09-30  Churn     Sep 2026
    1 2026-10-31  Churn     Oct 2026
    """
    import pyarrow.parquet as pq

    directory = _store(path)
    if directory.exists() and not directory.is_dir():
        raise ParameterError(f"{str(directory)!r} is not a check-in store (a directory of as_of=….parquet files)")
    files = sorted(directory.glob(f"{_PREFIX}*.parquet")) if directory.is_dir() else []
    if not files:
        return pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c in ("as_of", "recorded_at", "period")
                                          else "float64" if c.startswith(("value", "target")) else "object")
                             for c in COLUMNS})
    frame = pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True)
    ordered: pd.DataFrame = frame.reindex(columns=COLUMNS).sort_values(["as_of"], kind="stable").reset_index(drop=True)
    return ordered


def _same(a: Any, b: Any) -> bool:
    return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and a == b)


def _target_text(r: Any, currency: str | None) -> str:
    if r["target_rule"] == "previous":
        return "better than the period before"
    if pd.notna(r["target_low"]):
        return format_value((r["target_low"], r["target_high"]), r["unit"], currency)
    return "the period before" if pd.isna(r["target"]) else format_value(r["target"], r["unit"], currency)


def changes(previous: pd.DataFrame, current: pd.DataFrame, currency: str | None = None) -> pd.DataFrame:
    """What changed from one check-in to the next, one row per change: kpi, kind (``status``,
    ``value``, ``target``, ``note``, ``added``, ``removed``), before, after (as shown) and text.

    A value moved when the value shown differs (a new period, or the same period revised); a
    target changed when its value, range or rule did (not when a ``"previous"`` target follows
    the data); a note is added when the KPI's note for its period is new or different.

    >>> import pandas as pd
    >>> def row(status, value, target): return {"kpi": "Churn", "status": status, "value": value, "unit": "fraction",
    ...     "period": pd.Timestamp("2026-10-01"), "period_label": "Oct 2026", "target_rule": "value", "target": target,
    ...     "target_low": float("nan"), "target_high": float("nan"), "note": None}
    >>> changes(pd.DataFrame([row("at_risk", 0.022, 0.02)]), pd.DataFrame([row("behind", 0.022, 0.015)])).text.tolist()
    ['at risk → behind', 'target 2.0 % → 1.5 %']
    """
    before = previous.set_index("kpi")
    rows = []
    now: Any
    for now in (row for _, row in current.iterrows()):
        kpi = now["kpi"]
        if kpi not in before.index:
            rows.append({"kpi": kpi, "kind": "added", "before": "", "after": now["status"].replace("_", " "),
                         "text": "new KPI"})
            continue
        was = before.loc[kpi]
        if was["status"] != now["status"]:
            a, b = (s.replace("_", " ") for s in (was["status"], now["status"]))
            rows.append({"kpi": kpi, "kind": "status", "before": a, "after": b, "text": f"{a} → {b}"})
        if not (_same(was["value"], now["value"]) and _same(was["period"], now["period"])):
            a = f"{format_value(was['value'], was['unit'], currency)} ({was['period_label']})"
            b = f"{format_value(now['value'], now['unit'], currency)} ({now['period_label']})"
            rows.append({"kpi": kpi, "kind": "value", "before": a, "after": b, "text": f"{a} → {b}"})
        # A "previous" target follows the data: only a change of rule or of a set target counts.
        moved = was["target_rule"] != now["target_rule"] or (
            now["target_rule"] != "previous" and not all(_same(was[c], now[c]) for c in ("target", "target_low", "target_high")))
        if moved:
            a, b = _target_text(was, currency), _target_text(now, currency)
            rows.append({"kpi": kpi, "kind": "target", "before": a, "after": b, "text": f"target {a} → {b}"})
        if isinstance(now["note"], str) and now["note"] and now["note"] != was["note"]:
            rows.append({"kpi": kpi, "kind": "note", "before": was["note"] if isinstance(was["note"], str) else "",
                         "after": now["note"], "text": f"note: {now['note']}"})
    for kpi in before.index.difference(list(current["kpi"])):
        rows.append({"kpi": kpi, "kind": "removed", "before": before.loc[kpi, "status"].replace("_", " "), "after": "",
                     "text": "no longer on the scorecard"})
    return pd.DataFrame(rows, columns=["kpi", "kind", "before", "after", "text"])


def render_changes(past: pd.DataFrame, current: pd.DataFrame, as_of: pd.Timestamp, currency: str | None) -> str:
    """The report's "Since the last check-in" section: the changes from the latest check-in
    before ``as_of``, and each KPI's status at every check-in (oldest first, coloured)."""
    earlier = past[past["as_of"] < pd.Timestamp(as_of).normalize()]
    if earlier.empty:
        return "<p class='meta'>This is the first check-in: the next report will list what changed since.</p>"
    last_day = earlier["as_of"].max()
    listed = changes(earlier[earlier["as_of"] == last_day], current, currency)
    items = "".join(f"<li class='change-{c.kind}'><b>{html.escape(c.kpi)}</b>: {html.escape(c.text)}</li>"
                    for c in records(listed))
    head = (f"<p>Since the last check-in, as of {last_day.day} {last_day:%B %Y}: "
            f"{len(listed)} change{'s' * (len(listed) != 1)}.</p>")
    body = f"<ul class='changes'>{items}</ul>" if items else "<p class='meta'>Nothing changed.</p>"
    # Status history: one coloured cell per check-in and KPI.
    days = sorted(earlier["as_of"].unique())
    by = earlier.set_index(["kpi", "as_of"])["status"]
    cells = []
    for r in records(current):
        dots = []
        for d in days:
            s = by.get((r.kpi, d))
            s = s.iloc[0] if isinstance(s, pd.Series) else s
            dots.append(_dot(s, f"{pd.Timestamp(d):%d %b %Y}"))
        dots.append(_dot(r.status, f"{pd.Timestamp(as_of):%d %b %Y} (now)"))
        cells.append(f"<tr><td>{html.escape(r.kpi)}</td><td>{''.join(dots)}</td></tr>")
    columns = " · ".join([*(f"{pd.Timestamp(d):%d %b}" for d in days), "now"])
    table = (f"<table class='status-history'><thead><tr><th>KPI</th><th>status at each check-in ({columns})</th></tr>"
             f"</thead><tbody>{''.join(cells)}</tbody></table>")
    return head + body + table


def _dot(status: Any, when: str) -> str:
    if not isinstance(status, str):
        return f"<span class='dot' title='{when}: not on the scorecard' style='color:#ced4da'>○</span>"
    colour = STATUS_COLOURS.get(status, "#868e96")
    text = status.replace("_", " ")
    return f"<span class='dot' title='{when}: {text}' style='color:{colour}'>●</span>"


def describe(frame: pd.DataFrame) -> list[str]:
    """One line per check-in of a store (``kpikit history``): its day, KPIs and statuses."""
    lines = []
    for day, group in frame.groupby("as_of", sort=True):
        counts = group["status"].value_counts()
        statuses = ", ".join(f"{n} {str(s).replace('_', ' ')}" for s, n in counts.items())
        recorded: Any = pd.Timestamp(group["recorded_at"].max())
        notes = int(group["note"].notna().sum())
        when: Any = day
        lines.append(f"{pd.Timestamp(when):%Y-%m-%d}  {len(group)} KPIs: {statuses}"
                     f"{f'; {notes} note' + 's' * (notes != 1) if notes else ''} (recorded {recorded:%Y-%m-%d %H:%M} UTC)")
    return lines

