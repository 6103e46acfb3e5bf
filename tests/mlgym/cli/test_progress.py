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


def test_plain_output_tells_retries_pauses_and_search_decisions(tmp_path: Path, capsys) -> None:
    from tests.ml_board.read_model_logs import write_search_log
    progress = Progress(console=Console(file=io.StringIO(), width=200), live=False)
    for event in read_events(write_search_log(tmp_path)):
        progress(event)
    gs = "search-asha"
    for event in ({"event_type": "job_status", "experiment_id": "Q", "grid_search_id": gs, "seq": 10_000,
                   "creation_ts": 1.0, "payload": {"status": "retrying", "attempt": 0, "next_attempt": 1,
                                                   "error": "WorkerDied: worker 0 (pid 7) exited with signal 9"}},):
        progress(event)
    text = capsys.readouterr().err
    assert "P: paused at epoch 1" in text and "P: paused at epoch 3" in text and "D: done" in text
    assert "P: trial 0 promoted at rung 0 (epoch 1)" in text
    assert "Q: attempt 0 lost, retrying as attempt 1: WorkerDied: worker 0 (pid 7) exited with signal 9" in text


def test_every_flag_of_every_command_has_help_text() -> None:
    import argparse

    from mlgym.cli.main import _parser
    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    missing = [f"{name} {'/'.join(action.option_strings) or action.dest}" for name, sub in commands.items()
               for action in sub._actions if not isinstance(action, argparse._HelpAction) and not action.help]
    assert missing == []
