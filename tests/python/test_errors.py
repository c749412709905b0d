"""Errors: one hierarchy, messages that name what is wrong, and no crash ever reaches Python."""

from __future__ import annotations

import pandas as pd
import pytest

import kpikit
from kpikit import _kpikit


def test_a_panic_in_the_core_becomes_a_kpikit_error() -> None:
    # Built with the test-hooks feature by `make test`.
    with pytest.raises(kpikit.KpikitError, match=r"internal error in kpikit: boom.*bug") as err:
        _kpikit._panic("boom")
    assert type(err.value) is kpikit.KpikitError
    # The interpreter and the extension keep working afterwards.
    assert kpikit.nps(pd.DataFrame({"s": [10]}), score="s").nps.iloc[0] == 100.0


def test_message_names_column_rule_and_five_rows_at_most() -> None:
    df = pd.DataFrame({"score": [11, 12, 13, 14, 15, 16, 17]})
    with pytest.raises(kpikit.InputError) as err:
        kpikit.nps(df, score="score")
    msg = str(err.value)
    assert msg.startswith('column "score": scores must be whole numbers from 0 to 10')
    assert "7 row(s)" in msg
    assert [f"row {i}: {11 + i}" in msg for i in range(7)] == [True] * 5 + [False] * 2
