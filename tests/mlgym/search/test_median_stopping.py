"""The median stopping rule on a synthetic score stream whose decisions are worked out by hand (in the comments)."""
from __future__ import annotations

from mlgym.search.adaptive import AdaptiveSearch, PointList, Promote, Start, Stop
from mlgym.search.asha import Decision
from mlgym.search.median_stopping import MedianStopping, decision_epochs
from tests.mlgym.search.test_asha import points, run_sequentially

# val/acc of trial t at epochs 1..4 (num_epochs 4; decisions at epochs 1, 2, 3; min_samples 2)
CURVES = {0: [.5, .6, .7, .8], 1: [.4, .5, .6, .7], 2: [.6, .7, .8, .9], 3: [.3, .35, .4, .45], 4: [.5, .52, .9, .9]}


def every_epoch(trial: int, end: int) -> dict:
    """A task that trained trial `trial` to epoch `end` reports every epoch's score so far."""
    return {e: {"val/acc": CURVES[trial][e - 1]} for e in range(1, end + 1)}


def test_decision_epochs() -> None:
    assert decision_epochs(1, 1, 4) == [1, 2, 3]
    assert decision_epochs(2, 3, 12) == [2, 5, 8, 11]
    assert decision_epochs(4, 1, 4) == []


def test_median_stopping_decides_exactly_as_worked_out() -> None:
    rule = MedianStopping(min_epochs=1, interval=1, min_samples=2, num_epochs=4, mode="max", metric="val/acc")
    search = AdaptiveSearch(_points(), 5, 1, 4, "val/acc", rule)
    log, epochs = run_sequentially(search, history=every_epoch)
    summary = [("Start", a.trial) if isinstance(a, Start) else
               (type(a).__name__, a.decision.trial, a.decision.epoch, a.decision.score, a.decision.cut)
               for a in log]
    assert summary == [
        ("Start", 0),
        ("Promote", 0, 1, .5, None), ("Promote", 0, 2, .6, None), ("Promote", 0, 3, .7, None),  # alone: no median
        ("Start", 1),
        ("Promote", 1, 1, .4, None), ("Promote", 1, 2, .5, None), ("Promote", 1, 3, .6, None),  # 1 other < 2
        ("Start", 2),
        # epoch 1: others' running averages .5 (trial 0) and .4 (trial 1): median .45; best .6 goes on
        ("Promote", 2, 1, .6, .45),
        ("Promote", 2, 2, .7, (.55 + .45) / 2),  # averages of epochs 1-2: .55, .45
        ("Promote", 2, 3, .8, (.6 + .5) / 2),
        ("Start", 3),
        # epoch 1: averages .5, .4, .6 -> median .5; best .3 is worse: stopped at once
        ("Stop", 3, 1, .3, .5),
        ("Start", 4),
        ("Promote", 4, 1, .5, .45),  # others that reached epoch 1: .5, .4, .6, .3 -> median .45
        # epoch 2: averages .55, .45, .65, and trial 3 never reached it -> median .55; best .52 is worse
        ("Stop", 4, 2, .52, .55)]
    assert [a.stop_at for a in log if isinstance(a, Promote)][:3] == [2, 3, None]
    assert epochs == 4 + 4 + 4 + 1 + 2
    assert search.completed == {0: .8, 1: .7, 2: .9}


def test_a_minimised_metric_stops_the_higher_loss() -> None:
    rule = MedianStopping(min_epochs=1, interval=1, min_samples=1, num_epochs=2, mode="min", metric="val/loss")
    search = AdaptiveSearch(_points(), 2, 1, 2, "val/loss", rule)
    assert search.start() == [Start(0, points(5)[0], 1)]
    assert search.on_result(0, True, {1: {"val/loss": 1.0}}, 1) == [Promote(Decision(0, 0, 1, 1.0, None), None)]
    assert search.on_result(0, True, {2: {"val/loss": .5}}, 2) == [Start(1, points(5)[1], 1)]
    assert search.on_result(1, True, {1: {"val/loss": 2.0}}, 1) == [Stop(Decision(1, 0, 1, 2.0, 1.0))]


def _points() -> list:
    return PointList(points(5))
