# Hand-written stub of the Rust extension kpikit._kpikit; checked by `python -m mypy.stubtest kpikit._kpikit`.
# Users never import _kpikit: the public API is the kpikit package.

from typing import Any

from kpikit._typing import ArrowArrayExportable, ArrowStreamExportable

_Table = ArrowStreamExportable | ArrowArrayExportable

__all__ = [
    "__version__",
    "debug_build",
    "score_counts",
    "merge_score_counts",
    "nps",
    "csat",
    "customer_mrr",
    "movement_state",
    "merge_movement_states",
    "finish_movements",
    "movement_ledger",
]

__version__: str
debug_build: bool

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
def movement_state(
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
) -> Any: ...
def merge_movement_states(states: list[_Table]) -> Any: ...
def finish_movements(state: _Table) -> Any: ...
def movement_ledger(
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
) -> Any: ...
