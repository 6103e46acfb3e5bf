"""`mlgym report --format markdown | html --output DIR`: `report.md` or `report.html` beside its PNG figures."""
from __future__ import annotations

import html
import math
import time
from pathlib import Path
from typing import Any

import pandas as pd

from mlgym.events.projection import GridSearchProjection
from mlgym.events.results import results_table
from mlgym.report.plots import hyperparameter_scores, learning_curves

FORMATS = {"markdown": "report.md", "html": "report.html"}


def cell(value: Any, column: str) -> str:
    """One number format everywhere: scores with 4 decimals, other floats with 4 significant digits."""
    if column == "best":
        return "★" if value is True or (value is not None and not isinstance(value, str) and bool(value)) else ""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4f}" if "/" in column else f"{value:.4g}"
    return str(value)


def _facts(projection: GridSearchProjection) -> list[tuple[str, str]]:
    started, env = projection.started, projection.started.get("environment") or {}
    selection = projection.selection
    facts = [("Strategy", str(projection.strategy)), ("Status", projection.live_status()),
             ("Experiments", str(projection.summary()["num_experiments"])),
             ("Selection", f"{selection['split']}/{selection['metric']} ({selection['mode']})")]
    if projection.start_ts:
        facts.append(("Started", time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(projection.start_ts))))
    if projection.finished and projection.finished.get("duration_s") is not None:
        facts.append(("Duration", f"{projection.finished['duration_s']:.1f} s"))
    if started.get("num_epochs"):
        facts.append(("Epochs", str(started["num_epochs"])))
    if env.get("git_commit"):
        facts.append(("Commit", f"{env['git_commit'][:12]}{' (dirty)' if env.get('git_dirty') else ''}"))
    if env.get("mlgym_version"):
        facts.append(("MLgym", f"{env['mlgym_version']} (torch {env.get('torch_version')})"))
    search = projection.search_summary()
    if search and search.get("epochs_full"):
        facts.append(("Search", f"{search['searcher']}, scheduler "
                                f"{(search.get('scheduler') or {}).get('type', 'none')}: trained "
                                f"{search['epochs_trained']} of {search['epochs_full']} epochs"))
    return facts


def _markdown(title: str, facts: list[tuple[str, str]], table: pd.DataFrame,
              figures: list[tuple[str, Path]]) -> str:
    lines = [f"# {title}", "", *[f"- **{k}**: {v}" for k, v in facts], "", "## Results", ""]
    if table.empty:
        lines.append("No results yet.")
    else:
        columns = [str(c) for c in table.columns]
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "|".join("---:" if table[c].dtype.kind in "fi" else "---" for c in table.columns) + "|")
        for row in table.itertuples(index=False):
            lines.append("| " + " | ".join(cell(v, c).replace("|", "\\|") for c, v in zip(columns, row)) + " |")
        lines.append("")
        lines.append("★ marks the best row by the selection metric; rows are sorted by it.")
    for caption, path in figures:
        lines += ["", f"## {caption}", "", f"![{caption}]({path.name})"]
    return "\n".join(lines) + "\n"


def _html(title: str, facts: list[tuple[str, str]], table: pd.DataFrame, figures: list[tuple[str, Path]]) -> str:
    rows = []
    for row in table.itertuples(index=False):
        best = "best" in table.columns and cell(row[list(table.columns).index("best")], "best")
        cells = "".join(f"<td>{html.escape(cell(v, str(c)))}</td>" for c, v in zip(table.columns, row))
        marker = ' class="best"' if best else ""
        rows.append(f"<tr{marker}>{cells}</tr>")
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    facts_html = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts)
    figs = "".join(f"<figure><img src=\"{html.escape(p.name)}\" alt=\"{html.escape(c)}\"><figcaption>"
                   f"{html.escape(c)}</figcaption></figure>" for c, p in figures)
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}dl{{display:grid;grid-template-columns:max-content auto;
gap:.2em 1em}}dt{{font-weight:bold}}table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ccc;
padding:3px 6px;text-align:right}}tr.best{{background:#fff3c4;font-weight:bold}}figure{{display:inline-block;
margin:1em}}img{{max-width:560px}}</style></head>
<body><h1>{html.escape(title)}</h1><dl>{facts_html}</dl><h2>Results</h2>
<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>
<p>The highlighted row (★) is the best by the selection metric; rows are sorted by it.</p>{figs}</body></html>
"""


def write_report(projection: GridSearchProjection, folder: Path, fmt: str) -> Path:
    """Write the report and its figures into `folder` (created); returns the document's path."""
    folder.mkdir(parents=True, exist_ok=True)
    table = results_table(projection)
    figures = learning_curves(projection, folder) + hyperparameter_scores(projection, folder)
    title = f"Grid search {projection.grid_search_id}"
    facts = _facts(projection)
    text = (_markdown if fmt == "markdown" else _html)(title, facts, table, figures)
    path = folder / FORMATS[fmt]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path
