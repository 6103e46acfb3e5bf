"""The `search` settings: defaults, checks, and errors located where each setting was given."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.config.loader import load_yaml
from mlgym.errors import ConfigError
from mlgym.events.payloads import Search
from mlgym.search import Origin, SearchSettings, parse_search, search_from_log


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
     "at '--searcher': unknown searcher 'randm'; known searchers: grid, random\n  hint: did you mean 'random'?"),
    ("not_yet_a_searcher", {"searcher": "optuna", "num_samples": 3},
     "at '--searcher': unknown searcher 'optuna'; known searchers: grid, random"),
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
], ids=["older_log", "grid", "random"])
def test_settings_come_back_from_the_log(payload, settings: SearchSettings) -> None:
    assert search_from_log(payload) == settings
