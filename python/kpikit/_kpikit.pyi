# Hand-written stub of the Rust extension kpikit._kpikit; checked by `python -m mypy.stubtest kpikit._kpikit`.
# Users never import _kpikit: the public API is the kpikit package.

from typing import Any

from kpikit._typing import ArrowArrayExportable, ArrowStreamExportable

_Table = ArrowStreamExportable | ArrowArrayExportable
_Array = ArrowStreamExportable | ArrowArrayExportable

__all__ = [
    "__version__",
    "debug_build",
    "table_buffer_addresses",
    "column_buffer_addresses",
    "merge",
    "finish",
    "nps",
    "csat",
    "demo_company",
    "formula",
    "mrr",
    "mrr_movements",
    "revenue_cohorts",
    "revenue_conventions",
    "revenue_metrics",
    "kpi_evaluate",
    "catalog",
    "register_metric",
    # sales
    "deal_metrics",
    "lead_metrics",
    "support_metrics",
    "campaign_metrics",
    "onboarding_time",
    "quota_attainment",
    "funnel_from_stages",
    "funnel",
    # customer lifetime value
    "rfm_summary",
    "rfm_split",
    "clv_fit",
    "clv_fit_gamma_gamma",
    "clv_fit_shifted_beta_geo",
    "clv_survivor_rows",
    "clv_log_likelihood",
    "clv_predict",
    "customer_lifetime_value",
    "clv_bgbb_lifetime_value",
    "clv_cumulative_transactions",
    "clv_alive_path",
    "clv_holdout_by_group",
    # activity and retention
    "active_users",
    "stickiness",
    "lifecycle",
    "retention",
    "retention_presets",
]

__version__: str
debug_build: bool

# Private, for the zero-copy tests: values-buffer address of each chunk of each column as Rust
# received the table.
def table_buffer_addresses(table: _Table) -> dict[str, list[int]]: ...

# --- the protocol (core::analyses): every analysis's state merges and finishes here ------------

def merge(states: list[_Table]) -> Any: ...
def finish(state: _Table) -> Any: ...

# --- survey (core::survey): partial states of NPS and CSAT ----------------------------------

def nps(
    table: _Table,
    score: str,
    *,
    time: str | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    by: list[str] = ...,
    invalid: str = "raise",
) -> Any: ...
def csat(
    table: _Table,
    score: str,
    *,
    threshold: int,
    score_range: tuple[int, int],
    time: str | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    by: list[str] = ...,
    invalid: str = "raise",
) -> Any: ...

# --- demo company (core::demo) -------------------------------------------------------------

def demo_company(seed: int = 0, scale: float = 1.0) -> dict[str, Any]: ...

# --- formulas (core::formulas) ---

_Operand = ArrowArrayExportable | ArrowStreamExportable | float | None

# Evaluate formula `name` on `args` given in its parameter order: a float64 Arrow array, or a
# float / None when every argument is a number. Unknown names raise ParameterError.
def formula(name: str, args: list[_Operand]) -> Any: ...

# Private, for tests: values-buffer address of each chunk as the formulas read it, equal to the
# caller's buffer addresses for float64 input (the zero-copy proof).
def column_buffer_addresses(column: ArrowArrayExportable | ArrowStreamExportable) -> list[int]: ...

# --- revenue (core::revenue) ---

def mrr(
    table: _Table,
    customer: str,
    *,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    week_start: str = "monday",
    snapshot: str = "end",
    tz: str = "UTC",
    duplicates: str = "raise",
    times: _Array | None = None,
) -> Any: ...
def mrr_movements(
    table: _Table,
    customer: str,
    *,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    week_start: str = "monday",
    snapshot: str = "end",
    tz: str = "UTC",
    duplicates: str = "raise",
    times: _Array | None = None,
    by: list[str] = ...,
    preset: str | None = None,
    conventions: list[tuple[str, str]] = ...,
    detail: bool = False,
) -> Any: ...
def revenue_conventions() -> str: ...
def revenue_cohorts(
    table: _Table,
    customer: str,
    *,
    period: str | None = None,
    mrr: str | None = None,
    started: str | None = None,
    ended: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    discount: str | None = None,
    discount_percent: str | None = None,
    freq: str = "month",
    week_start: str = "monday",
    snapshot: str = "end",
    tz: str = "UTC",
    duplicates: str = "raise",
    times: _Array | None = None,
) -> Any: ...
def revenue_metrics(
    movements: _Table,
    *,
    freq: str = "month",
    week_start: str = "monday",
    ledger_conventions: str | None = None,
    preset: str | None = None,
    conventions: list[tuple[str, str]] = ...,
    gross_margin: float | None = None,
    cac_lag: int = 0,
    spend: _Table | None = None,
    spend_time: str = "month",
    spend_amount: str = "amount",
    spend_net_burn: str | None = None,
    tz: str = "UTC",
) -> Any: ...

