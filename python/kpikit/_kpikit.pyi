# Hand-written stub of the Rust extension kpikit._kpikit; checked by `python -m mypy.stubtest kpikit._kpikit`.
# Users never import _kpikit: the public API is the kpikit package.

from typing import Any

from kpikit._typing import ArrowArrayExportable, ArrowStreamExportable

_Table = ArrowStreamExportable | ArrowArrayExportable

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
    scale: tuple[int, int] = (0, 10),
    invalid: str = "raise",
) -> Any: ...
def merge_score_counts(states: list[_Table]) -> Any: ...
def nps(state: _Table) -> Any: ...
def csat(state: _Table, *, threshold: int) -> Any: ...

# --- demo company (core::demo) -------------------------------------------------------------

def demo_company(seed: int = 0, scale: float = 1.0) -> dict[str, Any]: ...
