"""`mlgym report` in every format: tables sorted by the selection metric with the best row marked, a Markdown and
an HTML report with PNG plots, and every logged score as Parquet."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from mlgym.cli.main import main
from mlgym.events.event_log import read_events
from mlgym.run import ExecutionSettings, RunRequest, start
from tests.conftest import CONFIGS

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, list[dict]]:
    log_dir = tmp_path_factory.mktemp("report") / "logs"
    outcome = start(RunRequest(CONFIGS / "iris_mlp.yml", log_dir, 3, execution=ExecutionSettings(kind="main_process")))
    return log_dir, outcome.grid_search_id, list(read_events(outcome.log_path))


def best_val_accuracy(events: list[dict]) -> dict[str, float]:
    best: dict[str, float] = {}
    for e in events:
        if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val":
            score = next(s["score"] for s in e["payload"]["metric_scores"] if s["metric"] == "accuracy")
            best[e["experiment_id"]] = max(best.get(e["experiment_id"], score), score)
    return best


def report(run: tuple, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    log_dir, gs_id, _ = run
    code = main(["report", "--grid_search_id", gs_id, "--log_dir", str(log_dir), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_tables_are_sorted_by_the_selection_metric_with_the_best_row_marked(run: tuple, capsys) -> None:
    scores = best_val_accuracy(run[2])
    code, out, _ = report(run, capsys, "--format", "json")
    rows = json.loads(out)["rows"]
    assert code == 0 and [r["experiment_id"] for r in rows] == sorted(scores, key=lambda e: -scores[e])
    assert [r["best"] for r in rows] == [True, False]
    assert "val/cross_entropy" in rows[0]  # losses too
    code, out, _ = report(run, capsys)
    assert code == 0 and "★" in out and "val/cross_entropy" in out.replace("\n", "")


def test_markdown_and_html_reports_hold_the_table_and_png_plots(run: tuple, capsys, tmp_path: Path) -> None:
    scores = best_val_accuracy(run[2])
    winner = max(scores, key=scores.get)
    code, out, _ = report(run, capsys, "--format", "markdown", "--output", str(tmp_path / "md"))
    assert code == 0 and out.strip() == f"wrote {tmp_path / 'md' / 'report.md'}"
    text = (tmp_path / "md" / "report.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| {winner} "))
    assert row.rstrip().endswith("| ★ |") and text.index(f"| {winner} ") < min(
        text.index(f"| {e} ") for e in scores if e != winner)
    images = [line.split("(")[1].rstrip(")") for line in text.splitlines() if line.startswith("![")]
    assert {"curve_accuracy.png", "curve_cross_entropy.png", "hp_optimizer.config.lr.png"} <= set(images)
    for name in images:
        with Image.open(tmp_path / "md" / name) as image:
            assert image.format == "PNG" and image.size[0] > 300
    code, _, _ = report(run, capsys, "--format", "html", "--output", str(tmp_path / "html"))
    page = (tmp_path / "html" / "report.html").read_text()
    assert code == 0 and page.count('<tr class="best">') == 1 and f"<td>{winner}</td>" in page.split(
        '<tr class="best">')[1].split("</tr>")[0]
    assert all((tmp_path / "html" / name).is_file() for name in images)


def test_parquet_holds_every_logged_score(run: tuple, capsys, tmp_path: Path) -> None:
    code, _, _ = report(run, capsys, "--format", "parquet", "--output", str(tmp_path / "m.parquet"))
    frame = pd.read_parquet(tmp_path / "m.parquet")
    logged = sum(len(e["payload"]["metric_scores"]) + len(e["payload"]["loss_scores"])
                 for e in run[2] if e["event_type"] == "evaluation_result")
    assert code == 0 and len(frame) == logged
    assert set(frame["hp.optimizer.config.lr"]) == {0.01, 0.05}
    assert {"experiment_id", "epoch", "split", "name", "kind", "score"} <= set(frame.columns)


def test_a_report_file_format_without_output_is_exit_2(run: tuple, capsys) -> None:
    code, _, err = report(run, capsys, "--format", "html")
    assert code == 2 and "give --output DIR" in err


def test_compare_lines_up_two_grid_searches_config_by_config(run: tuple, capsys, tmp_path: Path) -> None:
    log_dir, first, events = run
    other = tmp_path / "other.yml"  # the same grid plus a third learning rate
    other.write_text(f"imports: [{CONFIGS / 'iris_mlp.yml'}]\n"
                     "optimizer:\n  config:\n    lr: {sweep: choice, values: [0.01, 0.05, 0.1]}\n")
    second = start(RunRequest(other, log_dir, 3, execution=ExecutionSettings(kind="main_process"))).grid_search_id
    assert main(["report", "--compare", first, second, "--log_dir", str(log_dir), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    scores = best_val_accuracy(events)
    configs = {e["payload"]["hyperparameters"]["optimizer.config.lr"]: e["experiment_id"] for e in events
               if e["event_type"] == "experiment_config"}
    assert [r["lr"] for r in rows] == [0.01, 0.05, 0.1]
    for row in rows[:2]:  # the same config and seed trains the same model: the same score, no difference
        assert row[f"val/accuracy {first}"] == row[f"val/accuracy {second}"] == scores[configs[row["lr"]]]
        assert row["difference"] == 0.0
    assert rows[2][f"val/accuracy {first}"] is None and rows[2]["difference"] is None
    assert main(["report", "--compare", first, "nope", "--log_dir", str(log_dir)]) == 2
    assert "no event log for grid search 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_a_report_imports_neither_torch_nor_scikit_learn(run: tuple, fmt: str) -> None:
    import subprocess
    import sys
    log_dir, gs_id, _ = run
    script = ("import sys\nfrom mlgym.cli.main import main\n"
              f"code = main(['report', '--grid_search_id', {gs_id!r}, '--log_dir', {str(log_dir)!r}, '--format', "
              f"{fmt!r}])\nprint('IMPORTED', sorted(m for m in ('torch', 'sklearn') if m in sys.modules))\n"
              "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "IMPORTED []"