# --- KPIs (core::kpi): a metric history judged against an objective ---------------------------

def kpi_evaluate(
    history: _Table,
    *,
    period: str,
    value: str,
    freq: str = "month",
    week_start: str = "monday",
    target: float | None = None,
    low: float | None = None,
    high: float | None = None,
    previous: bool = False,
    direction: str | None = None,
    start_value: float | None = None,
    start: str | None = None,
    deadline: str | None = None,
    at_risk_band: float = 0.0,
    pace_periods: int = 3,
    numerator: str | None = None,
    denominator: str | None = None,
    anomaly_periods: int = 6,
) -> Any: ...
def catalog() -> str: ...
def register_metric(definition: str, known: list[str]) -> str: ...

# --- sales, marketing, support, onboarding (core::sales) ---

# Partial states, merged and finished by `merge` / `finish`.
def deal_metrics(
    table: _Table,
    *,
    created: str,
    closed: str,
    amount: str,
    won: str,
    deal: str | None = None,
    rep: str | None = None,
    by: list[str] = ...,
    freq: str | None = None,
    cohort: str = "closed",
    cycle_of: str = "won",
    unit: str = "days",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
) -> Any: ...
def lead_metrics(
    table: _Table,
    *,
    created: str,
    qualified: str | None = None,
    converted: str | None = None,
    revenue: str | None = None,
    by: list[str] = ...,
    freq: str | None = None,
    cohort: str = "created",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
) -> Any: ...
def support_metrics(
    table: _Table,
    *,
    opened: str,
    resolved: str | None = None,
    first_response: str | None = None,
    handle_seconds: str | None = None,
    by: list[str] = ...,
    freq: str | None = None,
    unit: str = "days",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
) -> Any: ...
def campaign_metrics(
    table: _Table,
    *,
    sends: str | None = None,
    deliveries: str | None = None,
    opens: str | None = None,
    clicks: str | None = None,
    conversions: str | None = None,
    cost: str | None = None,
    revenue: str | None = None,
    by: list[str] = ...,
    freq: str | None = None,
    time: str | None = None,
    base: str | None = None,
    conversion_base: str = "clicked",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
) -> Any: ...
def onboarding_time(
    table: _Table,
    *,
    started: str,
    first_value: str,
    by: list[str] = ...,
    freq: str | None = None,
    unit: str = "days",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
) -> Any: ...
def quota_attainment(
    actuals: _Table,
    quotas: _Table,
    *,
    rep: str,
    time: str,
    amount: str = "amount",
    quota: str = "quota",
    quota_rep: str | None = None,
    quota_period: str | None = None,
    freq: str = "month",
    to_date: str | None = ...,
    tz: str = "UTC",
) -> Any: ...

# --- funnels (core::funnel): partial states of stage columns or event logs ---

def funnel_from_stages(
    table: _Table,
    stages: list[str],
    *,
    window: str | None = None,
    by: list[str] = ...,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    unit: str = "days",
    histogram: int | None = None,
    invalid: str = "raise",
) -> Any: ...
def funnel(
    table: _Table,
    *,
    user: str,
    time: str,
    event: str | None = None,
    steps: list[list[str]],
    window: str | None = None,
    order: str | None = None,
    exclusions: list[tuple[str, int, int]] = ...,
    by: list[str] = ...,
    attribution: str | None = None,
    count: str | None = None,
    preset: str | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    unit: str = "days",
    histogram: int | None = None,
    invalid: str = "raise",
    start: int | None = None,
    end: int | None = None,
    detail: bool = False,
) -> Any: ...

# --- customer lifetime value (core::clv) ----------------------------------------------------

def rfm_summary(
    table: _Table,
    *,
    customer: str,
    time: str,
    amount: str | None = None,
    freq: str = "day",
    week_start: str = "monday",
    freq_multiplier: float = 1.0,
    observation_end: int | None = None,
    include_first: bool = False,
    tz: str = "UTC",
    invalid: str = "raise",
) -> Any: ...
def rfm_split(
    table: _Table,
    *,
    customer: str,
    time: str,
    calibration_end: int,
    amount: str | None = None,
    freq: str = "day",
    week_start: str = "monday",
    freq_multiplier: float = 1.0,
    observation_end: int | None = None,
    include_first: bool = False,
    tz: str = "UTC",
    invalid: str = "raise",
) -> Any: ...
def clv_fit(
    model: str,
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    weights: Any | None = None,
    penalizer_coef: float = 0.0,
    initial_params: list[float] | None = None,
) -> dict[str, Any]: ...
def clv_fit_gamma_gamma(
    frequency: Any,
    monetary_value: Any,
    *,
    weights: Any | None = None,
    penalizer_coef: float = 0.0,
    initial_params: list[float] | None = None,
) -> dict[str, Any]: ...
def clv_fit_shifted_beta_geo(
    periods: Any,
    churned: list[bool],
    weights: Any,
    *,
    penalizer_coef: float = 0.0,
    initial_params: list[float] | None = None,
) -> dict[str, Any]: ...
def clv_survivor_rows(survivors: Any) -> tuple[Any, list[bool], Any]: ...
def clv_predict(
    model: str, what: str, params: list[float], t: Any, frequency: Any, recency: Any, T: Any
) -> Any: ...
def clv_log_likelihood(
    model: str, params: list[float], a: Any, b: Any, c: Any, *, weights: Any | None = None
) -> float: ...
def customer_lifetime_value(
    model: str,
    params: list[float],
    spend: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    months: int,
    discount_rate: float,
    freq: str,
    spend_column: str = "spend",
) -> Any: ...
def clv_bgbb_lifetime_value(
    params: list[float],
    spend: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    opportunities: int | None,
    discount_rate: float,
    spend_column: str = "spend",
) -> Any: ...

