"""Strategies turn the grid into a plan of jobs: what to run (specs and their dependencies), never how.

Side-effect free: no processes, threads or event logs. The run layer (`mlgym.run`) turns jobs into scheduler tasks.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlgym.config.sweep import GridPoint
from mlgym.gym.scores import score_directions
from mlgym.gym.spec import ExperimentSpec
from mlgym.registry.graph import ComponentGraph, Node, nodes_of_kind
from mlgym.validation.experiment_plan import ResolvedGridSearch
from mlgym.validation.folds import make_folds
from mlgym.validation.selection import JobResults, select_grid_point
from mlgym.validation.settings import ValidationSettings


@dataclass(frozen=True)
class RunSettings:
    """What every job of a grid search shares (and each grid point's score directions, when already known)."""

    grid_search_id: str
    run_dir: str
    num_epochs: int
    seed: int
    directions: dict[str, dict[str, str]] = field(default_factory=dict)
    checkpoint_root: str | None = None  # where `checkpoints/<experiment>/` go; None: run_dir


@dataclass(frozen=True)
class Job:
    """One experiment to train once every job in `depends_on` is done.

    `prepare`, when given, is called (in the main process) with the results of the dependencies and returns
    the spec to run instead of `spec` (a nested-CV refit learns its grid point from its inner folds).
    """

    spec: ExperimentSpec
    depends_on: tuple[str, ...] = ()
    prepare: Any = None

    @property
    def job_id(self) -> str:
        return self.spec.experiment_id


@dataclass
class Plan:
    """The jobs of a grid search; `specs` holds every experiment known before the run (refits come later)."""

    strategy: str
    jobs: list[Job]
    specs: dict[str, ExperimentSpec]
    grid: list[GridPoint]
    folds: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FoldSlot:
    """One fold a config is trained on: its experiment id is `<grid point id><suffix>`."""

    suffix: str
    role: str = "train"
    fold: dict[str, int] | None = None
    split_indices: dict[str, list[int]] | None = None

    def spec(self, point: GridPoint, run: RunSettings) -> ExperimentSpec:
        kwargs = {} if self.fold is None else {"role": self.role, "fold": self.fold,
                                               "split_indices": self.split_indices}
        return _spec(point, run, point.grid_point_id + self.suffix, **kwargs)


@dataclass(frozen=True)
class OuterFold:
    """An outer fold of nested CV: its inner folds, and the outer split the refit trains and tests on."""

    outer: int
    inner: list[FoldSlot]
    refit_split: dict[str, list[int]]


def cv_slots(settings: ValidationSettings, targets: np.ndarray) -> list[FoldSlot]:
    folds = make_folds(targets, np.arange(len(targets)), settings.num_folds, settings.stratified,
                       settings.shuffle, settings.seed)
    return [FoldSlot(f".f{k}", "cv_fold", {"k": k}, {"train": train, "val": held_out})
            for k, (train, held_out) in enumerate(folds)]


def nested_cv_folds(settings: ValidationSettings, targets: np.ndarray) -> list[OuterFold]:
    outer_folds = make_folds(targets, np.arange(len(targets)), settings.num_outer_loop_folds,
                             settings.stratified, settings.shuffle, settings.seed)
    result = []
    for o, (outer_train, outer_test) in enumerate(outer_folds):
        inner_folds = make_folds(targets, np.asarray(outer_train), settings.num_inner_loop_folds,
                                 settings.stratified, settings.shuffle, settings.seed)
        inner = [FoldSlot(f".o{o}.i{i}", "inner", {"outer": o, "inner": i}, {"train": train, "val": val})
                 for i, (train, val) in enumerate(inner_folds)]
        result.append(OuterFold(o, inner, {"train": outer_train, "test": outer_test}))
    return result


def refit_spec(point: GridPoint, run: RunSettings, outer: int, split_indices: dict[str, list[int]],
               settings: ValidationSettings, inner_scores: dict[str, float]) -> ExperimentSpec:
    """The refit of outer fold `outer` on the inner loop's winner `point` (`inner_scores`: every candidate's)."""
    return _spec(point, run, f"refit.o{outer}", role="refit", fold={"outer": outer}, split_indices=split_indices,
                 extra={"inner_scores": inner_scores, "selection": settings.selection.to_dict()})


def _spec(point: GridPoint, run: RunSettings, experiment_id: str, **kwargs: Any) -> ExperimentSpec:
    return ExperimentSpec(grid_search_id=run.grid_search_id, experiment_id=experiment_id,
                          grid_point_id=point.grid_point_id, config=point.config,
                          hyperparameters=point.hyperparameters, num_epochs=run.num_epochs, seed=run.seed,
                          run_dir=run.run_dir, score_directions=_directions(point, run),
                          checkpoint_root=run.checkpoint_root, **kwargs)


def _directions(point: GridPoint, run: RunSettings) -> dict[str, str]:
    known = run.directions.get(point.grid_point_id)
    return known if known is not None else score_directions(point.config)


def dataset_targets(nodes: dict[str, Node]) -> np.ndarray:
    """Build only the dataset a splitter requires (in this process) and return its labels for fold making."""
    splitters = nodes_of_kind(nodes, "splitter")
    if not splitters:
        raise ValueError("cross-validation needs a component of kind 'splitter' whose 'dataset' requirement names "
                         "the dataset to fold")
    req = next((r for r in splitters[0].requirements if r.name == "dataset"), None)
    if req is None:
        raise ValueError(f"splitter '{splitters[0].name}' needs a requirement named 'dataset'")
    dataset = ComponentGraph(nodes).get(req.component_name)
    return np.asarray(dataset.targets)


def grid_search_plan(grid: list[GridPoint], run: RunSettings) -> Plan:
    specs = {p.grid_point_id: _spec(p, run, p.grid_point_id) for p in grid}
    return Plan("grid_search", [Job(s) for s in specs.values()], specs, grid)


def cross_validation_plan(grid: list[GridPoint], run: RunSettings, settings: ValidationSettings,
                          targets: np.ndarray) -> Plan:
    slots = cv_slots(settings, targets)
    specs = {}
    for point in grid:
        for slot in slots:
            spec = slot.spec(point, run)
            specs[spec.experiment_id] = spec
    return Plan("cross_validation", [Job(s) for s in specs.values()], specs, grid, {"folds": len(slots)})


@dataclass(frozen=True)
class RefitPreparer:
    """Main-process hook of a refit job: pick the grid point from its inner folds, then build the refit spec."""

    outer: int
    inner_ids: dict[str, list[str]]  # grid point id -> inner experiment ids
    grid: tuple[GridPoint, ...]
    run: RunSettings
    split_indices: dict[str, list[int]]
    settings: ValidationSettings
    on_spec: Any = None  # called with the refit spec (to log its experiment_config)

    def __call__(self, results: JobResults) -> ExperimentSpec:
        chosen, scores = select_grid_point(self.inner_ids, results, self.settings.selection)
        point = next(p for p in self.grid if p.grid_point_id == chosen)
        spec = refit_spec(point, self.run, self.outer, self.split_indices, self.settings, scores)
        if self.on_spec is not None:
            self.on_spec(spec)
        return spec


def nested_cv_plan(grid: list[GridPoint], run: RunSettings, settings: ValidationSettings,
                   targets: np.ndarray, on_refit_spec: Any = None) -> Plan:
    outer_folds = nested_cv_folds(settings, targets)
    specs: dict[str, ExperimentSpec] = {}
    jobs: list[Job] = []
    for outer_fold in outer_folds:
        o = outer_fold.outer
        inner_ids: dict[str, list[str]] = {}
        for point in grid:
            for slot in outer_fold.inner:
                spec = slot.spec(point, run)
                specs[spec.experiment_id] = spec
                inner_ids.setdefault(point.grid_point_id, []).append(spec.experiment_id)
                jobs.append(Job(spec))
        preparer = RefitPreparer(o, inner_ids, tuple(grid), run, outer_fold.refit_split, settings, on_refit_spec)
        placeholder = replace(_spec(grid[0], run, f"refit.o{o}"), role="refit", fold={"outer": o})
        deps = tuple(e for ids in inner_ids.values() for e in ids)
        jobs.append(Job(placeholder, depends_on=deps, prepare=preparer))
    return Plan("nested_cv", jobs, specs, grid, {"outer": len(outer_folds)})


def build_plan(resolved: ResolvedGridSearch, settings: ValidationSettings, run: RunSettings,
               on_refit_spec: Any = None) -> Plan:
    """The plan of the configured strategy; cross-validation builds the dataset once, for its labels."""
    grid = resolved.grid
    run = replace(run, directions=resolved.score_directions)
    if settings.strategy == "grid_search":
        return grid_search_plan(grid, run)
    targets = dataset_targets(resolved.nodes[0])
    if settings.strategy == "cross_validation":
        return cross_validation_plan(grid, run, settings, targets)
    return nested_cv_plan(grid, run, settings, targets, on_refit_spec)
