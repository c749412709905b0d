"""Exceptions raised by kpikit.

Every error kpikit raises is a :class:`KpikitError`. The subclasses also inherit from the
built-in exception an analyst would expect, so ``except ValueError`` keeps working.
Messages name the column or parameter, the rule that was broken and up to five offending
rows.
"""

from __future__ import annotations


class KpikitError(Exception):
    """Base class of every kpikit error (also raised for internal bugs, with a request to report them)."""


class SchemaError(KpikitError, TypeError):
    """A column is missing or has a type the computation cannot use."""


class InputError(KpikitError, ValueError):
    """Input values break a rule (out of range, missing, misaligned lengths…)."""


class ParameterError(KpikitError, ValueError):
    """A parameter is out of range or not recognised."""


class SkippedRowsWarning(UserWarning):
    """Rows were left out because the call asked for ``invalid="skip"``.

    ``count`` is how many rows were skipped and ``rule`` the rule they broke (when the core
    names it). Catch it with :func:`warnings.catch_warnings` to read the figures; turn it into
    an error with ``warnings.simplefilter("error", kpikit.SkippedRowsWarning)``.
    """

    def __init__(self, message: str, *, count: int = 0, rule: str = "") -> None:
        super().__init__(message)
        self.count = count
        self.rule = rule


__all__ = ["KpikitError", "SchemaError", "InputError", "ParameterError", "SkippedRowsWarning"]
