"""An adaptive search run (Optuna, a trial scheduler, or a search per outer fold of nested CV): the searcher's
decisions become tasks and events.

The executor calls `SearchRun.feeder` with every result, in its main loop, so the run's one EventLog writer logs
`trial_suggested`, `trial_promoted` and `trial_stopped` in order with the jobs' own events.

A run holds one `Study` (a searcher with its scheduler) per independent search: one for a grid search or a
cross-validation, one per outer fold for nested CV (each seeded on its own, refit on its own winner). A trial of
a study is trained on each of the study's folds (one experiment per fold: `<gp>`, `<gp>.f<k>`, `<gp>.o<o>.i<i>`);
its score at an epoch is the mean over its folds, known once every fold's task of that stretch ended. Each stretch
of a trial's training is one task per fold (`<id>` to the first rung, `<id>.r1` after the first promotion, ...),
resuming from the checkpoint the last one left.

Warm start builds fresh studies from the logged settings and `replay`s the log into them: the results of the
finished tasks, in the order they were logged, with the logged params of every suggested trial. That takes the
same decisions again without logging them twice (a decision lost to the kill is logged now), and what remains
is the tasks that were running or decided but not finished: they run next, resuming from their checkpoints.
"""
from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mlgym.config.sweep import GridPoint
from mlgym.errors import ConfigError, UsageError
from mlgym.events.payloads import TrialPromoted, TrialStopped, TrialSuggested
from mlgym.events.read_rules import scores_of
from mlgym.gym.spec import ExperimentSpec
from mlgym.registry.graph import nodes_of_kind
from mlgym.scheduler.task import Task, TaskResult
from mlgym.search.adaptive import Action, AdaptiveSearch, PointList, Promote, Searcher, Start, Stop, TrialScheduler
from mlgym.search.adaptive import score_at
from mlgym.search.asha import Asha
from mlgym.search.median_stopping import MedianStopping
from mlgym.search.settings import SearchSettings
from mlgym.validation.experiment_plan import ResolvedGridSearch, check_grid_point
from mlgym.validation.plan import (FoldSlot, OuterFold, RunSettings, cv_slots, dataset_targets, nested_cv_folds,
                                   refit_spec)
from mlgym.validation.settings import ValidationSettings

Emit = Callable[[str, Any, "str | None"], Any]
DECISIONS = ("trial_suggested", "trial_promoted", "trial_stopped")
History = dict[int, dict[str, float | None]]


def runs_as_search(search: SearchSettings, settings: ValidationSettings) -> bool:
    """Whether the run is driven by SearchRun: a search that decides while it runs, or one searched set of
    trials per outer fold of nested CV (each outer fold draws its own)."""
    return search.adaptive or (settings.strategy == "nested_cv" and search.searcher != "grid")


def folds_per_trial(settings: ValidationSettings) -> tuple[int, int]:
    """(studies, folds per trial) of the strategy."""
    if settings.strategy == "cross_validation":
        return 1, settings.num_folds
    if settings.strategy == "nested_cv":
        return settings.num_outer_loop_folds, settings.num_inner_loop_folds
    return 1, 1


