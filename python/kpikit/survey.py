"""Survey metrics: Net Promoter Score and customer satisfaction (CSAT).

Both are computed in the Rust core as *partial → merge → finish*: score counts per group, which
add up exactly across partitions, then the finished figures.

Definitions and intervals: docs/conventions.md#survey.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from . import _kpikit
from ._analysis import Analysis, check_segments, choice, freq as check_freq, run
from ._convert import column_list
from ._settings import checked
from ._typing import Output, TableLike, table_function

__all__ = ["nps", "csat"]


def _nps_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.nps(
        table, o["score"], time=o["time"], freq=o["freq"], tz=o["tz"], week_start=o["week_start"],
        by=o["by"], invalid=o["invalid"],
    )


def _csat_state(table: Any, o: dict[str, Any]) -> Any:
    return _kpikit.csat(
        table, o["score"], threshold=o["threshold"], score_range=o["scale"], time=o["time"],
        freq=o["freq"], tz=o["tz"], week_start=o["week_start"], by=o["by"], invalid=o["invalid"],
    )


def _one_skip_count(result: Any) -> Any:
    """The result with every skipped row counted in one place, the ``kpikit.skipped_rows``
    metadata (docs/vocabulary.md): the core counts bad scores per group in a ``skipped``
    column and rows without a time in the metadata."""
    import pyarrow as pa
    import pyarrow.compute as pc

    table = pa.table(result)
    if "skipped" not in table.column_names:
        return table
    meta = dict(table.schema.metadata or {})
    total = int(meta.get(b"kpikit.skipped_rows", 0) or 0) + int(pc.sum(table["skipped"]).as_py() or 0)
    meta[b"kpikit.skipped_rows"] = str(total).encode()
    return table.drop_columns(["skipped"]).replace_schema_metadata(meta)


_NPS = Analysis("nps", state=_nps_state, finish=lambda state, _: _one_skip_count(_kpikit.finish(state)))
_CSAT = Analysis("csat", state=_csat_state, finish=lambda state, _: _one_skip_count(_kpikit.finish(state)))


def _options(score: str, time: str | None, freq: str | None, by: Any, tz: str | None, week_start: str,
             scale: tuple[int, int], invalid: str) -> dict[str, Any]:
    if freq is not None:
        check_freq(freq, ("day", "week", "month", "quarter", "year"))
    return dict(score=score, time=time, freq=freq, tz=tz, week_start=week_start,
                by=check_segments(column_list(by)), scale=scale, invalid=choice("invalid", invalid, ("raise", "skip")))


@table_function
@checked
def nps(
    table: TableLike,
    /,
    *,
    score: str,
    time: str | None = None,
    freq: str | None = None,
    by: str | Sequence[str] | None = None,
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Net Promoter Score per period and segment.

    Answers to "how likely are you to recommend us?" on the 0–10 scale: promoters score 9–10,
    passives 7–8, detractors 0–6, and

        nps = 100 × (promoters − detractors) / responses            (−100 … 100)

    The 95 % interval is the adjusted-Wald interval of Rocks (2016): each answer scores +1
    (promoter), 0 (passive) or −1 (detractor); with ``n' = responses + 3``,
    ``p' = (promoters + 0.75) / n'`` and ``d' = (detractors + 0.75) / n'``,
    ``se = sqrt((p' + d' − (p' − d')²) / n')`` and the bounds are
    ``100 × ((p' − d') ± z × se)`` with z = 1.959964 (the two-sided 95 % normal quantile),
    clipped to ±100. It stays honest for small groups (it does not shrink to a point when every
    answer is a promoter).

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per survey response. A Dask DataFrame is counted partition by partition where
        it lives and the counts added up exactly.
    score : str
        Column of scores, whole numbers 0–10 (any integer or float type).
    time : str, optional
        Column of response times (timestamp of any unit, naive or zone-aware, or date). With
        it, the result has one row per period from the first to the last, gaps included.
    freq : {"day", "week", "month", "quarter", "year"}, optional
        Period length when ``time`` is given (default ``"month"``).
    by : str or list of str, optional
        Segment columns (plan, region…); missing segment values form their own group.
    tz : str, optional
        Time zone the periods are counted in; naive timestamps are taken as local to it.
        Default: the zone of the zone-aware time columns, else UTC (the result says which:
        ``attrs["tz"]`` in pandas, schema metadata ``kpikit.tz`` in Arrow).
    week_start : str, default "monday"
        First day of a week for ``freq="week"``.
    invalid : {"raise", "skip"}, default "raise"
        Scores that are missing, not whole numbers or off 0–10 (and missing times) raise an
        :class:`~kpikit.InputError` naming the rows; ``"skip"`` leaves them out and reports how
        many with a :class:`~kpikit.SkippedRowsWarning`.
    output : {None, "pandas", "polars", "arrow"}, default None
        The result's library; ``None`` returns the input's (docs/vocabulary.md).

    Returns
    -------
    DataFrame
        Columns ``period`` (start date, when ``time`` is given), the segments, ``responses``,
        ``promoters``, ``passives``, ``detractors``, ``nps``, ``nps_ci_low``, ``nps_ci_high``.
        A group with no responses has ``responses = 0`` and null ``nps`` and bounds.

    Examples
    --------
    30 % promoters and 20 % detractors give an NPS of +10:

    >>> import pandas as pd, kpikit
    >>> answers = pd.DataFrame({"score": [10] * 30 + [8] * 50 + [3] * 20})
    >>> kpikit.nps(answers, score="score")[["responses", "promoters", "detractors", "nps"]]
       responses  promoters  detractors   nps
    0        100         30          20  10.0

    Answers timed in Berlin are counted in Berlin's months (00:30 on 1 February is still
    31 January in UTC), and the result says so:

    >>> berlin = pd.DataFrame({"score": [9, 10], "at": pd.to_datetime(
    ...     ["2026-01-15 12:00", "2026-02-01 00:30"]).tz_localize("Europe/Berlin")})
    >>> monthly = kpikit.nps(berlin, score="score", time="at", freq="month")
    >>> monthly.period.dt.strftime("%Y-%m").tolist(), monthly.attrs["tz"]
    (['2026-01', '2026-02'], 'Europe/Berlin')
    """
    options = _options(score, time, freq, by, tz, week_start, (0, 10), invalid)
    return run(_NPS, table, columns=[score, time, *options["by"]], options=options, output=output, segments=options["by"])


