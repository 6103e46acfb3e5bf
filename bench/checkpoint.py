"""Cost of checkpointing: the example ConvNet trained with a checkpoint every epoch vs none, side by side; and
with mid-epoch checkpoints every 50 optimizer steps (`every_n_steps`, which also saves at the last epoch's end) vs none.

Runs the example's gs_config (one grid point) in this process, alternating the settings, and prints
`checkpoint_overhead_ratio: X` = median of (time with `every` / time with `none`) and
`step_checkpoint_overhead_ratio: Y` = the same for `every_n_steps` with n = 50.

    .venv/bin/python bench/checkpoint.py [--repeats 5] [--epochs 8]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example" / "grid_search"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(EXAMPLE))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import components  # noqa: E402,F401  (the example's ConvNet and collator)
from mlgym.events.event_log import read_events  # noqa: E402
from paired import paired_medians  # noqa: E402
from mlgym.run import ExecutionSettings, RunRequest, start  # noqa: E402


STEP_CHECKPOINTS = """imports: [{example}]
checkpointing:
  component_type_key: checkpointing
  variant_key: every_n_steps
  config: {{n: 50}}
"""


def run(strategy: str, epochs: int, log_dir: Path) -> float:
    """Seconds per epoch of one experiment, from its first `training` event to its `done` (which waits for the
    last checkpoint write), so process start-up and config loading do not dilute the comparison. `strategy`: a
    checkpointing variant (`every_n_steps`: with n = 50)."""
    config = EXAMPLE / "gs_config.yml"
    overrides: tuple[str, ...] = (f"checkpointing.variant_key={strategy}",)
    if strategy == "every_n_steps":
        config = log_dir / "every_50_steps.yml"
        config.write_text(STEP_CHECKPOINTS.format(example=EXAMPLE / "gs_config.yml"))
        overrides = ()
    overrides = ("data_loaders.config.batch_size=32", "optimizer.config.lr=0.001", *overrides)
    outcome = start(RunRequest(gs_config_path=config, log_dir=log_dir, num_epochs=epochs,
                               overrides=overrides, execution=ExecutionSettings(kind="main_process")))
    assert outcome.status == "done", outcome.results
    events = [e for e in read_events(outcome.log_path) if e["event_type"] == "experiment_status"]
    first = next(e["creation_ts"] for e in events if e["payload"]["status"] == "training")
    done = next(e["creation_ts"] for e in events if e["payload"]["status"] == "done")
    return (done - first) / epochs


def compare(strategy: str, epochs: int, repeats: int) -> tuple[float, float, float]:
    """(median s/epoch with `strategy`, with none, median paired ratio), after one warm-up epoch."""
    with tempfile.TemporaryDirectory() as tmp:
        run(strategy, 1, Path(tmp))
        return paired_medians(lambda: run(strategy, epochs, Path(tmp)), lambda: run("none", epochs, Path(tmp)),
                              repeats)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=8)
    args = parser.parse_args()
    torch.set_num_threads(1)
    every, none, ratio = compare("every", args.epochs, args.repeats)
    print(f"epoch_s_every_median: {every:.4f}")
    print(f"epoch_s_none_median: {none:.4f}")
    print(f"checkpoint_overhead_ratio: {ratio:.3f}")
    steps, none, step_ratio = compare("every_n_steps", args.epochs, args.repeats)
    print(f"epoch_s_every_50_steps_median: {steps:.4f}")
    print(f"epoch_s_none_median_2: {none:.4f}")
    print(f"step_checkpoint_overhead_ratio: {step_ratio:.3f}")

if __name__ == "__main__":
    main()