# Model checks after a fit: tables of periods (cumulative transactions), of customers and
# periods (P(alive) paths), and (group, customers, actual, predicted) arrays.
def clv_cumulative_transactions(
    table: _Table,
    *,
    model: str,
    params: list[float],
    customer: str,
    time: str,
    t: int,
    freq_multiplier: int,
    freq: str = "day",
    week_start: str = "monday",
    tz: str = "UTC",
) -> Any: ...
def clv_alive_path(
    table: _Table,
    *,
    model: str,
    params: list[float],
    customer: str,
    time: str,
    t: int | None = None,
    freq: str = "day",
    week_start: str = "monday",
    freq_multiplier: float = 1.0,
    tz: str = "UTC",
) -> Any: ...
def clv_holdout_by_group(
    model: str,
    params: list[float],
    frequency: Any,
    recency: Any,
    T: Any,
    frequency_holdout: Any,
    duration_holdout: Any,
    *,
    by: str,
    n: int,
) -> tuple[Any, Any, Any, Any]: ...

# --- activity and retention (core::activity, core::retention) ---
# active_users and retention return partial states (finished by `finish`); stickiness and
# lifecycle return their result.

def active_users(
    table: _Table,
    *,
    user: str,
    time: str,
    freq: str = "day",
    windows: list[tuple[str, int]],
    by: list[str] = ...,
    events: list[str] | None = None,
    event: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    start: int | None = None,
    end: int | None = None,
) -> Any: ...
def stickiness(
    table: _Table,
    *,
    user: str,
    time: str,
    freq: str = "day",
    start: int | None = None,
    end: int | None = None,
    cumulative: bool = False,
    min_events: int = 1,
    max_events: int | None = None,
    events: list[str] | None = None,
    event: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    interval_count: int = 1,
) -> Any: ...
def lifecycle(
    table: _Table,
    *,
    user: str,
    time: str,
    freq: str = "day",
    created: str | None = None,
    preset: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    start: int | None = None,
    end: int | None = None,
) -> Any: ...
def retention(
    table: _Table,
    *,
    user: str,
    time: str,
    start_event: list[str] | None = None,
    return_event: list[str] | None = None,
    freq: str = "week",
    cohort: str | None = None,
    mode: str | None = None,
    brackets: list[int] | None = None,
    boundaries: str | None = None,
    reference: str = "total",
    base: str | None = None,
    amount: str | None = None,
    preset: str | None = None,
    curve: bool = False,
    min_returns: int | None = None,
    event: str = "event",
    tz: str = "UTC",
    week_start: str = "monday",
    invalid: str = "raise",
    start: int | None = None,
    end: int | None = None,
) -> Any: ...

# (defaults, [(preset, settings)]), each settings [(keyword, value)] (core::retention::spec).
def retention_presets() -> tuple[list[tuple[str, str]], list[tuple[str, list[tuple[str, str]]]]]: ...

# --- data integrity (core::integrity) ------------------------------------------------------

__all__ += ["check"]

# (rows, findings, spans, periods): findings (check, column, rule, count, examples, values), spans
# (column, first, last, present), periods (period, rows, first_row, trailing_median, gap, drop).
def check(
    table: _Table,
    *,
    not_null: list[str] = ...,
    unique: list[list[str]] = ...,
    ranges: list[tuple[str, float | None, float | None, bool]] = ...,
    ordered: list[list[str]] = ...,
    implies: list[tuple[str, str, str, str]] = ...,
    time: list[str] = ...,
    period: str | None = None,
    freq: str = "day",
    judged_until: int | None = None,
    drop_ratio: float = 0.5,
    trailing: int = 6,
    min_trailing: int = 3,
    season: int = 1,
    drop_min_median: float = 0.0,
    gap_min_median: float = 0.0,
) -> tuple[int, Any, Any, Any]: ...
