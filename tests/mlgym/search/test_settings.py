"""The `search` settings: defaults, checks, and errors located where each setting was given."""
from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from mlgym.config.loader import load_yaml
from mlgym.errors import ConfigError
from mlgym.events.payloads import Search
from mlgym.search import Origin, SearchSettings, parse_search, search_from_log
from mlgym.search.settings import SchedulerSettings


def flags(**given) -> dict:
    return {key: (value, Origin(f"--{'search_seed' if key == 'seed' else key}")) for key, value in given.items()}


def test_defaults_to_a_grid_search() -> None:
    settings = parse_search({})
    assert settings == SearchSettings("grid") and settings.to_payload() == Search(searcher="grid")
    assert settings.with_run_seed(5) == settings


def test_a_random_search_takes_the_run_seed_unless_given_one() -> None:
    settings = parse_search(flags(searcher="random", num_samples=5))
    assert settings.seed is None
    assert settings.with_run_seed(3).to_payload() == Search(searcher="random", num_samples=5, seed=3)
    assert parse_search(flags(searcher="random", num_samples=5, seed=9)).with_run_seed(3).seed == 9


# (case id, given as flags, exact error)
BAD = [
    ("unknown_searcher", {"searcher": "randm"},
     "at '--searcher': unknown searcher 'randm'; known searchers: grid, random, optuna\n"
     "  hint: did you mean 'random'?"),
    ("not_yet_a_searcher", {"searcher": "bohb", "num_samples": 3},
     "at '--searcher': unknown searcher 'bohb'; known searchers: grid, random, optuna"),
    ("optuna_without_num_samples", {"searcher": "optuna"},
     "at '--searcher': an optuna search needs num_samples (an integer >= 1)\n"
     "  hint: e.g. search: {searcher: optuna, num_samples: 20}, or --num_samples 20"),
    ("unknown_sampler", {"searcher": "optuna", "num_samples": 3, "sampler": "tpee"},
     "at '--sampler': unknown sampler 'tpee'; known samplers: tpe, cmaes, qmc\n  hint: did you mean 'tpe'?"),
    ("sampler_without_optuna", {"searcher": "random", "num_samples": 3, "sampler": "tpe"},
     "at '--sampler': sampler is a setting of the optuna searcher\n"
     "  hint: set searcher: optuna, or leave sampler out"),
    ("unknown_scheduler", {"scheduler": {"type": "ashaa"}},
     "at '--scheduler': unknown scheduler 'ashaa'; known schedulers: none, asha, median\n  hint: did you mean 'asha'?"),
    ("unknown_scheduler_key", {"scheduler": {"type": "asha", "grace": 2}},
     "at '--scheduler': unknown scheduler setting 'grace'; allowed: type, metric, min_epochs, grace_period, reduction_factor, interval, min_samples"),
    ("reduction_factor_one", {"scheduler": {"reduction_factor": 1}},
     "at '--scheduler': reduction_factor must be an integer >= 2, got 1"),
    ("min_epochs_zero", {"scheduler": {"min_epochs": 0}},
     "at '--scheduler': min_epochs must be an integer >= 1, got 0"),
    ("metric_without_split", {"scheduler": {"metric": "accuracy"}},
     "at '--scheduler': the scheduler's metric is '<split>/<score>' like val/accuracy, got 'accuracy'"),
    ("random_without_num_samples", {"searcher": "random"},
     "at '--searcher': a random search needs num_samples (an integer >= 1)\n"
     "  hint: e.g. search: {searcher: random, num_samples: 20}, or --num_samples 20"),
    ("num_samples_zero", {"searcher": "random", "num_samples": 0},
     "at '--num_samples': num_samples must be an integer >= 1, got 0"),
    ("num_samples_not_an_integer", {"searcher": "random", "num_samples": 2.5},
     "at '--num_samples': num_samples must be an integer >= 1, got 2.5"),
    ("seed_negative", {"searcher": "random", "num_samples": 2, "seed": -1},
     "at '--search_seed': the search seed must be an integer >= 0, got -1"),
    ("num_samples_under_grid", {"num_samples": 4},
     "at '--num_samples': num_samples is a setting of the random searcher; a grid search takes every grid point\n"
     "  hint: set searcher: random (or --searcher random), or leave num_samples out"),
    ("seed_under_grid", {"searcher": "grid", "seed": 4},
     "at '--search_seed': seed is a setting of the random searcher; a grid search takes every grid point\n"
     "  hint: set searcher: random (or --searcher random), or leave seed out"),
]


@pytest.mark.parametrize("given, message", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_settings_are_refused(given: dict, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_search(flags(**given))
    assert str(e.value) == message


def test_an_error_in_a_run_config_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "run_config.yml"
    path.write_text("search:\n  searcher: random\n  num_samples: 0\n")
    data, source = load_yaml(path)
    given = {key: (value, Origin(f"search.{key}", source)) for key, value in data["search"].items()}
    with pytest.raises(ConfigError) as e:
        parse_search(given)
    assert str(e.value) == f"{path}:3:3: at 'search.num_samples': num_samples must be an integer >= 1, got 0"


def test_a_negative_run_seed_is_no_search_seed() -> None:
    with pytest.raises(ConfigError) as e:
        parse_search(flags(searcher="random", num_samples=2)).with_run_seed(-4)
    assert str(e.value) == ("at 'search.seed': a random search's seed defaults to the run's seed, -4, but must be an "
                            "integer >= 0\n  hint: give search.seed (or --search_seed)")


@pytest.mark.parametrize("payload, settings", [
    (None, SearchSettings()),
    ({"searcher": "grid"}, SearchSettings()),
    ({"searcher": "random", "num_samples": 4, "seed": 2}, SearchSettings("random", 4, 2)),
    ({"searcher": "optuna", "num_samples": 4, "seed": 2, "sampler": "qmc",
      "scheduler": {"type": "asha", "metric": "val/f1", "mode": "max", "min_epochs": 2, "reduction_factor": 4}},
     SearchSettings("optuna", 4, 2, "qmc", SchedulerSettings("asha", "val/f1", "max", 2, 4))),
], ids=["older_log", "grid", "random", "optuna_asha"])
def test_settings_come_back_from_the_log(payload, settings: SearchSettings) -> None:
    assert search_from_log(payload) == settings


def test_scheduler_settings_and_their_payload() -> None:
    settings = parse_search({"searcher": ("random", Origin("--searcher")), "num_samples": (3, Origin("--n")),
                             "scheduler": ({"type": "asha", "min_epochs": 2}, Origin("--scheduler"))})
    assert settings.adaptive and settings.scheduler == SchedulerSettings("asha", None, None, 2, 3)
    assert search_from_log(msgspec.to_builtins(settings.with_run_seed(1).to_payload())) == \
        SearchSettings("random", 3, 1, None, SchedulerSettings("asha", None, None, 2, 3))
    assert parse_search({"scheduler": ("none", Origin("--scheduler"))}).scheduler is None
    assert parse_search({"searcher": ("optuna", Origin("--s")), "num_samples": (2, Origin("--n"))}).sampler == "tpe"


def test_a_scheduler_error_in_a_run_config_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "run_config.yml"
    path.write_text("search:\n  scheduler:\n    type: asha\n    reduction_factor: 1\n")
    data, source = load_yaml(path)
    given = {key: (value, Origin(f"search.{key}", source)) for key, value in data["search"].items()}
    with pytest.raises(ConfigError) as e:
        parse_search(given)
    assert str(e.value) == (f"{path}:4:5: at 'search.scheduler.reduction_factor': reduction_factor must be an "
                            "integer >= 2, got 1")
