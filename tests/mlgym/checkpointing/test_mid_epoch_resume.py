"""Mid-epoch checkpoints: a run killed -9 inside an epoch resumes (warm start) from its last step checkpoint and
ends bit-identical to a run never interrupted; the resumed loader skips the consumed batches without loading them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mlgym.components.data_loaders import default_data_loaders
from mlgym.components.datasets import ArrayDataset
from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS, run_cli
from tests.mlgym.checkpointing.crash_dataset import CrashingDigits

CONFIG = CONFIGS / "digits_step_checkpoints.yml"
EPOCHS = "3"
FETCHES_PER_EPOCH = 1797  # every digit once: 1078 training rows, then val and test (no workers, no fast path)


def scores_by_epoch(log: Path) -> dict[tuple, tuple]:
    """(epoch, split, source) -> scores, the last event winning (a resumed epoch is logged again)."""
    found = {}
    for e in read_events(log):
        if e["event_type"] == "evaluation_result":
            p = e["payload"]
            found[(p["epoch"], p["split"], p.get("source"))] = (
                tuple((s["metric"], s["score"]) for s in p["metric_scores"]),
                tuple((s["loss"], s["score"]) for s in p["loss_scores"]))
    return found


def the_log(log_dir: Path) -> Path:
    logs = list(log_dir.glob("*/event_storage.log"))
    assert len(logs) == 1, logs
    return logs[0]


def test_killed_mid_epoch_resumes_from_the_step_checkpoint_bit_identical(tmp_path: Path) -> None:
    reference_dir, crashed_dir, marker = tmp_path / "reference", tmp_path / "crashed", tmp_path / "killed"
    train = ("train", "--gs_config_path", str(CONFIG), "--num_epochs", EPOCHS, "--process_count", "1")
    result = run_cli(*train, "--log_dir", str(reference_dir))
    assert result.returncode == 0, result.stderr
    reference = scores_by_epoch(the_log(reference_dir))
    assert len(reference) == int(EPOCHS) * 3

    crash_at = FETCHES_PER_EPOCH + 600  # epoch 2, 600 training items in: step 19 of 34
    process = subprocess.run([sys.executable, "-m", "mlgym.cli.main", *train, "--log_dir", str(crashed_dir),
                              "-c", f"dataset.config.crash_at={crash_at}", "-c", f"dataset.config.marker={marker}"],
                             capture_output=True, text=True, timeout=300, start_new_session=True)
    assert process.returncode == -9 and marker.exists(), process.stderr
    log = the_log(crashed_dir)
    assert max(p["epoch"] for p in (e["payload"] for e in read_events(log))
               if "epoch" in p and isinstance(p["epoch"], int)) == 2

    result = run_cli("warmstart", "--grid_search_id", log.parent.name, "--log_dir", str(crashed_dir),
                     "--process_count", "1")
    assert result.returncode == 0, result.stderr
    events = list(read_events(log))
    restored = [e["payload"] for e in events if e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored"]
    assert len(restored) == 1 and restored[0]["epoch"] == 2 and restored[0]["step"] is not None, restored
    assert restored[0]["path"].endswith(f"epoch_2_step_{restored[0]['step']}.pt")
    assert 1 <= restored[0]["step"] < 19
    assert scores_by_epoch(log) == reference
    at = next(i for i, e in enumerate(events) if e["event_type"] == "checkpoint" and e["payload"]["action"] == "restored")
    resumed = [e["payload"]["step"] for e in events[at:] if e["event_type"] == "training_progress"
               and e["payload"]["epoch"] == 2]
    assert resumed and resumed[0] > restored[0]["step"], "the resumed epoch started again from step 1"
    assert [e["seq"] for e in events] == list(range(len(events)))


class CountingRows(ArrayDataset):
    """Tensor rows that record which rows were fetched (the plain per-item loader path)."""

    fetched: list[int] = []

    def __getitem__(self, index: int):
        CountingRows.fetched.append(int(index))
        return self.features[index], self.targets[index]


@pytest.mark.parametrize("workers", [
    {},
    {"num_workers": 2},
    {"num_workers": 2, "persistent_workers": True},
], ids=["in_process", "two_workers", "persistent_workers"])
def test_a_loader_told_to_skip_yields_the_rest_of_the_same_epoch_and_loads_nothing_before(workers: dict) -> None:
    from mlgym.components.data_loaders import make_loader
    data = ArrayDataset(torch.arange(100, dtype=torch.float32).reshape(50, 2), torch.arange(50))
    loader = default_data_loaders({"train": data}, batch_size=4, seed=3, **workers)["train"]
    loader.epoch = 2
    full = [y.tolist() for _, y in loader]
    loader.skip_next(5)
    rest = [y.tolist() for _, y in loader]
    assert rest == full[5:]
    assert [y.tolist() for _, y in loader] == full, "the skip applies to one iteration only"

    CountingRows.fetched = []
    counting = CountingRows(data.features, data.targets)
    plain = make_loader(counting, None, batch_size=4, shuffle=True, seed=3, drop_last=False)
    plain.epoch = 2
    order = [y.tolist() for _, y in plain]
    CountingRows.fetched = []
    plain.skip_next(5)
    assert [y.tolist() for _, y in plain] == order[5:]
    assert sorted(CountingRows.fetched) == sorted(i for batch in order[5:] for i in batch)


def test_crashing_digits_is_digits() -> None:
    data = CrashingDigits()
    assert len(data) == 1797 and data[0][1] == 0
