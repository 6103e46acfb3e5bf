"""Reports of a finished (or running) grid search to read, paste or attach: a Markdown or HTML document with PNG
plots (matplotlib), built from the event log's read model alone (no torch, no training imports)."""
from mlgym.report.document import write_report

__all__ = ["write_report"]
