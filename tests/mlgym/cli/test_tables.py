"""The results table printed without rich (a console that is not a terminal) is exactly rich's text."""
from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from mlgym.cli import tables


def printed(table: pd.DataFrame, strategy: str | None, with_rich: bool) -> str:
    out = io.StringIO()
    original = tables.plain_table
    if with_rich:
        tables.plain_table = lambda *args: None
    try:
        with contextlib.redirect_stdout(out):
            tables.print_results(table, strategy)
    finally:
        tables.plain_table = original
    return out.getvalue()


GRID = pd.DataFrame({"experiment_id": ["e1", "e2", "e3"], "status": ["done", "failed", "running"],
                     "lr": [0.01, 0.1, 1e-4], "best_epoch": [3, None, 12], "val/f1": [0.5, float("nan"), 0.25],
                     "hidden_dims": ["[16]", "[8, 8]", "[]"], "best": [True, False, None]})


@pytest.mark.parametrize("table, strategy", [
    pytest.param(GRID, "grid_search", id="grid search"),
    pytest.param(GRID.assign(experiment_id=["e10", "e2", "e3"]), "grid_search", id="an odd space to centre"),
    pytest.param(GRID[["experiment_id"]].iloc[:1], None, id="one narrow column under a longer title"),
    pytest.param(GRID.assign(note=["日本語", "é", "x"]), "cross_validation", id="wide and accented characters"),
    pytest.param(GRID.assign(experiment_id=["[bold]e1[/bold]", "e2", "e3"]), "grid_search", id="markup: rich"),
    pytest.param(GRID.assign(note=["x" * 300, "", ""]), "grid_search", id="wider than the console: rich"),
    pytest.param(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).iloc[:0], "grid_search", id="empty"),
])
def test_the_plain_table_is_what_rich_prints(table: pd.DataFrame, strategy: str | None) -> None:
    assert printed(table, strategy, with_rich=False) == printed(table, strategy, with_rich=True)


def test_rich_is_left_what_it_styles_or_folds() -> None:
    assert tables.plain_table("t", ["a"], [False], [["[bold]x"]], 240) is None
    assert tables.plain_table("t", ["a"], [False], [["x" * 300]], 240) is None
    # rich's centring: the odd space goes to the right
    assert tables.plain_table("t", ["a"], [True], [["12"]], 240) == "  t   \n┏━━━━┓\n┃  a ┃\n┡━━━━┩\n│ 12 │\n└────┘\n"
