"""Checkpoint strategies through a real job: which epochs stay on disk, and the events that say so."""
from __future__ import annotations

from pathlib import Path

import pytest

from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli


@pytest.mark.parametrize("variant, extra, kept", [
    ("none", [], []),
    ("last", [], [5]),
    ("every", ["-c", "checkpointing.config={every_n_epochs: 2}"], [2, 4, 5]),
    ("last_k", ["-c", "checkpointing.config={k: 2}"], [4, 5]),
], ids=["none", "last", "every-2", "last-2"])
def test_strategy_keeps_the_right_epochs(tmp_path: Path, variant: str, extra: list[str], kept: list[int]) -> None:
    config = tmp_path / "gs.yml"
    text = (CONFIGS / "iris_mlp.yml").read_text().replace("lr: {sweep: absolute, values: [0.01, 0.05]}", "lr: 0.01")
    config.write_text(text.replace("  variant_key: last\n", f"  variant_key: {variant}\n  config: {{}}\n"))
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"), "--num_epochs",
                     "5", "--environment", "main_process", *extra)
    assert result.returncode == 0, result.stderr
    log = next((tmp_path / "logs").glob("*/event_storage.log"))
    on_disk = sorted(int(p.name[len("epoch_"):-3]) for p in log.parent.glob("checkpoints/*/epoch_*.pt"))
    assert on_disk == kept
    events = [e["payload"] for e in read_events(log) if e["event_type"] == "checkpoint"]
    saved = {p["epoch"] for p in events if p["action"] == "saved"}
    deleted = {p["epoch"] for p in events if p["action"] == "deleted"}
    assert saved - deleted == set(kept)
    assert all(p["sha256"] and p["bytes"] > 0 for p in events if p["action"] == "saved")
    saved_seq = {e["payload"]["path"]: e["seq"] for e in read_events(log)
                 if e["event_type"] == "checkpoint" and e["payload"]["action"] == "saved"}
    markers = sorted(log.parent.glob("checkpoints/*/epoch_*.pt.seq"))
    assert len(markers) == len(kept)
    for marker in markers:
        relative = str(marker.relative_to(log.parent))[:-len(".seq")]
        assert int(marker.read_text()) == saved_seq[relative]


def test_best_keeps_the_best_and_the_newest(tmp_path: Path) -> None:
    config = tmp_path / "gs.yml"
    config.write_text((CONFIGS / "iris_mlp.yml").read_text().replace("  variant_key: last\n",
                                                                      "  variant_key: last\n  config: {}\n"))
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "6", "--environment", "main_process", "-c", "optimizer.config.lr=0.05",
                     "-c", "checkpointing.variant_key=best",
                     "-c", "checkpointing.config={split: val, metric: cross_entropy, mode: min}")
    assert result.returncode == 0, result.stderr
    log = next((tmp_path / "logs").glob("*/event_storage.log"))
    losses = {e["payload"]["epoch"]: e["payload"]["loss_scores"][0]["score"] for e in read_events(log)
              if e["event_type"] == "evaluation_result" and e["payload"]["split"] == "val"}
    best = min(losses, key=losses.get)
    on_disk = {int(p.name[len("epoch_"):-3]) for p in log.parent.glob("checkpoints/*/epoch_*.pt")}
    assert on_disk == {best, 6}
