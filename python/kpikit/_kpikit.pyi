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
    "active_users_state",
    "merge_active_users_states",
    "finish_active_users",
    "stickiness",
    "lifecycle",
    "retention_state",
    "merge_retention_states",
    "finish_retention",
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

# --- activity and retention (core::activity, core::retention) ---

def active_users_state(
    table: _Table,
    user: str,
    time: str,
    *,
    freq: str = "day",
    week_start: str = "monday",
    windows: list[tuple[str, int]],
    by: list[str] = ...,
    event_column: str | None = None,
    events: list[str] | None = None,
    tz: str = "UTC",
    nulls: str = "raise",
) -> Any: ...
def merge_active_users_states(states: list[_Table]) -> Any: ...
def finish_active_users(state: _Table) -> Any: ...
def stickiness(
    table: _Table,
    user: str,
    time: str,
    *,
    freq: str = "day",
    week_start: str = "monday",
    start: int | None = None,
    end: int | None = None,
    cumulative: bool = False,
    min_events: int = 1,
    tz: str = "UTC",
    nulls: str = "raise",
) -> Any: ...
def lifecycle(
    table: _Table,
    user: str,
    time: str,
    *,
    freq: str = "day",
    week_start: str = "monday",
    created: str | None = None,
    preset: str = "posthog",
    tz: str = "UTC",
    nulls: str = "raise",
) -> Any: ...
def retention_state(
    table: _Table,
    user: str,
    time: str,
    *,
    event_column: str | None = None,
    start_events: list[str] | None = None,
    return_events: list[str] | None = None,
    value: str | None = None,
    period: str = "week",
    week_start: str = "monday",
    cohort: str = "first_time",
    mode: str = "on",
    brackets: list[int] | None = None,
    windows: str = "calendar",
    reference: str = "total",
    tz: str = "UTC",
    nulls: str = "raise",
) -> Any: ...
def merge_retention_states(states: list[_Table]) -> Any: ...
def finish_retention(state: _Table, *, curve: bool = False) -> Any: ...
