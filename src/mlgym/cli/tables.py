"""Printing a results table (pandas) in the terminal."""
from __future__ import annotations

from collections.abc import Collection

import pandas as pd
from rich.console import Console
from rich.table import Table


def _cell(value: object, score: bool) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else (f"{value:.4f}" if score else f"{value:.4g}")
    return "" if value is None else str(value)


def print_results(table: pd.DataFrame, strategy: str | None, hidden: Collection[str] = ()) -> None:
    """Print `table` without the `hidden` columns (the losses: the terminal shows the metrics)."""
    console = Console()
    if not console.is_terminal:
        console = Console(width=240)
    table = table[[c for c in table.columns if str(c) not in hidden]]
    if table.empty:
        console.print("no results")
        return
    out = Table(title=f"results ({strategy or 'grid_search'})")
    for column in table.columns:
        out.add_column(str(column), justify="right" if table[column].dtype.kind in "fi" else "left", overflow="fold")
    for row in table.itertuples(index=False):
        out.add_row(*(("★" if v is not None and bool(v) else "") if c == "best" else _cell(v, "/" in str(c))
                      for c, v in zip(table.columns, row)))
    console.print(out)
