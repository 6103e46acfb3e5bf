"""Bytes per experiment in the event log: event schema 1 (every `experiment_config` holds the whole resolved config)
against schema 2 (one `config_base`, and each experiment's overrides of it), issue 16.

real:  `mlgym train` of bench/configs/startup_digits.yml (4 experiments, 2 epochs, main process), written by this
       checkout's writer (schema 2).
scale: bench/plan_scale.py's 2,000-experiment log (2,000 x 103 evaluation results, as bench/board_scale.py writes
       it), once with its own one-key configs and once with the resolved configs of the first 2,000 points of
       plan_scale's 10,000-point iris grid (4 swept keys), compacted by the writer's own `ConfigCompactor`.

"Before" is the same log with every `experiment_config` holding its whole config again and no `config_base`: what
the schema-1 writer wrote (the payloads are otherwise the same, so the difference is the config alone).

    PYTHONPATH=src python bench/log_size.py
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.board_scale import EXPERIMENTS, SPLITS, write_grid_search  # noqa: E402
from bench.plan_scale import grid_config  # noqa: E402
from mlgym.config.loader import load_config  # noqa: E402
from mlgym.config.sweep import expand_sweeps  # noqa: E402
from mlgym.events.config_overrides import ConfigCompactor, experiment_configs  # noqa: E402
from mlgym.events.event_log import encode  # noqa: E402

_SEQ = re.compile(rb'^\{"seq":\d+,')


def sizes(lines: list[bytes]) -> dict[str, int]:
    """Bytes per event type, and in all."""
    out: dict[str, int] = {"all": 0}
    for line in lines:
        kind = json.loads(line)["event_type"]
        out[kind] = out.get(kind, 0) + len(line)
        out["all"] += len(line)
    return out


def schema_1(lines: list[bytes]) -> list[bytes]:
    """The log as the schema-1 writer wrote it: whole configs, no config_base, seqs without the base lines."""
    events = [json.loads(line) for line in lines]
    configs = experiment_configs(events)
    out = []
    for event in events:
        if event["event_type"] == "config_base":
            continue
        if event["event_type"] == "experiment_config":
            p = {k: v for k, v in event["payload"].items() if k not in ("config_base", "config_overrides")}
            event = {**event, "payload": {"config": configs[event["experiment_id"]], **p}}
        out.append(encode({**event, "seq": len(out), "schema_version": 1}))
    return out


def schema_2(lines: list[bytes], configs: list[tuple[dict, dict]] | None = None) -> list[bytes]:
    """A schema-1 log written by the schema-2 writer (`configs`: (config, hyperparameters) for the experiments'
    configs in order, replacing the logged ones)."""
    compactor, out, i = ConfigCompactor(), [], 0
    for line in lines:
        if b'"event_type":"experiment_config"' not in line:
            out.append(_SEQ.sub(b'{"seq":%d,' % len(out), line))
            continue
        event = json.loads(line)
        payload = dict(event["payload"])
        if configs is not None:
            payload["config"], payload["hyperparameters"] = configs[i]
            i += 1
        base, payload = compactor.compact(payload)
        if base is not None:
            out.append(encode({**event, "seq": len(out), "experiment_id": None, "event_type": "config_base",
                               "payload": base, "schema_version": 2}))
        out.append(encode({**event, "seq": len(out), "payload": payload, "schema_version": 2}))
    return out


def with_configs(lines: list[bytes], configs: list[tuple[dict, dict]]) -> list[bytes]:
    """A schema-1 log whose experiment_config events hold `configs` instead."""
    out, i = [], 0
    for line in lines:
        if b'"event_type":"experiment_config"' in line:
            event = json.loads(line)
            event["payload"] = {**event["payload"], "config": configs[i][0], "hyperparameters": configs[i][1]}
            i += 1
            line = encode(event)
        out.append(line)
    return out


def report(name: str, before: list[bytes], after: list[bytes], experiments: int) -> None:
    b, a = sizes(before), sizes(after)
    config_after = a.get("experiment_config", 0) + a.get("config_base", 0)
    print(f"{name}: {experiments} experiments, {len(before)} -> {len(after)} events")
    print(f"  bytes_per_experiment: {b['all'] / experiments:,.0f} -> {a['all'] / experiments:,.0f} "
          f"({100 * (1 - a['all'] / b['all']):.1f}% smaller)")
    print(f"  experiment_config_bytes_per_experiment: {b['experiment_config'] / experiments:,.0f} -> "
          f"{config_after / experiments:,.0f} (config_base included)")
    print(f"  experiment_config_share: {100 * b['experiment_config'] / b['all']:.1f}% -> "
          f"{100 * config_after / a['all']:.1f}%")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = ROOT / "bench" / "configs" / "startup_digits.yml"
        subprocess.run([sys.executable, "-m", "mlgym.cli.main", "train", "--gs_config_path", str(config),
                        "--log_dir", str(folder / "real"), "--num_epochs", "2", "--environment", "main_process"],
                       check=True, capture_output=True, cwd=ROOT)
        after = next((folder / "real").glob("*/event_storage.log")).read_bytes().splitlines(True)
        report("real (startup_digits, 4 x 2 epochs)", schema_1(after), after,
               sum(b'"event_type":"experiment_config"' in line for line in after))

        gs = "2026-01-01--00-00-00-r412"
        epochs = 412_000 // EXPERIMENTS // 2 // len(SPLITS)
        write_grid_search(folder / "scale" / gs, gs, epochs, 1_700_000_000.0, experiments=2 * EXPERIMENTS)
        before = (folder / "scale" / gs / "event_storage.log").read_bytes().splitlines(True)
        report("scale (plan_scale's log, its one-key configs)", before, schema_2(before), 2 * EXPERIMENTS)
        grid, source = load_config(grid_config(folder))
        points = [(p.config, p.hyperparameters) for p in expand_sweeps(grid, source)[:2 * EXPERIMENTS]]
        report("scale (plan_scale's log, the iris grid's resolved configs)", with_configs(before, points),
               schema_2(before, points), 2 * EXPERIMENTS)


if __name__ == "__main__":
    main()
