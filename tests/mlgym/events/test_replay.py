"""The fast replay (`events/replay.py`: typed `evaluation_result` lines, plain data for the rest) builds exactly the
read model that applying every event as plain data builds, on logs with every oddity a reader must survive."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgym.events.projection import GridSearchProjection
from mlgym.events.replay import apply_line
from mlgym.events.schema import NewerSchemaError
from mlgym.events.snapshot import encode
from tests.ml_board.read_model_logs import write_synthetic_log, write_training_log


def fast(path: Path) -> GridSearchProjection:
    proj, seq = GridSearchProjection(path.parent.name), -1
    for raw in path.read_bytes().splitlines(True):
        if raw.endswith(b"\n"):
            applied = apply_line(proj, raw, seq)
            seq = seq if applied is None else applied
    return proj


def general(path: Path) -> GridSearchProjection:
    """The replay as it was: every line parsed by json into plain data, applied unless its seq was."""
    proj, seq = GridSearchProjection(path.parent.name), -1
    for raw in path.read_bytes().splitlines(True):
        try:
            event = json.loads(raw)
        except ValueError:
            continue
        if raw.endswith(b"\n") and event.get("seq", -1) > seq:
            proj.apply(event)
            seq = event["seq"]
    return proj


def state(proj: GridSearchProjection) -> bytes:
    """Everything the read model holds (its snapshot)."""
    return encode(proj, 0, 0, b"")


def assert_same(path: Path) -> GridSearchProjection:
    proj = fast(path)
    assert state(proj) == state(general(path))
    return proj


def _line(seq: int, event_type: str, payload: object, experiment_id: str | None = "e1", **extra: object) -> str:
    return json.dumps({"seq": seq, "event_type": event_type, "creation_ts": 100.0 + seq, "grid_search_id": "odd",
                       "experiment_id": experiment_id, "payload": payload, "schema_version": 2, **extra})


def _scores(epoch: object, split: str, acc: object, loss: object = 0.5, **extra: object) -> dict:
    return {"epoch": epoch, "split": split, "metric_scores": [{"metric": "accuracy", "split": split, "score": acc}],
            "loss_scores": [{"loss": "cross_entropy", "split": split, "score": loss}], **extra}


def test_real_shaped_logs_replay_the_same_both_ways(tmp_path: Path) -> None:
    assert_same(write_synthetic_log(tmp_path / "old"))  # NaN and infinite scores, a torn line, splits left out
    assert_same(write_training_log(tmp_path / "training"))


def test_odd_evaluation_results_replay_the_same_both_ways(tmp_path: Path) -> None:
    lines = [
        _line(0, "grid_search_started", {"strategy": "grid_search", "selection": {"split": "val", "metric": None}}, None),
        _line(1, "evaluation_result", _scores(1, "val", 0.5)),
        _line(2, "evaluation_result", _scores(2.0, "val", 0.7)),  # a float epoch: the general path reads it
        _line(3, "evaluation_result", _scores(3, "val", True)),  # a bool score is no score
        _line(4, "evaluation_result", _scores(4, "val", "0.9")),  # nor is a string
        _line(5, "evaluation_result", _scores(5, "val", 1e400)),  # infinite: msgspec refuses, json reads it
        _line(6, "evaluation_result", _scores(-1, "val", 0.99)),  # a negative epoch: the experiment, no score
        _line(7, "evaluation_result", _scores(3, "val", 0.8), None),  # no experiment
        _line(8, "evaluation_result", {"epoch": 6, "split": "val", "metric_scores": [{"metric": "accuracy",
                                                                                       "score": 0.6}]}),
        _line(9, "evaluation_result", _scores(7, "val", 0.65, source="something new")),
        _line(10, "evaluation_result", _scores(2, "val", None)),  # a re-logged epoch, no finite score
        _line(11, "evaluation_result", _scores(8, "val", 0.1), "e2", schema_version=1),
        _line(12, "heartbeat", {"running": 1, "note": '"event_type":"evaluation_result"'}, None),
        _line(11, "evaluation_result", _scores(9, "val", 0.95)),  # a seq already applied: skipped
        _line(13, "evaluation_result", _scores(3, "test", 0.3)),
        "not json at all",
    ]
    path = tmp_path / "odd" / "event_storage.log"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    proj = assert_same(path)
    assert proj.last_seq == 13
    e1 = proj.views()["e1"]
    assert (e1.best["val/accuracy"], e1.best_epoch, e1.epoch) == (0.7, 2, 7)
    assert e1.latest["val/accuracy"] == 0.65


def test_a_line_of_a_newer_schema_stops_the_replay(tmp_path: Path) -> None:
    proj = GridSearchProjection("gs")
    with pytest.raises(NewerSchemaError, match="event schema 3"):
        apply_line(proj, _line(0, "evaluation_result", _scores(1, "val", 0.5), schema_version=3).encode(), -1)


def test_directions_declared_after_scores_rule_the_scores_after_them(tmp_path: Path) -> None:
    """Directions are remembered per experiment; a warm start's new `score_directions` (the grid's or the
    experiment's own) must rule the scores that follow."""
    started = {"strategy": "grid_search", "selection": {"split": "val", "metric": "mae"}}
    lines = [
        _line(0, "grid_search_started", started, None),
        _line(1, "evaluation_result", {"epoch": 1, "split": "val", "metric_scores": [
            {"metric": "mae", "split": "val", "score": 0.5}], "loss_scores": []}),
        _line(2, "grid_search_started", {**started, "score_directions": {"mae": "min"}, "warm_start": True}, None),
        _line(3, "evaluation_result", {"epoch": 2, "split": "val", "metric_scores": [
            {"metric": "mae", "split": "val", "score": 0.3}], "loss_scores": []}),
        _line(4, "evaluation_result", {"epoch": 1, "split": "val", "metric_scores": [
            {"metric": "mae", "split": "val", "score": 0.5}], "loss_scores": []}, "e2"),
        _line(5, "experiment_config", {"config": {}, "grid_point_id": "e2", "hyperparameters": {}, "num_epochs": 3,
                                       "seed": 0, "role": "train", "fold": None,
                                       "score_directions": {"mae": "max"}}, "e2"),
        _line(6, "evaluation_result", {"epoch": 2, "split": "val", "metric_scores": [
            {"metric": "mae", "split": "val", "score": 0.9}], "loss_scores": []}, "e2"),
    ]
    path = tmp_path / "dirs" / "event_storage.log"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    proj = assert_same(path)
    assert proj.views()["e1"].best["val/mae"] == 0.3  # a metric is maximised until mae is declared `min`
    assert proj.views()["e2"].best["val/mae"] == 0.9  # e2 declares its own: max
