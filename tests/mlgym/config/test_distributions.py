"""Sweep kinds: parsed from YAML into distributions, listed for the grid, drawn for random search, refused with
file:line, key path and a hint when written wrong."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mlgym.config import expand_sweeps, find_sweeps, load_config
from mlgym.config.distributions import parse_sweep
from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError

KINDS = "absolute, choice, range, linspace, logspace, int, logint, uniform, loguniform"
LOGSPACE = "{sweep: logspace, start: 1e-4, stop: 1e-1, num: 4}"


def sweep_of(tmp_path: Path, node: str):
    path = tmp_path / "gs.yml"
    path.write_text(f"opt:\n  config:\n    lr: {node}\n")
    config, source = load_config(path)
    return find_sweeps(config, source)["opt.config.lr"]


# (case id, sweep node as written, its values in grid order)
FINITE = [
    ("absolute", "{sweep: absolute, values: [0.1, 0.01]}", [0.1, 0.01]),
    ("choice", "{sweep: choice, values: [relu, gelu, [1, 2]]}", ["relu", "gelu", [1, 2]]),
    ("range_ints_like_python", "{sweep: range, start: 16, stop: 64, step: 16}", [16, 32, 48]),
    ("range_counting_down", "{sweep: range, start: 5, stop: 0, step: -2}", [5, 3, 1]),
    ("range_floats_are_decimal", "{sweep: range, start: 0.1, stop: 0.5, step: 0.1}", [0.1, 0.2, 0.3, 0.4]),
    ("range_float_stop_excluded", "{sweep: range, start: 1, stop: 1.3, step: 0.1}", [1.0, 1.1, 1.2]),
    ("range_float_step_gives_floats", "{sweep: range, start: 0, stop: 2, step: 0.5}", [0.0, 0.5, 1.0, 1.5]),
    ("linspace_both_ends", "{sweep: linspace, start: 0, stop: 1, num: 5}", [0.0, 0.25, 0.5, 0.75, 1.0]),
    ("linspace_tenths_are_exact", "{sweep: linspace, start: 0, stop: 0.3, num: 4}", [0.0, 0.1, 0.2, 0.3]),
    ("linspace_of_one", "{sweep: linspace, start: 2, stop: 3, num: 1}", [2.0]),
    ("logspace_endpoints_are_values", "{sweep: logspace, start: 1e-4, stop: 1e-1, num: 4}",
     [1e-4, 1e-3, 1e-2, 1e-1]),
    ("logspace_geometric", "{sweep: logspace, start: 2, stop: 32, num: 5}", [2.0, 4.0, 8.0, 16.0, 32.0]),
    ("logspace_half_decades", "{sweep: logspace, start: 1e-4, stop: 1e-2, num: 5}",
     [1e-4, 0.000316227766016838, 1e-3, 0.00316227766016838, 1e-2]),
    ("int_inclusive", "{sweep: int, low: 1, high: 4}", [1, 2, 3, 4]),
    ("int_integral_floats", "{sweep: int, low: 2.0, high: 1e1}", [2, 3, 4, 5, 6, 7, 8, 9, 10]),
    ("logint_lists_every_integer", "{sweep: logint, low: 1, high: 5}", [1, 2, 3, 4, 5]),
]


@pytest.mark.parametrize("node, values", [c[1:] for c in FINITE], ids=[c[0] for c in FINITE])
def test_finite_kinds_list_their_values(tmp_path: Path, node: str, values: list) -> None:
    dist = sweep_of(tmp_path, node)
    got = dist.finite_values()
    assert got == values
    assert [type(v) for v in got] == [type(v) for v in values]


@pytest.mark.parametrize("node", ["{sweep: uniform, low: 0, high: 1}", "{sweep: loguniform, low: 1e-5, high: 1}"],
                         ids=["uniform", "loguniform"])
def test_continuous_kinds_have_no_finite_values(tmp_path: Path, node: str) -> None:
    assert sweep_of(tmp_path, node).finite_values() is None


# (case id, sweep node, check of 400 draws)
SAMPLED = [
    ("choice_uniform_over_values", "{sweep: choice, values: [a, b, c]}",
     lambda xs: set(xs) == {"a", "b", "c"} and all(isinstance(x, str) for x in xs)),
    ("range_draws_its_values", "{sweep: range, start: 0.1, stop: 0.5, step: 0.1}",
     lambda xs: set(xs) == {0.1, 0.2, 0.3, 0.4}),
    ("linspace_draws_its_values", "{sweep: linspace, start: 0, stop: 1, num: 3}",
     lambda xs: set(xs) == {0.0, 0.5, 1.0}),
    ("logspace_draws_its_values", "{sweep: logspace, start: 1e-3, stop: 1e-1, num: 3}",
     lambda xs: set(xs) == {1e-3, 1e-2, 1e-1}),
    ("int_inclusive", "{sweep: int, low: 1, high: 3}", lambda xs: set(xs) == {1, 2, 3} and
     all(type(x) is int for x in xs)),
    ("logint_inclusive_ints", "{sweep: logint, low: 1, high: 3}", lambda xs: set(xs) == {1, 2, 3} and
     all(type(x) is int for x in xs)),
    ("logint_is_log_uniform", "{sweep: logint, low: 1, high: 1000}",
     lambda xs: 0.43 < np.mean(np.asarray(xs) <= 31) < 0.57),  # half below sqrt(1 x 1000)
    ("uniform_in_bounds", "{sweep: uniform, low: -1, high: 1}",
     lambda xs: all(type(x) is float and -1 <= x < 1 for x in xs) and abs(np.mean(xs)) < 0.1),
    ("loguniform_in_bounds", "{sweep: loguniform, low: 1e-5, high: 1e-1}",
     lambda xs: all(type(x) is float and 1e-5 <= x <= 1e-1 for x in xs)
     and 0.43 < np.mean(np.asarray(xs) < 1e-3) < 0.57),  # half below the geometric middle
]


@pytest.mark.parametrize("node, check", [c[1:] for c in SAMPLED], ids=[c[0] for c in SAMPLED])
def test_sampling(tmp_path: Path, node: str, check) -> None:
    dist = sweep_of(tmp_path, node)
    rng = np.random.default_rng(7)
    draws = [dist.sample(rng) for _ in range(400)]
    assert check(draws)
    rng = np.random.default_rng(7)
    assert [dist.sample(rng) for _ in range(400)] == draws, "the same generator state gives the same draws"


def test_draws_are_pinned_for_a_seed() -> None:
    """The numbers behind "the same seed gives the same trials on any machine" (numpy's PCG64 streams)."""
    source = SourceMap()
    rng = np.random.default_rng(0)
    uniform = parse_sweep({"sweep": "uniform", "low": 0, "high": 1}, "x", source)
    integer = parse_sweep({"sweep": "int", "low": 1, "high": 100}, "x", source)
    assert uniform.sample(rng) == 0.6369616873214543
    assert integer.sample(rng) == 52
    choice = parse_sweep({"sweep": "choice", "values": ["a", "b", "c", "d"]}, "x", source)
    assert [choice.sample(rng) for _ in range(6)] == ["b", "b", "a", "a", "a", "a"]
    loguniform = parse_sweep({"sweep": "loguniform", "low": 1e-5, "high": 1e-1}, "x", source)
    logint = parse_sweep({"sweep": "logint", "low": 16, "high": 512}, "x", source)
    assert (loguniform.sample(rng), logint.sample(rng)) == (0.04477363031844231, 129)


# (case id, sweep node, key the error points at (None: the sweep's own key `lr`), message, hint)
BAD = [
    ("unknown_kind", "{sweep: unifrom, low: 0, high: 1}", "sweep",
     f"unknown sweep kind 'unifrom'; known kinds: {KINDS}", "did you mean 'uniform'?"),
    ("kind_not_a_name", "{sweep: 3, values: [1]}", "sweep", f"unknown sweep kind '3'; known kinds: {KINDS}", None),
    ("missing_key", "{sweep: uniform, low: 0}", None, "sweep 'uniform' needs 'high'; it takes: low, high",
     "e.g. {sweep: uniform, low: 0.0, high: 0.5}"),
    ("missing_keys", "{sweep: range, step: 2}", None, "sweep 'range' needs 'start', 'stop'; it takes: start, stop, "
     "step", "e.g. {sweep: range, start: 16, stop: 128, step: 16}"),
    ("extra_key", "{sweep: uniform, low: 0, high: 1, step: 0.1}", "step",
     "sweep 'uniform' has no key 'step'; it takes: low, high", "e.g. {sweep: uniform, low: 0.0, high: 0.5}"),
    ("misspelt_key", "{sweep: linspace, start: 0, stop: 1, nums: 3}", "nums",
     "sweep 'linspace' has no key 'nums'; it takes: start, stop, num", "did you mean 'num'?"),
    ("low_equals_high", "{sweep: uniform, low: 1, high: 1}", None, "sweep 'uniform': low (1) must be less than "
     "high (1)", "for a single value write the value itself instead of a sweep"),
    ("int_low_above_high", "{sweep: int, low: 5, high: 2}", None,
     "sweep 'int': low (5) must be less than high (2)", "for a single value write the value itself instead of a sweep"),
    ("loguniform_low_zero", "{sweep: loguniform, low: 0, high: 1}", "low",
     "sweep 'loguniform': low must be > 0 on a log scale, got 0", "e.g. {sweep: loguniform, low: 1e-5, high: 1e-1}"),
    ("loguniform_low_negative", "{sweep: loguniform, low: -1e-3, high: 1}", "low",
     "sweep 'loguniform': low must be > 0 on a log scale, got -0.001",
     "e.g. {sweep: loguniform, low: 1e-5, high: 1e-1}"),
    ("logint_low_zero", "{sweep: logint, low: 0, high: 64}", "low",
     "sweep 'logint': low must be > 0 on a log scale, got 0", "e.g. {sweep: logint, low: 16, high: 512}"),
    ("logspace_start_negative", "{sweep: logspace, start: -1, stop: 1, num: 3}", "start",
     "sweep 'logspace': start must be > 0 on a log scale, got -1", f"e.g. {LOGSPACE}"),
    ("logspace_stop_zero", "{sweep: logspace, start: 1, stop: 0, num: 3}", "stop",
     "sweep 'logspace': stop must be > 0 on a log scale, got 0", f"e.g. {LOGSPACE}"),
    ("num_zero", "{sweep: linspace, start: 0, stop: 1, num: 0}", "num",
     "sweep 'linspace': num must be an integer >= 1, got 0", None),
    ("num_not_integer", "{sweep: logspace, start: 1, stop: 10, num: 2.5}", "num",
     "sweep 'logspace': num must be an integer, got 2.5", f"e.g. {LOGSPACE}"),
    ("step_zero", "{sweep: range, start: 0, stop: 1, step: 0}", "step", "sweep 'range': step must not be 0", None),
    ("step_counts_away_up", "{sweep: range, start: 5, stop: 0, step: 1}", "step",
     "sweep 'range': step 1 counts up from start 5, but stop 0 is below it: the range is empty",
     "to count down use step: -1"),
    ("step_counts_away_down", "{sweep: range, start: 0.1, stop: 0.5, step: -0.1}", "step",
     "sweep 'range': step -0.1 counts down from start 0.1, but stop 0.5 is above it: the range is empty",
     "to count up use step: 0.1"),
    ("range_start_is_stop", "{sweep: range, start: 3, stop: 3, step: 1}", None,
     "sweep 'range' from start 3 to stop 3 is empty: the stop is excluded",
     "for a single value write the value itself instead of a sweep"),
    ("bound_not_a_number", "{sweep: uniform, low: abc, high: 1}", "low",
     "sweep 'uniform': low must be a number, got 'abc'", "e.g. {sweep: uniform, low: 0.0, high: 0.5}"),
    ("bound_is_a_bool", "{sweep: range, start: 0, stop: true, step: 1}", "stop",
     "sweep 'range': stop must be a number, got True", "e.g. {sweep: range, start: 16, stop: 128, step: 16}"),
    ("bound_infinite", "{sweep: uniform, low: 0, high: .inf}", "high",
     "sweep 'uniform': high must be a finite number, got inf", None),
    ("int_bound_not_integer", "{sweep: int, low: 1.5, high: 4}", "low",
     "sweep 'int': low must be an integer, got 1.5", "e.g. {sweep: int, low: 1, high: 4}"),
    ("logint_bound_not_integer", "{sweep: logint, low: 16, high: 512.5}", "high",
     "sweep 'logint': high must be an integer, got 512.5", "e.g. {sweep: logint, low: 16, high: 512}"),
    ("choice_without_values", "{sweep: choice, values: []}", "values",
     "sweep 'choice' needs a non-empty list of values", "write values: [0.1, 0.01]"),
    ("absolute_values_not_a_list", "{sweep: absolute, values: 0.1}", "values",
     "sweep 'absolute' needs a non-empty list of values", "write values: [0.1, 0.01]"),
]


@pytest.mark.parametrize("node, key, message, hint", [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_sweeps_are_refused_with_location_and_hint(tmp_path: Path, node: str, key: str | None, message: str,
                                                       hint: str | None) -> None:
    with pytest.raises(ConfigError) as e:
        sweep_of(tmp_path, node)
    line = f"    lr: {node}"
    column = line.index(f"{key}:") + 1 if key else 5
    key_path = f"opt.config.lr.{key}" if key else "opt.config.lr"
    expected = f"{tmp_path / 'gs.yml'}:3:{column}: at '{key_path}': {message}"
    assert str(e.value) == expected + (f"\n  hint: {hint}" if hint else "")


GRID_HINT = ("sample it with a random search (run config `search: {searcher: random, num_samples: 20}`, or "
             "--searcher random --num_samples 20), or make it finite: choice, range, linspace, logspace, int or logint")


@pytest.mark.parametrize("kind", ["uniform", "loguniform"])
def test_a_continuous_sweep_under_grid_search_is_refused(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "gs.yml"
    path.write_text("opt:\n  config:\n    bs: {sweep: int, low: 8, high: 9}\n"
                    f"    lr: {{sweep: {kind}, low: 1e-4, high: 1e-1}}\n")
    config, source = load_config(path)
    with pytest.raises(ConfigError) as e:
        expand_sweeps(config, source)
    assert str(e.value) == (f"{path}:4:10: at 'opt.config.lr.sweep': sweep '{kind}' is continuous: a grid search "
                            f"cannot list its values\n  hint: {GRID_HINT}")


def test_finite_kinds_make_the_cartesian_grid(tmp_path: Path) -> None:
    path = tmp_path / "gs.yml"
    path.write_text("opt:\n  config:\n    lr: {sweep: logspace, start: 1e-3, stop: 1e-1, num: 3}\n"
                    "    layers: {sweep: int, low: 1, high: 2}\n"
                    "    act: {sweep: choice, values: [relu, gelu]}\n")
    config, source = load_config(path)
    grid = expand_sweeps(config, source)
    assert [tuple(p.hyperparameters.values()) for p in grid] == [
        (lr, n, act) for lr in (1e-3, 1e-2, 1e-1) for n in (1, 2) for act in ("relu", "gelu")]
    assert list(grid[0].hyperparameters) == ["opt.config.lr", "opt.config.layers", "opt.config.act"]
    assert grid[7].config["opt"]["config"] == {"lr": 1e-2, "layers": 2, "act": "gelu"}
    assert len({p.grid_point_id for p in grid}) == 12


def test_a_huge_grid_is_refused_before_it_is_listed(tmp_path: Path) -> None:
    path = tmp_path / "gs.yml"
    path.write_text("opt:\n  config:\n    seed: {sweep: int, low: 0, high: 999999}\n")
    config, source = load_config(path)
    with pytest.raises(ConfigError) as e:
        expand_sweeps(config, source)
    assert str(e.value) == (
        f"{path}:3:5: at 'opt.config.seed': the grid has 1000000 points (opt.config.seed: 1000000), more than "
        "100000\n  hint: sample it with a random search (run config `search: {searcher: random, num_samples: "
        "100}`) or use fewer values")


def test_logspace_of_many_points_stays_monotonic_and_exact_at_the_ends() -> None:
    dist = parse_sweep({"sweep": "logspace", "start": 1e-6, "stop": 1.0, "num": 61}, "x", SourceMap())
    values = dist.finite_values()
    assert values[0] == 1e-6 and values[-1] == 1.0 and values[10] == 1e-5
    assert all(a < b for a, b in zip(values, values[1:]))
    assert all(math.isclose(v, 10 ** (-6 + i / 10), rel_tol=1e-14) for i, v in enumerate(values))
