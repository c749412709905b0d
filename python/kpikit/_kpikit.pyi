# Hand-written stub of the Rust extension kpikit._kpikit; checked by `python -m mypy.stubtest kpikit._kpikit`.
# Users never import _kpikit: the public API is the kpikit package.

from typing import Any

from kpikit._typing import ArrowArrayExportable, ArrowStreamExportable

_Table = ArrowStreamExportable | ArrowArrayExportable

__all__ = [
    "__version__",
    "debug_build",
    "table_buffer_addresses",
    "column_buffer_addresses",
    "score_counts",
    "merge_score_counts",
    "nps",
    "csat",
    "demo_company",
    "formula",
    "customer_mrr",
    "movements",
    "merge_movement_states",
    "finish_movements",
    "revenue_conventions",
    # customer lifetime value
    "rfm_summary",
    "rfm_split",
    "clv_fit",
    "clv_fit_gamma_gamma",
    "clv_fit_shifted_beta_geo",
    "clv_survivor_rows",
    "clv_predict",
    "clv_lifetime_value",
]

__version__: str
debug_build: bool

# Private, for the zero-copy tests: values-buffer address of each chunk of each column as Rust
# received the table.
def table_buffer_addresses(table: _Table) -> dict[str, list[int]]: ...

# --- survey (core::survey): NPS and CSAT as partial -> merge -> finish -----------------------

def score_counts(
    table: _Table,
    score: str,
    *,
    time: str | None = None,
    freq: str | None = None,
    tz: str = "UTC",
    week_start: str = "monday",
    by: list[str] = ...,
    scale: tuple[int, int] = ...,
    invalid: str = "raise",
) -> Any: ...
def merge_score_counts(states: list[_Table]) -> Any: ...
def nps(state: _Table) -> Any: ...
def csat(state: _Table, *, threshold: int) -> Any: ...

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

def customer_mrr(
    table: _Table,
    customer: str,
    *,
    period: str | None = None,
    mrr: str | None = None,
    start: str | None = None,
    end: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    freq: str = "month",
    week_start: str = "monday",
    snapshot: str = "end",
    tz: str = "UTC",
) -> Any: ...
def movements(
    table: _Table,
    customer: str,
    *,
    period: str | None = None,
    mrr: str | None = None,
    start: str | None = None,
    end: str | None = None,
    amount: str | None = None,
    interval: str | None = None,
    freq: str = "month",
    week_start: str = "monday",
    snapshot: str = "end",
    tz: str = "UTC",
    by: list[str] = ...,
    preset: str | None = None,
    conventions: list[tuple[str, str]] = ...,
    detail: bool = False,
) -> Any: ...
def merge_movement_states(states: list[_Table]) -> Any: ...
def finish_movements(state: _Table) -> Any: ...
def revenue_conventions() -> str: ...

# --- customer lifetime value (core::clv) ----------------------------------------------------

def rfm_summary(
    table: _Table,
    *,
    customer: str,
    time: str,
    amount: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1.0,
    observation_end: int | None = None,
    include_first: bool = False,
    tz: str = "UTC",
) -> Any: ...
def rfm_split(
    table: _Table,
    *,
    customer: str,
    time: str,
    calibration_end: int,
    amount: str | None = None,
    freq: str = "D",
    freq_multiplier: float = 1.0,
    observation_end: int | None = None,
    include_first: bool = False,
    tz: str = "UTC",
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
def clv_lifetime_value(
    model: str,
    params: list[float],
    spend: Any,
    frequency: Any,
    recency: Any,
    T: Any,
    *,
    time: int,
    discount_rate: float,
    factor: float,
) -> Any: ...