@table_function
@checked
def csat(
    table: TableLike,
    /,
    *,
    score: str,
    time: str | None = None,
    freq: str | None = None,
    by: str | Sequence[str] | None = None,
    score_range: tuple[int, int] = (1, 5),
    threshold: int | None = None,
    tz: str | None = None,
    week_start: str = "monday",
    invalid: str = "raise",
    output: Output | None = None,
) -> Any:
    """Customer satisfaction score per period and segment.

    The positive-score method: the share of responses at or above ``threshold``,

        csat = satisfied / responses            (a fraction, 0 … 1)

    with a 95 % Wilson interval, and ``mean_score``, the plain mean of the scores, for teams
    that report the average instead.

    Parameters
    ----------
    table : pandas, polars or Dask DataFrame, pyarrow Table, or any Arrow stream
        One row per survey response. A Dask DataFrame is counted partition by partition where
        it lives and the counts added up exactly.
    score : str
        Column of scores, whole numbers within ``score_range``.
    score_range : (int, int), default (1, 5)
        Lowest and highest possible score.
    threshold : int, optional
        Lowest satisfied score; default the top two boxes (4 on 1–5, 9 on 1–10).
    time, freq, by, tz, week_start, invalid, output
        As in :func:`kpikit.nps`.

    Returns
    -------
    DataFrame
        ``period`` and segments as keys, ``responses``, ``satisfied``, ``csat``,
        ``csat_ci_low``, ``csat_ci_high``, ``mean_score``. A group with no responses has null
        ``csat``, bounds and mean.

    Examples
    --------
    50 answers: ten 5s, twenty 4s, ten 3s, five 2s and five 1s; 30 of 50 are satisfied.

    >>> import pandas as pd, kpikit
    >>> scores = [5] * 10 + [4] * 20 + [3] * 10 + [2] * 5 + [1] * 5
    >>> kpikit.csat(pd.DataFrame({"score": scores}), score="score")[["responses", "satisfied", "csat", "mean_score"]]
       responses  satisfied  csat  mean_score
    0         50         30   0.6         3.5
    """
    lo, hi = int(score_range[0]), int(score_range[1])
    options = _options(score, time, freq, by, tz, week_start, (lo, hi), invalid)
    options["threshold"] = hi - 1 if threshold is None else threshold
    return run(_CSAT, table, columns=[score, time, *options["by"]], options=options, output=output,
               segments=options["by"])
