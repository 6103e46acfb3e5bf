"""The dashboard shows step-level training: the loss curve over optimizer steps (every point kept in the model, a
long curve downsampled for drawing), a progress bar that moves inside an epoch, and alerts (badge, list, page)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.ml_board.dashboard_helpers import CHROMIUM, chromium_page, running_board, screenshot, write_store

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(),
                                reason=f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does)")

GS = "2026-12-03--10-00-00-step"
LONG_STEPS = 3000  # E1 reports every step of 3 epochs of 1000 steps


def step_loss(g: int) -> float:
    return round(2.0 * math.exp(-g / 800) + 0.05 * math.sin(g / 7) + (1.5 if g == 1234 else 0.0), 6)


def events() -> Iterator[tuple[str, dict[str, Any], str | None]]:
    yield ("grid_search_started", {
        "strategy": "grid_search", "num_experiments": 2, "gs_config": {}, "gs_config_path": "/tmp/gs.yml",
        "gs_config_sha256": "0" * 64, "run_config": {}, "validation_config": None, "sweep_paths": [],
        "environment": {}, "seed": 0, "num_epochs": 4, "selection": {"split": "val", "metric": "accuracy"},
        "score_directions": {"accuracy": "max", "cross_entropy": "min"}}, None)
    for exp in ("E1", "E2"):
        yield ("experiment_config", {"config": {}, "grid_point_id": exp, "hyperparameters": {}, "num_epochs": 4,
                                     "seed": 0, "role": "train", "fold": None}, exp)
        yield ("job_scheduled", {"job_id": exp, "depends_on": [], "attempt": 0}, exp)
    yield ("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, "E1")
    for epoch in (1, 2, 3):
        yield ("experiment_status", {"status": "training", "epoch": epoch, "num_epochs": 4}, "E1")
        for step in range(1, 1001):
            g = (epoch - 1) * 1000 + step
            yield ("training_progress", {"epoch": epoch, "step": step, "num_steps": 1000, "global_step": g,
                                         "loss": step_loss(g), "lr": 0.01, "samples_per_s": 500.0}, "E1")
        yield ("evaluation_result", {"epoch": epoch, "split": "train", "metric_scores": [], "source": "training_pass",
                                     "loss_scores": [{"loss": "cross_entropy", "split": "train",
                                                      "score": step_loss(epoch * 1000)}]}, "E1")
        yield ("evaluation_result", {"epoch": epoch, "split": "val", "loss_scores": [],
                                     "metric_scores": [{"metric": "accuracy", "split": "val",
                                                        "score": 0.5 + 0.1 * epoch}]}, "E1")
    yield ("alert", {"when": "val/accuracy > 0.75", "action": "warn", "key": "val/accuracy", "value": 0.8, "epoch": 3,
                     "message": "alert 'val/accuracy > 0.75' (warn): val/accuracy = 0.8 at epoch 3"}, "E1")
    yield ("experiment_status", {"status": "training", "epoch": 4, "num_epochs": 4}, "E1")
    yield ("training_progress", {"epoch": 4, "step": 250, "num_steps": 1000, "global_step": 3250, "loss": 0.2,
                                 "lr": 0.001, "samples_per_s": 480.0, "skipped_steps": 3}, "E1")
    # E2 reports every 50th step of epoch 1, then a stop alert fails it
    yield ("job_status", {"status": "running", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0}, "E2")
    for step in range(50, 201, 50):
        yield ("training_progress", {"epoch": 1, "step": step, "num_steps": 200, "global_step": step,
                                     "loss": 5.0 + step, "lr": 0.1, "samples_per_s": 400.0}, "E2")
    yield ("evaluation_result", {"epoch": 1, "split": "train", "metric_scores": [], "source": "training_pass",
                                 "loss_scores": [{"loss": "cross_entropy", "split": "train", "score": 205.0}]}, "E2")
    message = "alert 'train/cross_entropy > 100' (stop): train/cross_entropy = 205 at epoch 1"
    yield ("alert", {"when": "train/cross_entropy > 100", "action": "stop", "key": "train/cross_entropy",
                     "value": 205.0, "epoch": 1, "message": message}, "E2")
    yield ("job_status", {"status": "failed", "device": "cpu", "worker": 0, "pid": 1, "attempt": 0,
                          "error": f"TrainingStopped: stopped by {message}", "duration_s": 1.0}, "E2")


def test_step_curve_progress_inside_an_epoch_and_alerts(tmp_path: Path) -> None:
    store = tmp_path / "store"
    write_store(store, GS, events())
    with chromium_page() as page, running_board(store) as url:
        page.goto(f"{url}/#/gs/{GS}")
        page.wait_for_selector(".run[data-state=ready]", timeout=20000)
        page.wait_for_selector("#steps-card:not([hidden]) .chart-card[data-key=steps]")
        drawn = page.evaluate("window.mlboard.view.stepPoints()")
        assert drawn["E2"] == [[s, 5.0 + s] for s in range(50, 201, 50)]  # a short curve is drawn as logged
        long = drawn["E1"]
        assert 100 < len(long) <= 1000 and long == sorted(long)  # downsampled for display ...
        exact = [[g, step_loss(g)] for g in range(1, LONG_STEPS + 1)] + [[3250, 0.2]]
        assert all(p in exact for p in long) and [1234, step_loss(1234)] in long  # ... keeping the spike
        kept = page.evaluate("(() => { const e = window.mlboard.view.model.experiments.get('E1');"
                             " return [e.steps.x.length, e.steps.loss[1233]]; })()")
        assert kept == [LONG_STEPS + 1, step_loss(1234)]  # ... while the model keeps every point
        width = page.eval_on_selector('tr[data-exp="E1"] .progress i', "el => el.style.width")
        assert width == f"{(3 + 250 / 1000) / 4 * 100:.0f}%"  # 81%: inside epoch 4
        assert "epoch 4/4 · step 250/1000" in page.inner_text('tr[data-exp="E1"]')
        assert page.inner_text('tr[data-exp="E1"] .alert-badge').strip() == "⚠ 1"
        assert page.inner_text('tr[data-exp="E2"] .alert-badge').strip() == "⚠ 1"
        assert page.inner_text(".c-alert b").strip() == "2"
        listed = page.inner_text("#alerts")
        assert message_order(listed) == ["E2", "E1"]  # newest first
        assert "(stop): train/cross_entropy = 205 at epoch 1" in listed
        screenshot(page, "dashboard-steps-alerts")
        page.goto(f"{url}/#/gs/{GS}/exp/E1")
        page.wait_for_selector(".experiment[data-state=ready]")
        assert page.inner_text("#exp-progress").strip() == "81%"
        assert "epoch 4 · step 250/1000 · loss 0.2" in page.inner_text("#exp-step")
        assert "3 skipped" in page.inner_text("#exp-step")
        assert "val/accuracy > 0.75" in page.inner_text("#exp-alerts")
        assert page.errors == [], page.errors


def message_order(text: str) -> list[str]:
    return [line.split()[0] for line in text.splitlines()[1:] if line.strip()]
