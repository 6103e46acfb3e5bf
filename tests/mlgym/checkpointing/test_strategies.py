"""Checkpoint strategies through a real job (run in this process): which checkpoints stay on disk, and the events
that say so."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from mlgym.run import ExecutionSettings, RunRequest, start
from tests.conftest import CONFIGS


def run_in_process(tmp_path: Path, num_epochs: int, *overrides: str) -> Path:
    """Train iris_mlp.yml (one learning rate, a `config` under checkpointing) in this process; its event log."""
    config = tmp_path / "gs.yml"
    text = (CONFIGS / "iris_mlp.yml").read_text().replace("lr: {sweep: absolute, values: [0.01, 0.05]}", "lr: 0.01")
    config.write_text(text.replace("  variant_key: last\n", "  variant_key: last\n  config: {}\n"))
    outcome = start(RunRequest(gs_config_path=config, log_dir=tmp_path / "logs", num_epochs=num_epochs,
                               overrides=overrides, execution=ExecutionSettings(kind="main_process")))
    assert outcome.status == "done", outcome.results
    return outcome.log_path


# iris: 90 training rows in batches of 16 = 6 optimizer steps per epoch, 30 in 5 epochs
@pytest.mark.parametrize("variant, config, kept", [
    ("none", "{}", []),
    ("last", "{}", ["epoch_5.pt"]),
    ("every", "{every_n_epochs: 2}", ["epoch_2.pt", "epoch_4.pt", "epoch_5.pt"]),
    ("last_k", "{k: 2}", ["epoch_4.pt", "epoch_5.pt"]),
    ("every_n_steps", "{n: 4, keep: 2}", ["epoch_5_step_4.pt", "epoch_5.pt"]),
], ids=["none", "last", "every-2", "last-2", "every-4-steps"])
def test_strategy_keeps_the_right_checkpoints(tmp_path: Path, variant: str, config: str, kept: list[str]) -> None:
    log = run_in_process(tmp_path, 5, f"checkpointing.variant_key={variant}", f"checkpointing.config={config}")
    def order(name: str) -> tuple:
        parts = name[len("epoch_"):-len(".pt")].split("_step_")
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 1 << 30
    on_disk = sorted((p.name for p in log.parent.glob("checkpoints/*/epoch_*.pt")), key=order)
    assert on_disk == kept
    events = [e["payload"] for e in read_events(log) if e["event_type"] == "checkpoint"]
    saved = {p["path"].rsplit("/", 1)[1] for p in events if p["action"] == "saved"}
    deleted = {p["path"].rsplit("/", 1)[1] for p in events if p["action"] == "deleted"}
    assert saved - deleted == set(kept)
    assert all(p["sha256"] and p["bytes"] > 0 for p in events if p["action"] == "saved")
    assert all(p.get("step") == (int(p["path"].split("_step_")[1][:-3]) if "_step_" in p["path"] else None)
               for p in events)
    saved_seq = {e["payload"]["path"]: e["seq"] for e in read_events(log)
                 if e["event_type"] == "checkpoint" and e["payload"]["action"] == "saved"}
    markers = sorted(log.parent.glob("checkpoints/*/epoch_*.pt.seq"))
    assert len(markers) == len(kept)
    for marker in markers:
        relative = str(marker.relative_to(log.parent))[:-len(".seq")]
        assert int(marker.read_text()) == saved_seq[relative]


def test_best_keeps_the_best_and_the_newest(tmp_path: Path) -> None:
    log = run_in_process(tmp_path, 6, "optimizer.config.lr=0.05", "checkpointing.variant_key=best",
                         "checkpointing.config={split: val, metric: cross_entropy, mode: min}")
    losses = {e["payload"]["epoch"]: e["payload"]["loss_scores"][0]["score"] for e in read_events(log)
              if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"}
    best = min(losses, key=losses.get)
    on_disk = {int(p.name[len("epoch_"):-3]) for p in log.parent.glob("checkpoints/*/epoch_*.pt")}
    assert on_disk == {best, 6}
