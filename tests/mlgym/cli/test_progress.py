"""The terminal progress shows what the read model concludes (status, epochs, selection score)."""
from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from mlgym.cli.progress import Progress
from mlgym.events.event_log import read_events
from tests.ml_board.read_model_logs import write_synthetic_log


def test_progress_table_follows_the_projection(tmp_path: Path, capsys) -> None:
    progress = Progress(console=Console(file=io.StringIO(), width=200), live=False)
    for event in read_events(write_synthetic_log(tmp_path)):
        progress(event)
    out = Console(file=io.StringIO(), width=200, record=True)
    out.print(progress._table())
    text = out.export_text()
    lines = {line.split()[1]: line.split()[2:] for line in text.splitlines()
             if line.startswith("│") and "." in line.split()[1]}
    assert lines == {"A.f0": ["│", "done", "│", "3/3", "│", "│"],  # its latest val/accuracy is NaN
                     "A.f1": ["│", "done", "│", "3/3", "│", "val/accuracy=0.7000", "│"],
                     "B.f0": ["│", "done", "│", "1/3", "│", "val/accuracy=0.7500", "│"],
                     "B.f1": ["│", "failed", "│", "1/3", "│", "val/accuracy=0.9000", "│"],
                     "C.f0": ["│", "running", "│", "1/3", "│", "val/accuracy=0.4000", "│"]}
    assert "3/5 done, 1 running, 1 failed" in text
    assert "[3/5 done, 0 running, 1 failed] B.f1: failed (ValueError: boom)" in capsys.readouterr().err
