"""Configs written once per base plus overrides (event schema 2), and logs of schema 1 (the whole config each time)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlgym.events.config_overrides import (ConfigCompactor, apply_overrides, config_id, experiment_configs,
                                           overrides_between, resolved_config)
from mlgym.events.event_log import EventLog, read_events
from mlgym.events.event_log import encode as encode_line
from mlgym.events.payloads import PayloadError
from mlgym.events.results import project
from mlgym.events.snapshot import decode, encode

BASE = {"model": {"component_type_key": "model", "variant_key": "mlp",
                  "config": {"hidden_dims": [16], "dropout": 0.1, "act": "relu"}},
        "optimizer": {"component_type_key": "optimizer", "variant_key": "adam", "config": {"lr": 0.01}},
        "metrics": {"config": {"metrics": [{"name": "f1", "average": "macro"}]}}}


def _with(path: str, value: object) -> dict:
    config = json.loads(json.dumps(BASE))
    *parents, last = path.split(".")
    node = config
    for part in parents:
        node = node[part]
    node[last] = value
    return config


@pytest.mark.parametrize("config, overrides", [
    pytest.param(BASE, {}, id="same config"),
    pytest.param(_with("optimizer.config.lr", 0.1), {"optimizer.config.lr": 0.1}, id="a swept float"),
    pytest.param(_with("model.config.hidden_dims", [8, 8]), {"model.config.hidden_dims": [8, 8]}, id="a list whole"),
    pytest.param(_with("metrics.config.metrics", [{"name": "f1", "average": "micro"}]),
                 {"metrics.config.metrics": [{"name": "f1", "average": "micro"}]}, id="a list of mappings whole"),
    pytest.param(_with("optimizer.config.lr", 1), {"optimizer.config.lr": 1}, id="1 is not 1.0"),
    pytest.param(_with("model.config.act", True), {"model.config.act": True}, id="a change of type"),
    pytest.param(_with("optimizer.config", {"lr": 0.01, "eps": 1e-8}), {"optimizer.config": {"lr": 0.01, "eps": 1e-8}},
                 id="an added key replaces its mapping"),
    pytest.param(_with("optimizer.config", {}), {"optimizer.config": {}}, id="a removed key replaces its mapping"),
    pytest.param(_with("model.config", {"act": "relu", "dropout": 0.1, "hidden_dims": [16]}),
                 {"model.config": {"act": "relu", "dropout": 0.1, "hidden_dims": [16]}}, id="another key order"),
    pytest.param(_with("optimizer.config", {"a.b": 1, "lr": 0.01}), {"optimizer.config": {"a.b": 1, "lr": 0.01}},
                 id="a key with a dot is never part of a path"),
])
def test_overrides_rebuild_the_config_exactly(config: dict, overrides: dict) -> None:
    assert overrides_between(BASE, config) == overrides
    rebuilt = apply_overrides(BASE, overrides)
    assert json.dumps(rebuilt) == json.dumps(config)  # order and types too
    assert json.dumps(BASE) == json.dumps(_with("optimizer.config.lr", 0.01))  # the base is left alone


def test_configs_that_differ_at_the_top_need_a_base_of_their_own() -> None:
    assert overrides_between(BASE, {**BASE, "extra": {}}) is None
    assert overrides_between(BASE, {"optimizer": BASE["optimizer"]}) is None


def test_a_base_is_named_by_its_content_whatever_the_key_order() -> None:
    assert config_id({"a": 1, "b": [1, 2]}) == config_id({"b": [1, 2], "a": 1}) != config_id({"a": 1.0, "b": [1, 2]})
    assert len(config_id(BASE)) == 16


def _payload(config: dict, gp: str) -> dict:
    return {"config": config, "grid_point_id": gp, "hyperparameters": {}, "num_epochs": 2, "seed": 0,
            "role": "train", "fold": None}


def test_the_log_holds_one_base_and_each_experiments_overrides(tmp_path: Path) -> None:
    configs = {f"e{i}": _with("optimizer.config.lr", 0.01 * (i + 1)) for i in range(5)}
    configs["far"] = {"other": {"config": {"x": 1}}}  # nothing in common with the base: a base of its own
    configs["back"] = _with("optimizer.config.lr", 0.5)  # other top-level keys than the newest base's: a base again
    with EventLog(tmp_path, "gs") as log:
        seen = []
        log.add_listener(lambda e: seen.append(e["event_type"]))
        for eid, config in configs.items():
            returned = log.append("experiment_config", _payload(config, eid), eid)
            assert returned["event_type"] == "experiment_config"
    events = list(read_events(log.path))
    assert [e["event_type"] for e in events] == seen == (
        ["config_base"] + ["experiment_config"] * 5 + ["config_base", "experiment_config"] * 2)
    assert [e["seq"] for e in events] == list(range(len(events)))
    first, second = events[1]["payload"], events[2]["payload"]
    assert "config" not in first and "config_overrides" not in first
    assert first["config_base"] == second["config_base"] == events[0]["payload"]["config_id"]
    assert first["config_base"] == config_id(configs["e0"])
    assert second["config_overrides"] == {"optimizer.config.lr": 0.02}
    assert experiment_configs(events) == configs
    proj = project(events, "gs")
    assert {eid: proj.experiment(eid)["config"] for eid in configs} == configs
    lines = log.path.read_bytes().splitlines()[2:6]
    whole = [len(encode_line({**e, "payload": {**e["payload"], "config": configs[e["experiment_id"]]}}))
             for e in events[2:6]]
    config_size = len(encode_line(BASE))
    # each line is smaller than it would be with its whole config by all of the config but its swept value
    assert all(len(line) < size - 0.8 * config_size for line, size in zip(lines, whole))


def test_a_config_whose_overrides_would_be_larger_than_itself_is_a_new_base() -> None:
    compactor = ConfigCompactor()
    deep = {"xxxxxxxx": {"yyyyyyyy": {"d": 1, "e": 1}}}
    assert compactor.compact(_payload(deep, "a"))[0] == {"config_id": config_id(deep), "config": deep}
    near = {"xxxxxxxx": {"yyyyyyyy": {"d": 2, "e": 1}}}
    rest = {k: v for k, v in _payload(near, "b").items() if k != "config"}
    assert compactor.compact(_payload(near, "b")) == (None, {**rest, "config_base": config_id(deep),
                                                            "config_overrides": {"xxxxxxxx.yyyyyyyy.d": 2}})
    far = {"xxxxxxxx": {"yyyyyyyy": {"d": 2, "e": 2}}}  # {"xxxxxxxx.yyyyyyyy.d":2,"xxxxxxxx.yyyyyyyy.e":2}
    base, payload = compactor.compact(_payload(far, "c"))
    assert base == {"config_id": config_id(far), "config": far} and "config_overrides" not in payload


def _old_form_log(path: Path, configs: dict[str, dict]) -> None:
    """A log of event schema 1, as written before config bases: the whole config in every experiment_config."""
    lines = []
    for seq, (eid, config) in enumerate(configs.items()):
        lines.append(json.dumps({"seq": seq, "event_type": "experiment_config", "creation_ts": 1.0 + seq,
                                 "grid_search_id": "old", "experiment_id": eid, "payload": _payload(config, eid),
                                 "schema_version": 1}))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def test_a_schema_1_log_with_whole_configs_is_still_read(tmp_path: Path) -> None:
    configs = {"a": BASE, "b": _with("optimizer.config.lr", 0.3)}
    path = tmp_path / "old" / "event_storage.log"
    _old_form_log(path, configs)
    events = list(read_events(path))
    assert experiment_configs(events) == configs
    proj = project(events, "old")
    assert proj.experiment("b")["config"] == configs["b"]
    _, restored = decode(encode(proj, 1, path.stat().st_size, path.read_bytes().splitlines(True)[-1]))
    assert restored.experiment("b")["config"] == configs["b"]
    # a warm start writes schema 2 after the old lines: its writer logs a base first, readers read both forms
    with EventLog(tmp_path, "old") as log:
        log.append("experiment_config", _payload(_with("optimizer.config.lr", 0.7), "c"), "c")
    events = list(read_events(path))
    assert [e["event_type"] for e in events[2:]] == ["config_base", "experiment_config"]
    assert experiment_configs(events)["c"] == _with("optimizer.config.lr", 0.7)
    assert project(events, "old").experiment("a")["config"] == BASE


def test_a_snapshot_keeps_the_bases(tmp_path: Path) -> None:
    with EventLog(tmp_path, "gs") as log:
        for i in range(3):
            log.append("experiment_config", _payload(_with("optimizer.config.lr", float(i)), f"e{i}"), f"e{i}")
    lines = log.path.read_bytes().splitlines(True)
    _, restored = decode(encode(project(read_events(log.path), "gs"), 3, len(b"".join(lines)), lines[-1]))
    assert restored.experiment("e2")["config"] == _with("optimizer.config.lr", 2.0)


ONE_WAY = ("experiment_config payload: exactly one of `config` (a whole config) and `config_base` (a "
           "config_base's id, with `config_overrides`) must be given")


@pytest.mark.parametrize("change", [
    pytest.param({"config": None}, id="neither"),
    pytest.param({"config_base": "0" * 16}, id="both"),
])
def test_an_experiment_config_names_its_config_one_way(tmp_path: Path, change: dict) -> None:
    payload = {k: v for k, v in {**_payload({}, "e"), **change}.items() if k != "config" or v is not None}
    with EventLog(tmp_path, "gs") as log, pytest.raises(PayloadError) as caught:
        log.append("experiment_config", payload, "e")
    assert str(caught.value) == ONE_WAY


def test_a_foreign_experiment_config_rebuilds_to_nothing_rather_than_failing() -> None:
    bases = {"b": {"a": {"x": 1}}}
    assert resolved_config({"config_base": "missing"}, bases) is None
    assert resolved_config({"config_base": "b", "config_overrides": ["a.x"]}, bases) is None
    assert resolved_config({"config_base": "b", "config_overrides": {"a.x.y": 2}}, bases) == {"a": {"x": {"y": 2}}}
