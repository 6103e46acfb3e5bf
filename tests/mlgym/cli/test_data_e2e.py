"""The real CLI with real workers: an image folder loaded by 2 loader workers inside a pool worker process gives
exactly the scores of in-process loading, and every data loader option is accepted end to end."""
from __future__ import annotations

from pathlib import Path

from mlgym.events.config_overrides import experiment_configs
from mlgym.events.event_log import read_events
from tests.conftest import run_cli
from tests.mlgym.components.test_image_folder import make_folder

CONFIG = """\
dataset:
  component_type_key: dataset
  variant_key: image_folder
  config: {{root: "{root}", image_size: 8, mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], horizontal_flip: 0.5}}
splits:
  component_type_key: splitter
  variant_key: stratified
  requirements: [{{name: dataset, component_name: dataset}}]
  config: {{ratios: {{train: 0.5, val: 0.5}}, seed: 0}}
data_loaders:
  component_type_key: data_loader
  variant_key: default
  requirements: [{{name: splits, component_name: splits}}]
  config: {{batch_size: 4, seed: 0, num_workers: {{sweep: absolute, values: [0, 2]}}, pin_memory: true}}
model:
  component_type_key: model
  variant_key: conv_net
  config: {{in_channels: 3, image_size: 8, num_classes: 3, channels: [4], hidden_dim: 8}}
loss: {{component_type_key: loss, variant_key: cross_entropy}}
metrics:
  component_type_key: metrics
  variant_key: default
  config: {{metrics: [accuracy, {{name: f1, average: macro}}, auroc, {{name: top_k_accuracy, k: 2}}]}}
optimizer:
  component_type_key: optimizer
  variant_key: adam
  requirements: [{{name: model, component_name: model}}]
  config: {{lr: 0.01}}
checkpointing: {{component_type_key: checkpointing, variant_key: none}}
trainer:
  component_type_key: trainer
  variant_key: default
  requirements:
    - {{name: model, component_name: model}}
    - {{name: optimizer, component_name: optimizer}}
    - {{name: loss, component_name: loss}}
    - {{name: data_loaders, component_name: data_loaders}}
evaluator:
  component_type_key: evaluator
  variant_key: default
  requirements:
    - {{name: model, component_name: model}}
    - {{name: loss, component_name: loss}}
    - {{name: metrics, component_name: metrics}}
    - {{name: data_loaders, component_name: data_loaders}}
"""


def test_image_folder_with_two_loader_workers_in_a_pool_worker_equals_in_process(tmp_path: Path) -> None:
    config = tmp_path / "gs_config.yml"
    config.write_text(CONFIG.format(root=make_folder(tmp_path / "images")))
    result = run_cli("train", "--gs_config_path", str(config), "--log_dir", str(tmp_path / "logs"),
                     "--num_epochs", "2", "--environment", "multiprocessing", "--process_count", "1")
    assert result.returncode == 0, result.stderr
    events = list(read_events(next((tmp_path / "logs").glob("*/event_storage.log"))))
    workers_of = {eid: config["data_loaders"]["config"]["num_workers"]
                  for eid, config in experiment_configs(events).items()}
    scores: dict[int, list] = {0: [], 2: []}
    for e in events:
        if e["event_type"] == "evaluation_result":
            p = e["payload"]
            scores[workers_of[e["experiment_id"]]].append(
                (p["epoch"], p["split"], [(s["metric"], s["score"]) for s in p["metric_scores"]],
                 [(s["loss"], s["score"]) for s in p["loss_scores"]]))
    assert len(scores[0]) == 4 and scores[0] == scores[2]
    first_val = next(s for s in scores[0] if s[1] == "val")  # the train split's loss comes from the training pass
    assert [m for m, _ in first_val[2]] == ["accuracy", "f1_macro", "auroc", "top_k_accuracy_2"]
