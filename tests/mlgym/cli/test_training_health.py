"""Real training through the CLI: bf16 on the CPU, step-level progress events, the training-pass loss, non-finite
losses and alerts stopping jobs in real workers, malformed alert rules refused by `mlgym validate`."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from mlgym.events.event_log import read_events
from mlgym.events.results import project
from tests.conftest import CONFIGS, run_cli


def iris_config(tmp_path: Path, trainer: dict[str, Any], **optimizer: Any) -> Path:
    config = yaml.safe_load((CONFIGS / "iris_mlp.yml").read_text())
    config["optimizer"].update(optimizer.pop("node", {}))
    config["optimizer"]["config"].update(optimizer)
    config["trainer"]["config"] = trainer
    path = tmp_path / "gs_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def events_of(log_dir: Path) -> list[dict[str, Any]]:
    [log] = log_dir.glob("*/event_storage.log")
    return list(read_events(log))


def test_bf16_run_logs_step_progress_and_the_training_pass_loss(tmp_path: Path) -> None:
    config = iris_config(tmp_path, {"precision": "bf16-mixed", "log_every_n_steps": 4,
                                    "alerts": [{"when": "val/accuracy >= 0", "action": "warn"}]}, lr=0.01)
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "2", "--process_count", "1")
    assert result.returncode == 0, result.stderr
    events = events_of(tmp_path / "logs")
    steps = [e["payload"] for e in events if e["event_type"] == "training_progress"]
    # iris: 90 training samples in batches of 16 -> 6 steps per epoch; every 4th step and the last: ceil(6/4) = 2
    assert [(p["epoch"], p["step"], p["global_step"]) for p in steps] == [(1, 4, 4), (1, 6, 6), (2, 4, 10),
                                                                         (2, 6, 12)]
    assert all(p["num_steps"] == 6 and p["lr"] == 0.01 and p["samples_per_s"] > 0 and "skipped_steps" not in p
               and "max_memory_allocated" not in p for p in steps)
    train = [e["payload"] for e in events if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "train"]
    assert [p["source"] for p in train] == ["training_pass"] * 2 and all(p["metric_scores"] == [] for p in train)
    # the training pass's loss is the running mean at the epoch's last step
    assert [p["loss_scores"][0]["score"] for p in train] == [steps[1]["loss"], steps[3]["loss"]]
    assert all(math.isfinite(p["loss"]) for p in steps) and steps[3]["loss"] < steps[1]["loss"]
    splits = Counter(e["payload"]["split"] for e in events if e["event_type"] == "evaluation_result")
    assert splits == {"train": 2, "val": 2, "test": 2}  # no evaluation pass over the train split
    alerts = [e["payload"] for e in events if e["event_type"] == "alert"]
    assert [(a["epoch"], a["action"], a["key"]) for a in alerts] == [(1, "warn", "val/accuracy")]  # once: it held on
    assert f"ALERT {alerts[0]['message']}" in result.stderr
    [view] = project(events, events[0]["grid_search_id"]).views().values()
    assert view.latest["train/cross_entropy"] == steps[3]["loss"] and view.progress == 1.0
    assert view.step_progress["global_step"] == 12 and view.num_alerts == 1


def test_non_finite_loss_and_a_stop_alert_fail_their_jobs(tmp_path: Path) -> None:
    # lr 1e8: SGD diverges to NaN within the first epoch; Adam's steps are bounded by lr, so its loss is huge
    # (~3e16) but finite, and the stop alert ends it
    config = iris_config(tmp_path, {"alerts": [{"when": "train/cross_entropy > 1e6", "action": "stop"}]},
                         node={"variant_key": {"sweep": "absolute", "values": ["sgd", "adam"]}}, lr=1e8)
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "3", "--process_count", "1")
    assert result.returncode == 1
    events = events_of(tmp_path / "logs")
    failed = {e["payload"]["error"].split(":")[1].strip().split(" ")[0]: e for e in events
              if e["event_type"] == "job_status" and e["payload"]["status"] == "failed"}
    assert set(failed) == {"non-finite", "stopped"}
    assert failed["non-finite"]["payload"]["error"].startswith("TrainingStopped: non-finite loss at epoch 1 step ")
    assert failed["stopped"]["payload"]["error"].startswith(
        "TrainingStopped: stopped by alert 'train/cross_entropy > 1e6' (stop): train/cross_entropy = ")
    [alert] = [e for e in events if e["event_type"] == "alert"]
    assert alert["payload"]["action"] == "stop" and alert["payload"]["value"] > 1e6
    assert alert["experiment_id"] == failed["stopped"]["experiment_id"]
    assert "non-finite loss at epoch 1" in result.stderr and "ALERT alert 'train/cross_entropy > 1e6'" in result.stderr


def test_malformed_alert_is_refused_by_validate_with_its_line(tmp_path: Path) -> None:
    config = iris_config(tmp_path, {"alerts": [{"when": "val/loss >> 10", "action": "stop"}]})
    line = next(i for i, text in enumerate(config.read_text().splitlines(), 1) if "when:" in text)
    result = run_cli("validate", "--gs_config_path", str(config))
    assert result.returncode == 2
    assert (f"config error: {config}:{line}:" in result.stderr and "at 'trainer.config.alerts.0.when': trainer/default: "
            "cannot read when: 'val/loss >> 10'; expected '<split>/<name> <op> <number>'" in result.stderr)
