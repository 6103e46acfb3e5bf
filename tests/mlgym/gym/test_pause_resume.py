"""`stop_at_epoch`: a job pauses at a rung (status `paused`, checkpoint kept) and a later task resumes it."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from mlgym.gym.job import run_experiment
from mlgym.scheduler import MainProcessExecutor, Task
from mlgym.validation.experiment_plan import resolve_grid_search
from mlgym.validation.plan import RunSettings, build_plan
from mlgym.validation.settings import ValidationSettings
from tests.conftest import CONFIGS


class Recorder(list):
    """Every event (the main-process executor's checkpoint writer emits from its thread)."""

    def __call__(self, event_type: str, payload: dict, experiment_id: str | None) -> None:
        self.append((event_type, payload, experiment_id))

    def of(self, eid: str) -> list[tuple[str, dict]]:
        return [(kind, payload) for kind, payload, e in self if e == eid]


def iris_spec(tmp_path: Path, num_epochs: int):
    resolved = resolve_grid_search(CONFIGS / "iris_mlp.yml", ["optimizer.config.lr=0.01"])
    plan = build_plan(resolved, ValidationSettings(), RunSettings("gs", str(tmp_path), num_epochs, 0))
    return plan.jobs[0].spec


def test_paused_then_resumed_job_equals_an_uninterrupted_one(tmp_path: Path) -> None:
    straight = iris_spec(tmp_path / "straight", 4)
    whole = MainProcessExecutor().run([Task("x", run_experiment, (straight,))], Recorder())["x"].value

    spec = iris_spec(tmp_path / "paused", 4)
    recorder = Recorder()
    eid = spec.experiment_id
    tasks = [Task(eid, run_experiment, (replace(spec, stop_at_epoch=1),))]
    first = MainProcessExecutor().run(tasks, recorder)[eid].value
    assert first["paused"] and first["last_epoch"] == 1
    later = [Task(f"{eid}.r1", run_experiment, (replace(spec, stop_at_epoch=3),), experiment_id=eid),
             Task(f"{eid}.r2", run_experiment, (spec,), experiment_id=eid)]
    results = MainProcessExecutor().run(later[:1], recorder)
    results |= MainProcessExecutor().run(later[1:], recorder)

    statuses = [p["status"] for kind, p in recorder.of(eid) if kind == "experiment_status"
                and p["status"] != "training"]
    assert statuses == ["paused", "paused", "done"]
    restored = [p["epoch"] for kind, p in recorder.of(eid) if kind == "checkpoint" and p["action"] == "restored"]
    assert restored == [1, 3]
    assert results[f"{eid}.r2"].value["history"] == whole["history"]
    assert sorted(results[f"{eid}.r1"].value["history"]) == [1, 2, 3]
