"""Searches through the real CLI: a random search runs its trials on worker processes, the same as planned for its
seed, and warm start finds them all done; bad search input exits 2 with file:line before anything is created."""
from __future__ import annotations

from pathlib import Path

from mlgym.events.event_log import read_events
from mlgym.run import ExecutionSettings, warm_start
from mlgym.search import SearchSettings
from mlgym.validation.experiment_plan import resolve_grid_search
from tests.conftest import CONFIGS, run_cli, run_in_process

BASE = (CONFIGS / "iris_mlp.yml").read_text()
GRID_LR = "lr: {sweep: absolute, values: [0.01, 0.05]}"
RANDOM_LR = "lr: {sweep: loguniform, low: 1e-3, high: 1e-1}"
HIDDEN = "    hidden_dims: [16]\n"
RANDOM_HIDDEN = "    hidden_dims: {sweep: choice, values: [[8], [16]]}\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def random_config(tmp_path: Path) -> Path:
    assert GRID_LR in BASE and HIDDEN in BASE
    return write(tmp_path, "gs_config.yml", BASE.replace(GRID_LR, RANDOM_LR).replace(HIDDEN, RANDOM_HIDDEN))


def refused(result, tmp_path: Path) -> str:
    assert result.returncode == 2, result.stderr
    assert not (tmp_path / "logs").exists(), "a refused run must not create its log folder"
    return result.stderr


def test_a_continuous_sweep_under_grid_search_exits_2_with_its_line(tmp_path: Path) -> None:
    path = random_config(tmp_path)
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"), "--num_epochs", "1")
    line = path.read_text().splitlines().index(f"    {RANDOM_LR}") + 1
    assert refused(result, tmp_path) == (
        f"config error: {path}:{line}:10: at 'optimizer.config.lr.sweep': sweep 'loguniform' is continuous: a grid "
        "search cannot list its values\n  hint: sample it with a random search (run config `search: {searcher: "
        "random, num_samples: 20}`, or --searcher random --num_samples 20), or make it finite: choice, range, "
        "linspace, logspace, int or logint\n")


def test_an_unknown_searcher_in_the_run_config_names_its_line(tmp_path: Path) -> None:
    path = random_config(tmp_path)
    run_config = write(tmp_path, "run_config.yml", "search:\n  searcher: randon\n  num_samples: 3\n")
    result = run_in_process("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"),
                     "--run_config_path", str(run_config))
    assert refused(result, tmp_path) == (f"config error: {run_config}:2:3: at 'search.searcher': unknown searcher "
                                         "'randon'; known searchers: grid, random, optuna\n  hint: did you mean 'random'?\n")


def test_num_samples_zero_from_a_flag(tmp_path: Path) -> None:
    result = run_in_process("train", "--gs_config_path", str(random_config(tmp_path)), "--log_dir", str(tmp_path / "logs"),
                     "--searcher", "random", "--num_samples", "0")
    assert refused(result, tmp_path) == "config error: at '--num_samples': num_samples must be an integer >= 1, got 0\n"


def test_validate_counts_the_trials_of_a_random_search(tmp_path: Path) -> None:
    result = run_in_process("validate", "--gs_config_path", str(random_config(tmp_path)), "--searcher", "random",
                     "--num_samples", "7", "--search_seed", "4")
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("valid; 7 experiment configs (model.config.hidden_dims, optimizer.config.lr); "
                                  "random search, seed 4; strategy grid_search: 7 jobs\n")


def test_a_random_search_runs_its_planned_trials_and_warm_start_finds_them_done(tmp_path: Path) -> None:
    path = random_config(tmp_path)
    run_config = write(tmp_path, "run_config.yml", "search: {searcher: random, num_samples: 3, seed: 5}\n"
                                                   "environment: {process_count: 2}\n")
    result = run_cli("train", "--gs_config_path", str(path), "--log_dir", str(tmp_path / "logs"), "--num_epochs", "1",
                     "--run_config_path", str(run_config))
    assert result.returncode == 0, result.stderr
    assert "(grid_search, random search of 3 (seed 5)): 3 experiments" in result.stderr
    (log,) = (tmp_path / "logs").glob("*/event_storage.log")
    events = list(read_events(log))
    assert events[0]["payload"]["search"] == {"searcher": "random", "num_samples": 3, "seed": 5}
    logged = {e["experiment_id"]: e["payload"]["hyperparameters"] for e in events
              if e["event_type"] == "experiment_config"}
    planned = resolve_grid_search(path, search=SearchSettings("random", 3, 5)).grid
    assert logged == {p.grid_point_id: p.hyperparameters for p in planned}, "the same seed gives the same trials"
    done = {e["experiment_id"] for e in events if e["event_type"] == "job_status" and e["payload"]["status"] == "done"}
    assert done == set(logged)

    said: list[str] = []  # warm start re-plans in this process: the logged search must draw the same trials
    outcome = warm_start(tmp_path / "logs", log.parent.name, None, ExecutionSettings(kind="main_process"),
                         announce=said.append)
    assert said == [f"grid search {log.parent.name}: all 3 experiments are finished; nothing to do"]
    assert outcome.status == "done" and set(outcome.results) == set(logged)