def trial_concurrency(settings: ValidationSettings, process_count: int) -> int:
    """Trials each study keeps running: the workers shared among the studies' fold tasks, at least one."""
    studies, folds = folds_per_trial(settings)
    return max(1, process_count // (studies * folds))


def resolved_search(search: SearchSettings, settings: ValidationSettings, resolved: ResolvedGridSearch,
                    num_epochs: int, max_concurrent: int) -> SearchSettings:
    """Check an adaptive search against the run (before anything starts) and fill in the scheduler's metric and
    mode (default: the selection's) and `max_concurrent`; ConfigErrors name where each setting was given."""
    directions = {name: d for point in resolved.score_directions.values() for name, d in point.items()}
    scheduler = search.scheduler
    if scheduler is not None:
        title = scheduler_title(scheduler.type)
        if scheduler.min_epochs > num_epochs:
            raise search.error("scheduler.min_epochs", f"min_epochs ({scheduler.min_epochs}) is more than "
                               f"num_epochs ({num_epochs}): no trial would reach the first rung",
                               hint=f"set min_epochs to at most {num_epochs}")
        metric, mode = scheduler.metric, None
        if metric is None:
            metric = f"{settings.selection.split}/{settings.selection.metric}"
            mode = settings.selection.mode
        split, name = metric.split("/", 1)
        if name not in directions:
            near = difflib.get_close_matches(name, list(directions), n=1)
            raise search.error("scheduler.metric", f"{title}'s metric '{metric}' is not among the scores "
                               f"the experiments report: {', '.join(directions) or 'none'}",
                               hint=f"did you mean '{split}/{near[0]}'?" if near else None)
        splits = _scored_splits(settings)
        if splits is not None and split not in splits:
            near = difflib.get_close_matches(split, splits, n=1)
            raise search.error("scheduler.metric", f"{title}'s metric '{metric}' is on split '{split}', "
                               f"but the {settings.strategy} folds are scored on {', '.join(splits)}",
                               hint=f"did you mean '{near[0]}/{name}'?" if near else None)
        _check_checkpointing(title, resolved)
        scheduler = replace(scheduler, metric=metric, mode=mode or directions[name])
    num_samples = len(resolved.grid) if search.searcher == "grid" else search.num_samples
    return replace(search, scheduler=scheduler, num_samples=num_samples, max_concurrent=max_concurrent)


def _scored_splits(settings: ValidationSettings) -> list[str] | None:
    """The splits a fold is scored on (the folds replace the config's splits); None: the config's own."""
    return None if settings.strategy == "grid_search" else ["train", "val"]


def scheduler_title(kind: str) -> str:
    return "ASHA" if kind == "asha" else "median stopping"


def _check_checkpointing(title: str, resolved: ResolvedGridSearch) -> None:
    """A promoted trial resumes from its checkpoint, so a scheduler needs one kept at every rung."""
    nodes = nodes_of_kind(resolved.nodes[0], "checkpointing")
    if not nodes or nodes[0].variant == "none":
        raise ConfigError(f"{title} pauses trials at rungs and resumes the promoted ones from their checkpoints, "
                          "but the config " + ("saves none (checkpointing: none)" if nodes else
                                               "has no checkpointing component"),
                          location=resolved.source.find(nodes[0].name if nodes else ""),
                          hint="add a component `checkpointing: {component_type_key: checkpointing, variant_key: "
                               "last}` (or every, last_k, best)")


def selection_metric(search: SearchSettings, settings: ValidationSettings) -> tuple[str, str]:
    """The score an adaptive search optimises and its direction: the scheduler's, else the selection's."""
    if search.scheduler is not None:
        return search.scheduler.metric, search.scheduler.mode  # type: ignore[return-value]
    selection = settings.selection
    return f"{selection.split}/{selection.metric}", selection.mode or "max"


def study_seed(seed: int, outer: int | None) -> int:
    """A study's own seed: the search's, or for outer fold o of nested CV one derived from (seed, o)."""
    if outer is None:
        return seed
    return int(np.random.SeedSequence([seed, outer]).generate_state(1)[0])


def make_search(search: SearchSettings, settings: ValidationSettings, resolved: ResolvedGridSearch,
                num_epochs: int, outer: int | None = None) -> AdaptiveSearch:
    """A fresh adaptive search for the (resolved) settings; `outer`: nested CV's outer fold it searches for."""
    from mlgym.config.sweep import find_sweeps
    metric, mode = selection_metric(search, settings)
    seed = study_seed(search.seed or 0, outer)
    searcher: Searcher
    if search.searcher == "optuna":
        from mlgym.search.optuna_search import OptunaSearcher
        sweeps = find_sweeps(resolved.gs_config, resolved.source)
        searcher = OptunaSearcher(resolved.gs_config, sweeps, search.sampler or "tpe", seed, mode)
    elif search.searcher == "random" and outer is not None:
        from mlgym.search.random_search import random_points
        sweeps = find_sweeps(resolved.gs_config, resolved.source)
        searcher = PointList(random_points(resolved.gs_config, sweeps, replace(search, seed=seed)))
    else:
        searcher = PointList(resolved.grid)
    return AdaptiveSearch(searcher, search.num_samples or len(resolved.grid), search.max_concurrent or 1, num_epochs,
                          metric, _scheduler(search, num_epochs, metric, mode))


def _scheduler(search: SearchSettings, num_epochs: int, metric: str, mode: str) -> TrialScheduler | None:
    s = search.scheduler
    if s is None:
        return None
    if s.type == "median":
        return MedianStopping(s.min_epochs, s.interval, s.min_samples, num_epochs, s.mode or mode, metric)
    return Asha(s.min_epochs, s.reduction_factor, num_epochs, s.mode or mode)


@dataclass
class Study:
    """One search over a set of folds: the whole run's, or (nested CV) one outer fold's, refit on its winner."""

    search: AdaptiveSearch
    slots: list[FoldSlot]
    outer: OuterFold | None = None
    points: dict[int, GridPoint] = field(default_factory=dict)
    specs: dict[int, list[ExperimentSpec]] = field(default_factory=dict)
    parts: dict[int, int] = field(default_factory=dict)
    waiting: dict[int, dict[str, TaskResult]] = field(default_factory=dict)  # trial -> its stretch's results so far
    finals: dict[int, tuple[History, int]] = field(default_factory=dict)  # finished trial -> mean history, epoch
    refit_started: bool = False


def build_search_run(search: SearchSettings, settings: ValidationSettings, resolved: ResolvedGridSearch,
                     run: RunSettings) -> "SearchRun":
    """The run's studies for its strategy (cross-validation builds the dataset once, for its labels)."""
    run = replace(run, directions=resolved.score_directions)
    if settings.strategy == "grid_search":
        studies = [Study(make_search(search, settings, resolved, run.num_epochs), [FoldSlot("")])]
    elif settings.strategy == "cross_validation":
        slots = cv_slots(settings, dataset_targets(resolved.nodes[0]))
        studies = [Study(make_search(search, settings, resolved, run.num_epochs), slots)]
    else:
        studies = [Study(make_search(search, settings, resolved, run.num_epochs, outer.outer), outer.inner, outer)
                   for outer in nested_cv_folds(settings, dataset_targets(resolved.nodes[0]))]
    return SearchRun(studies, run, resolved, settings)


def mean_over_folds(results: list[TaskResult]) -> tuple[bool, History, int, bool]:
    """(ok, history, last epoch, stopped early) of a trial's stretch from its folds' results: every fold ok;
    each epoch's scores averaged over the folds that reached it; the furthest epoch; any fold stopped early."""
    if not all(r.ok for r in results):
        return False, {}, 0, False
    values = [r.value if isinstance(r.value, dict) else {} for r in results]
    sums: dict[int, dict[str, list[float]]] = {}
    for value in values:
        for epoch, scores in (value.get("history") or {}).items():
            merged = sums.setdefault(int(epoch), {})
            for key, score in (scores or {}).items():
                if isinstance(score, (int, float)) and not isinstance(score, bool) and math.isfinite(score):
                    merged.setdefault(key, []).append(float(score))
    history = {epoch: {key: sum(v) / len(v) for key, v in scores.items()} for epoch, scores in sums.items()}
    last_epoch = max(int(v.get("last_epoch", 0)) for v in values)
    return True, history, last_epoch, any(bool(v.get("stopped_early")) for v in values)


class SearchRun:
    """Turns each study's actions into tasks (one per fold of a trial) and `trial_*` events."""

    def __init__(self, studies: list[Study], run: RunSettings, resolved: ResolvedGridSearch,
                 settings: ValidationSettings) -> None:
        self.studies = studies
        self.run = run
        self.resolved = resolved
        self.settings = settings
        self.emit: Emit | None = None
        self.task_of: dict[str, tuple[Study, int]] = {}
        self.checked = {p.grid_point_id for p in resolved.grid}
        self._logged: set[tuple[Any, ...]] = set()  # events a replay finds in the log (not logged again)

    @property
    def num_experiments(self) -> int:
        refits = sum(study.outer is not None for study in self.studies)
        return sum(study.search.num_samples * len(study.slots) for study in self.studies) + refits

    @property
    def num_trials(self) -> int:
        return sum(study.search.num_samples for study in self.studies)

    def bind(self, emit: Emit) -> None:
        self.emit = emit

    def initial_tasks(self) -> list[Task]:
        return [task for study in self.studies for task in self._apply(study, study.search.start())]

    def feeder(self, result: TaskResult) -> list[Task]:
        where = self.task_of.get(result.task_id)
        if where is None:
            return []
        study, trial = where
        stretch = study.waiting.setdefault(trial, {})
        stretch[result.task_id] = result
        if len(stretch) < len(study.slots):
            return []
        del study.waiting[trial]
        ok, history, last_epoch, early = mean_over_folds(list(stretch.values()))
        tasks = self._apply(study, study.search.on_result(trial, ok, history, last_epoch, early))
        if trial in study.search.completed and trial not in study.finals:
            study.finals[trial] = (history, last_epoch)
        if study.outer is not None and study.search.finished and not study.refit_started:
            tasks.extend(self._refit(study))
        return tasks

    # --- actions -> tasks and events --------------------------------------------------------------------
    def _apply(self, study: Study, actions: Iterable[Action]) -> list[Task]:
        tasks = []
        for action in actions:
            if isinstance(action, Start):
                study.points[action.trial] = action.point
                study.specs[action.trial] = [slot.spec(self._checked(action.point), self.run) for slot in study.slots]
                for spec in study.specs[action.trial]:
                    self._log("experiment_config", spec.config_event(), spec.experiment_id)
                    self._log("trial_suggested", TrialSuggested(trial=action.trial, experiment_id=spec.experiment_id,
                                                                params=action.point.hyperparameters),
                              spec.experiment_id)
                tasks.extend(self._tasks(study, action.trial, action.stop_at))
            elif isinstance(action, Promote):
                d = action.decision
                for spec in study.specs[d.trial]:
                    self._log("trial_promoted", TrialPromoted(trial=d.trial, rung=d.rung, epoch=d.epoch,
                                                              score=d.score, cut=d.cut), spec.experiment_id)
                tasks.extend(self._tasks(study, d.trial, action.stop_at))
            elif isinstance(action, Stop):
                d = action.decision
                for spec in study.specs[d.trial]:
                    self._log("trial_stopped", TrialStopped(trial=d.trial, rung=d.rung, epoch=d.epoch,
                                                            score=d.score, cut=d.cut), spec.experiment_id)
        return tasks

    def _checked(self, point: GridPoint) -> GridPoint:
        """A point drawn during the run (Optuna, an outer fold's draws) is checked like a grid point."""
        if point.grid_point_id not in self.checked:
            check_grid_point(point, self.resolved.source)
            self.checked.add(point.grid_point_id)
        return point

    def _log(self, event_type: str, payload: Any, experiment_id: str) -> None:
        key = _event_key(event_type, getattr(payload, "rung", None), experiment_id)
        if key in self._logged:
            return
        assert self.emit is not None, "bound to the run's event log before the search starts"
        self.emit(event_type, payload, experiment_id)

    def _tasks(self, study: Study, trial: int, stop_at: int | None) -> list[Task]:
        from mlgym.gym.job import run_experiment
        part = study.parts.get(trial, 0)
        study.parts[trial] = part + 1
        tasks = []
        for spec in study.specs[trial]:
            eid = spec.experiment_id
            task_id = eid if part == 0 else f"{eid}.r{part}"
            self.task_of[task_id] = (study, trial)
            tasks.append(Task(task_id, run_experiment, (replace(spec, stop_at_epoch=stop_at),), experiment_id=eid))
        return tasks

    def _refit(self, study: Study) -> list[Task]:
        """Nested CV: retrain the outer fold's winner (best mean inner score of a finished trial, by the
        selection; a tie goes to the earlier trial) on the outer training set, and test it."""
        from mlgym.gym.job import run_experiment
        study.refit_started = True
        assert study.outer is not None
        selection = self.settings.selection
        key = f"{selection.split}/{selection.metric}"
        scores: dict[str, float] = {}
        for trial in sorted(study.finals):
            history, last_epoch = study.finals[trial]
            score = score_at(history, last_epoch, key)
            if score is not None:
                scores[study.points[trial].grid_point_id] = score
        if not scores:
            return []  # every trial failed: nothing to refit (the run reports the failures)
        pick = max if selection.mode != "min" else min
        chosen = pick(scores, key=lambda gp: scores[gp])
        point = next(p for p in study.points.values() if p.grid_point_id == chosen)
        spec = refit_spec(point, self.run, study.outer.outer, study.outer.refit_split, self.settings, scores)
        self._log("experiment_config", spec.config_event(), spec.experiment_id)
        return [Task(spec.experiment_id, run_experiment, (spec,))]

    # --- warm start ---------------------------------------------------------------------------------------
    def replay(self, events: Iterable[dict[str, Any]]) -> tuple[list[Task], dict[str, TaskResult]]:
        """Feed the logged results into these (fresh) studies; returns the tasks still to run, and the results
        of the finished ones (rebuilt from the log)."""
        events = list(events)
        suggested: dict[str, Mapping[str, Any]] = {e["experiment_id"]: e["payload"] for e in events
                                                   if e["event_type"] == "trial_suggested"}
        for study in self.studies:  # each study's trials, by the experiment id of their first fold
            first = study.slots[0].suffix
            study.search.replay = {p["trial"]: p["params"] for eid, p in suggested.items()
                                   if _suffix_of(eid, [s.suffix for s in study.slots]) == first}
        self._logged = {_event_key(e["event_type"], (e.get("payload") or {}).get("rung"), e.get("experiment_id"))
                        for e in events if e["event_type"] in DECISIONS + ("experiment_config",)}
        finished = _logged_results(events)
        pending = {t.task_id: t for t in self.initial_tasks()}
        results = {}
        for result in finished:
            if result.task_id not in pending:
                raise UsageError(f"the log's job {result.task_id!r} is not one the search would have run: the log "
                                 "does not come from this search (or from this version of MLgym)")
            pending.pop(result.task_id)
            results[result.task_id] = result
            pending.update({t.task_id: t for t in self.feeder(result)})
        self._logged = set()
        return list(pending.values()), results


def _event_key(event_type: str, rung: Any, experiment_id: Any) -> tuple[Any, ...]:
    if event_type in ("trial_promoted", "trial_stopped"):
        return event_type, experiment_id, rung
    return event_type, experiment_id


def _suffix_of(experiment_id: str, suffixes: list[str]) -> str | None:
    """Which of a study's fold suffixes ends `experiment_id` (the longest that does)."""
    matches = [s for s in suffixes if experiment_id.endswith(s)]
    return max(matches, key=len) if matches else None


def _logged_results(events: list[dict[str, Any]]) -> list[TaskResult]:
    """The tasks that ended in the log (job_status done / failed), in log order, each with its experiment's
    history (epoch -> `<split>/<name>` -> score) and the epoch its training loop ended at."""
    task_of: dict[str, str] = {}  # experiment -> its latest scheduled task
    ended: dict[str, tuple[int, bool]] = {}
    histories: dict[str, dict[int, dict[str, float | None]]] = {}
    results = []
    for event in events:
        eid, kind, p = event.get("experiment_id"), event["event_type"], event.get("payload") or {}
        if eid is None:
            continue
        if kind == "job_scheduled":
            task_of[eid] = p["job_id"]
            ended.pop(eid, None)
        elif kind == "evaluation_result":
            scores = histories.setdefault(eid, {}).setdefault(int(p["epoch"]), {})
            scores.update({s.key: s.value for s in scores_of(p)})
        elif kind == "experiment_status" and p.get("status") != "training":
            ended[eid] = (int(p["epoch"]), p.get("status") == "early_stopped")
        elif kind == "job_status" and p.get("status") in ("done", "failed") and eid in task_of:
            epoch, early = ended.get(eid, (0, False))
            history = {e: dict(s) for e, s in histories.get(eid, {}).items() if e <= epoch}
            ok = p["status"] == "done"
            results.append(TaskResult(task_of[eid], ok, {"experiment_id": eid, "history": history,
                                                        "last_epoch": epoch, "stopped_early": early,
                                                        "reused": True} if ok else None,
                                      error=p.get("error")))
    return results
