"""example/image_folder end to end: its run.py draws the image folder on the first run, then trains the example's
ResNet on it in a pool worker with 2 loader workers, bf16 autocast, step events and step checkpoints; the drawing
is deterministic."""
from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

import numpy as np

from mlgym.events.config_overrides import experiment_configs
from mlgym.events.event_log import read_events
from tests.conftest import EXAMPLES, run_cli

EXAMPLE = EXAMPLES / "image_folder"
CLASSES = ["circle", "cross", "ring", "square", "star", "triangle"]


def load_shapes():
    spec = importlib.util.spec_from_file_location("image_folder_example_shapes", EXAMPLE / "shapes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_run_py_generates_the_folder_then_trains_above_chance(tmp_path: Path) -> None:
    example = tmp_path / "image_folder"  # a fresh copy: its data/ does not exist yet
    shutil.copytree(EXAMPLE, example, ignore=shutil.ignore_patterns("data", "__pycache__"))
    result = run_cli("train", "--gs_config_path", "gs_config.yml", "--num_epochs", "2", "--process_count", "1",
                     "--log_dir", str(tmp_path / "logs"), "-c", "optimizer.config.lr=0.003",
                     cwd=example, script=example / "run.py", timeout=180)
    assert result.returncode == 0, result.stderr
    data = example / "data" / "shapes"
    assert f"wrote the image folder {data}" in result.stdout
    assert sorted(p.name for p in data.iterdir() if p.is_dir()) == CLASSES
    assert [len(list((data / c).glob("*.png"))) for c in CLASSES] == [500] * 6
    assert not [p for p in data.parent.iterdir() if p.name != "shapes"]  # no temporary folder left behind

    events = list(read_events(next((tmp_path / "logs").glob("*/event_storage.log"))))
    config = next(iter(experiment_configs(events).values()))
    assert config["trainer"]["config"]["precision"] == "bf16-mixed"
    assert config["data_loaders"]["config"]["num_workers"] == 2
    progress = [e["payload"] for e in events if e["event_type"] == "training_progress"]
    # 2100 training images in batches of 32: 66 steps an epoch, reported every 10 steps and at the last one
    assert [(p["epoch"], p["step"]) for p in progress] == [(e, s) for e in (1, 2) for s in (10, 20, 30, 40, 50, 60, 66)]
    assert all(p["num_steps"] == 66 and p["samples_per_s"] > 0 and p["loss"] > 0 for p in progress)
    saved = [(e["payload"]["epoch"], e["payload"].get("step")) for e in events
             if e["event_type"] == "checkpoint" and e["payload"]["action"] == "saved"]
    # a step checkpoint every 20 optimizer steps of the run (66 an epoch) and one at the last epoch's end
    assert saved == [(1, 20), (1, 40), (1, 60), (2, 14), (2, 34), (2, 54), (2, None)]
    assert [e["payload"]["status"] for e in events if e["event_type"] == "job_status"] == ["running", "done"]
    assert events[-1]["event_type"] == "grid_search_finished" and events[-1]["payload"]["status"] == "done"
    scores = {(e["payload"]["epoch"], s["split"], s["metric"]): s["score"] for e in events
              if e["event_type"] == "evaluation_result" for s in e["payload"]["metric_scores"]}
    assert set(scores) == {(epoch, split, metric) for epoch in (1, 2) for split in ("val", "test")
                           for metric in ("accuracy", "f1_macro")}
    assert scores[(2, "val", "accuracy")] > 0.35 and scores[(2, "test", "accuracy")] > 0.35  # chance: 1/6


def test_the_drawing_is_the_same_everywhere_and_written_once(tmp_path: Path) -> None:
    shapes = load_shapes()
    pixels = b"".join(np.asarray(shapes.draw(name, np.random.default_rng([shapes.SEED, c, 0]))).tobytes()
                      for c, name in enumerate(shapes.CLASSES))
    assert hashlib.sha256(pixels).hexdigest() == PIXELS_SHA256
    root = tmp_path / "data" / "shapes"
    assert shapes.ensure_shapes(root, per_class=2) is True
    assert shapes.ensure_shapes(root, per_class=2) is False  # already there: left alone
    assert sorted(p.name for p in root.iterdir()) == sorted([*CLASSES, "manifest.json"])
    assert sorted(p.name for p in root.parent.iterdir()) == ["shapes"]


PIXELS_SHA256 = "6c75512d020dbf4bc0ede2deee3d4f21837edef78a1ea70bd598e658ee320174"  # 6 images, one of each shape
