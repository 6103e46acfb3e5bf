"""ASHA on a synthetic score stream whose promotions and stops are worked out by hand (in the comments)."""
from __future__ import annotations

from collections.abc import Callable

import pytest

from mlgym.config.sweep import GridPoint
from mlgym.search.adaptive import AdaptiveSearch, PointList, Promote, Start, Stop
from mlgym.search.asha import Asha, Decision, rung_epochs

# score of trial t at epoch e; rungs at epochs 1 and 3 of 9 (min_epochs 1, reduction_factor 3)
SCORES = {(0, 1): .5, (1, 1): .7, (2, 1): .6, (1, 3): .8, (3, 1): .9, (3, 3): .85, (4, 1): .4, (5, 1): .65,
          (6, 1): .3, (7, 1): .75, (7, 3): .7, (3, 9): .95, (8, 1): .2}


def points(n: int) -> list[GridPoint]:
    return [GridPoint(f"p{i}", {"lr": i}, {"lr": i}) for i in range(n)]


def run_sequentially(search: AdaptiveSearch, scores: dict[tuple[int, int], float] | None = None,
                     history: Callable[[int, int], dict] | None = None) -> tuple[list, int]:
    """One worker: run each action's task in order, reporting the score its last epoch gives (or, with
    `history(trial, end)`, the history it returns). Returns every action and the epochs trained."""
    log, queue, epochs, reached = [], list(search.start()), 0, {}
    while queue:
        action = queue.pop(0)
        log.append(action)
        if isinstance(action, Stop):
            continue
        trial = action.trial if isinstance(action, Start) else action.decision.trial
        end = action.stop_at or search.num_epochs
        epochs += end - reached.get(trial, 0)
        reached[trial] = end
        reported = history(trial, end) if history else {end: {"val/acc": scores[(trial, end)]}}  # type: ignore[index]
        queue.extend(search.on_result(trial, True, reported, end))
    return log, epochs


def test_rung_epochs() -> None:
    assert rung_epochs(1, 3, 9) == [1, 3]
    assert rung_epochs(1, 3, 10) == [1, 3, 9]
    assert rung_epochs(2, 2, 16) == [2, 4, 8]
    assert rung_epochs(5, 3, 5) == []


def test_asha_promotes_and_stops_exactly_as_worked_out() -> None:
    search = AdaptiveSearch(PointList(points(9)), 9, 1, 9, "val/acc", Asha(1, 3, 9, "max"))
    log, epochs = run_sequentially(search, SCORES)
    summary = [(type(a).__name__, a.trial) if isinstance(a, Start) else
               (type(a).__name__, a.decision.trial, a.decision.rung, a.decision.score, a.decision.cut)
               for a in log]
    assert summary == [
        ("Start", 0), ("Start", 1),  # rung 0 holds 1, then 2 scores: its top third is empty
        ("Start", 2),                # 3 scores: the top one, trial 1 (.7), goes on to epoch 3
        ("Promote", 1, 0, .7, .7),
        ("Start", 3),                # rung 1 holds one score: nothing to promote there
        ("Promote", 3, 0, .9, .9),   # 4 scores at rung 0, top 1: trial 3
        ("Start", 4), ("Start", 5),  # 5, 6 scores: top 1, 2 are trials 3 and 1, both promoted already
        ("Start", 6), ("Start", 7),
        ("Promote", 7, 0, .75, .75),  # 8 scores, top 2: trials 3 (.9) and 7 (.75)
        ("Promote", 3, 1, .85, .85),  # rung 1 holds 3 scores now (.8, .85, .7): its top one goes to the end
        ("Start", 8),                 # trial 3 finished; nothing to promote, one sample left
        # 9 samples drawn, nothing runs, nothing may go on: the waiting trials stop, the lowest rung first
        ("Stop", 0, 0, .5, .7), ("Stop", 2, 0, .6, .7), ("Stop", 4, 0, .4, .7), ("Stop", 5, 0, .65, .7),
        ("Stop", 6, 0, .3, .7), ("Stop", 8, 0, .2, .7), ("Stop", 1, 1, .8, .85), ("Stop", 7, 1, .7, .85)]
    assert [a.stop_at for a in log if isinstance(a, Promote)] == [3, 3, 3, None]
    assert epochs == 9 * 1 + 3 * 2 + 6 == 21  # of 9 * 9 = 81 for the full budget
    assert search.on_result(8, True, {}, 1) == []  # (a stray result after the end changes nothing)


def test_minimised_metric_promotes_the_lowest() -> None:
    search = AdaptiveSearch(PointList(points(3)), 3, 1, 2, "val/loss", Asha(1, 3, 2, "min"))
    actions = search.start()
    assert actions == [Start(0, points(3)[0], 1)]
    assert search.on_result(0, True, {1: {"val/loss": 3.0}}, 1) == [Start(1, points(3)[1], 1)]
    assert search.on_result(1, True, {1: {"val/loss": 1.0}}, 1) == [Start(2, points(3)[2], 1)]
    assert search.on_result(2, True, {1: {"val/loss": 2.0}}, 1) == [Promote(Decision(1, 0, 1, 1.0, 1.0), None)]
    assert search.on_result(1, True, {2: {"val/loss": 0.5}}, 2) == [
        Stop(Decision(0, 0, 1, 3.0, 1.0)), Stop(Decision(2, 0, 1, 2.0, 1.0))]


def test_concurrent_trials_fill_every_slot_and_a_failure_frees_one() -> None:
    search = AdaptiveSearch(PointList(points(4)), 4, 3, 9, "val/acc", Asha(1, 3, 9, "max"))
    assert [a.trial for a in search.start()] == [0, 1, 2]
    assert [a.trial for a in search.on_result(1, False, {}, 0)] == [3]
    assert search.on_result(0, True, {1: {"val/acc": float("nan")}}, 1) == []  # NaN: recorded, ranked last
    assert search.on_result(2, True, {1: {"val/acc": .5}}, 1) == []
    actions = search.on_result(3, True, {1: {"val/acc": .6}}, 1)
    assert actions == [Promote(Decision(3, 0, 1, .6, .6), 3)]


@pytest.mark.parametrize("mode", ["max", "min"])
def test_no_scheduler_runs_every_trial_to_the_end(mode: str) -> None:
    search = AdaptiveSearch(PointList(points(2)), 5, 1, 4, "val/acc")
    assert search.start() == [Start(0, points(2)[0], None)]
    assert search.on_result(0, True, {4: {"val/acc": 1.0}}, 4) == [Start(1, points(2)[1], None)]
    assert search.on_result(1, True, {4: {"val/acc": 1.0}}, 4) == []  # the list is exhausted at 2 of 5
