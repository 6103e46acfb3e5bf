"""An adaptive search run (Optuna, or any searcher with ASHA): the searcher's decisions become tasks and events.

The executor calls `SearchRun.feeder` with every result, in its main loop, so the run's one EventLog writer logs
`trial_suggested`, `trial_promoted` and `trial_stopped` in order with the jobs' own events. A trial is one
experiment (one experiment id, one checkpoint folder); each of its tasks trains it to its next stop (`<id>` to
the first rung, `<id>.r1` after the first promotion, ...), resuming from the checkpoint the last one left.

Warm start builds a fresh search from the logged settings and `replay`s the log into it: the results of the
finished tasks, in the order they were logged, with the logged params of every suggested trial. That takes the
same decisions again without logging them twice (a decision lost to the kill is logged now), and what remains
is the tasks that were running or decided but not finished: they run next, resuming from their checkpoints.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from mlgym.errors import ConfigError, UsageError
from mlgym.events.payloads import TrialPromoted, TrialStopped, TrialSuggested
from mlgym.events.read_rules import scores_of
from mlgym.gym.spec import ExperimentSpec
from mlgym.registry.graph import nodes_of_kind
from mlgym.scheduler.task import Task, TaskResult
from mlgym.search.adaptive import Action, AdaptiveSearch, PointList, Promote, Searcher, Start, Stop
from mlgym.search.asha import Asha
from mlgym.search.settings import SchedulerSettings, SearchSettings
from mlgym.validation.experiment_plan import ResolvedGridSearch, check_grid_point
from mlgym.validation.plan import RunSettings, grid_search_plan
from mlgym.validation.settings import ValidationSettings

Emit = Callable[[str, Any, "str | None"], Any]
DECISIONS = ("trial_suggested", "trial_promoted", "trial_stopped")


def resolved_search(search: SearchSettings, settings: ValidationSettings, resolved: ResolvedGridSearch,
                    num_epochs: int, max_concurrent: int) -> SearchSettings:
    """Check an adaptive search against the run (before anything starts) and fill in the scheduler's metric and
    mode (default: the selection's) and `max_concurrent`; ConfigErrors name where each setting was given."""
    if settings.strategy != "grid_search":
        raise ConfigError(f"an adaptive search (searcher {search.searcher}, scheduler "
                          f"{search.scheduler.type if search.scheduler else 'none'}) runs with the grid_search "
                          f"strategy only for now, not {settings.strategy}", key_path="strategy",
                          hint="use searcher: random without a scheduler for cross-validation and nested CV")
    directions = {name: d for point in resolved.score_directions.values() for name, d in point.items()}
    scheduler = search.scheduler
    if scheduler is not None:
        if scheduler.min_epochs > num_epochs:
            raise search.error("scheduler.min_epochs", f"min_epochs ({scheduler.min_epochs}) is more than "
                               f"num_epochs ({num_epochs}): no trial would reach the first rung",
                               hint=f"set min_epochs to at most {num_epochs}")
        metric, mode = scheduler.metric, None
        if metric is None:
            metric = f"{settings.selection.split}/{settings.selection.metric}"
            mode = settings.selection.mode
        name = metric.split("/", 1)[1]
        if name not in directions:
            near = difflib.get_close_matches(name, list(directions), n=1)
            raise search.error("scheduler.metric", f"ASHA's metric '{metric}' is not among the scores the "
                               f"experiments report: {', '.join(directions) or 'none'}",
                               hint=f"did you mean '{metric.split('/')[0]}/{near[0]}'?" if near else None)
        _check_checkpointing(search, resolved)
        scheduler = replace(scheduler, metric=metric, mode=mode or directions[name])
    num_samples = len(resolved.grid) if search.searcher == "grid" else search.num_samples
    return replace(search, scheduler=scheduler, num_samples=num_samples, max_concurrent=max_concurrent)


def _check_checkpointing(search: SearchSettings, resolved: ResolvedGridSearch) -> None:
    """A promoted trial resumes from its checkpoint, so ASHA needs one kept at every rung."""
    nodes = nodes_of_kind(resolved.nodes[0], "checkpointing")
    if not nodes or nodes[0].variant == "none":
        raise ConfigError("ASHA pauses trials at rungs and resumes the promoted ones from their checkpoints, but "
                          "the config " + ("saves none (checkpointing: none)" if nodes else
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


def make_search(search: SearchSettings, settings: ValidationSettings, resolved: ResolvedGridSearch,
                num_epochs: int) -> AdaptiveSearch:
    """A fresh adaptive search for the (resolved) settings."""
    metric, mode = selection_metric(search, settings)
    searcher: Searcher
    if search.searcher == "optuna":
        from mlgym.config.sweep import find_sweeps
        from mlgym.search.optuna_search import OptunaSearcher
        sweeps = find_sweeps(resolved.gs_config, resolved.source)
        searcher = OptunaSearcher(resolved.gs_config, sweeps, search.sampler or "tpe", search.seed or 0, mode)
    else:
        searcher = PointList(resolved.grid)
    scheduler: SchedulerSettings | None = search.scheduler
    asha = (Asha(scheduler.min_epochs, scheduler.reduction_factor, num_epochs, scheduler.mode or mode)
            if scheduler is not None else None)
    return AdaptiveSearch(searcher, search.num_samples or len(resolved.grid), search.max_concurrent or 1, num_epochs,
                          metric, asha)


class SearchRun:
    """Turns an AdaptiveSearch's actions into tasks (one experiment per trial) and `trial_*` events."""

    def __init__(self, search: AdaptiveSearch, run: RunSettings, resolved: ResolvedGridSearch) -> None:
        self.search = search
        self.run = run
        self.resolved = resolved
        self.emit: Emit | None = None
        self.experiment_of: dict[int, str] = {}
        self.spec_of: dict[int, ExperimentSpec] = {}
        self.trial_of_task: dict[str, int] = {}
        self.parts: dict[int, int] = {}
        self.epochs_planned = 0
        self._already_logged = 0  # decisions a replay takes again without logging them

    def bind(self, emit: Emit) -> None:
        self.emit = emit

    def initial_tasks(self) -> list[Task]:
        return self._apply(self.search.start())

    def feeder(self, result: TaskResult) -> list[Task]:
        trial = self.trial_of_task.get(result.task_id)
        if trial is None:
            return []
        value = result.value if result.ok and isinstance(result.value, dict) else {}
        actions = self.search.on_result(trial, result.ok, value.get("history") or {}, value.get("last_epoch", 0),
                                        bool(value.get("stopped_early")))
        return self._apply(actions)

    # --- actions -> tasks and events --------------------------------------------------------------------
    def _apply(self, actions: Iterable[Action]) -> list[Task]:
        tasks = []
        for action in actions:
            if isinstance(action, Start):
                spec = self._spec(action)
                self.experiment_of[action.trial], self.spec_of[action.trial] = spec.experiment_id, spec
                self._log([("experiment_config", spec.config_event()),
                           ("trial_suggested", TrialSuggested(trial=action.trial, experiment_id=spec.experiment_id,
                                                              params=action.point.hyperparameters))],
                          spec.experiment_id)
                tasks.append(self._task(action.trial, action.stop_at))
            elif isinstance(action, Promote):
                d = action.decision
                self._log([("trial_promoted", TrialPromoted(trial=d.trial, rung=d.rung, epoch=d.epoch, score=d.score,
                                                            cut=d.cut))], self.experiment_of[d.trial])
                tasks.append(self._task(d.trial, action.stop_at))
            elif isinstance(action, Stop):
                d = action.decision
                self._log([("trial_stopped", TrialStopped(trial=d.trial, rung=d.rung, epoch=d.epoch, score=d.score,
                                                          cut=d.cut))], self.experiment_of[d.trial])
        return tasks

    def _log(self, events: list[tuple[str, Any]], experiment_id: str) -> None:
        if self._already_logged:
            self._already_logged -= 1
            return
        assert self.emit is not None, "bound to the run's event log before the search starts"
        for event_type, payload in events:
            self.emit(event_type, payload, experiment_id)

    def _spec(self, action: Start) -> ExperimentSpec:
        if not isinstance(self.search.searcher, PointList):  # asked during the run: check it like a grid point
            check_grid_point(action.point, self.resolved.source)
        return grid_search_plan([action.point], self.run).jobs[0].spec

    def _task(self, trial: int, stop_at: int | None) -> Task:
        from mlgym.gym.job import run_experiment
        part = self.parts.get(trial, 0)
        self.parts[trial] = part + 1
        eid = self.experiment_of[trial]
        task_id = eid if part == 0 else f"{eid}.r{part}"
        self.trial_of_task[task_id] = trial
        spec = replace(self.spec_of[trial], stop_at_epoch=stop_at)
        return Task(task_id, run_experiment, (spec,), experiment_id=eid)

    # --- warm start ---------------------------------------------------------------------------------------
    def replay(self, events: Iterable[dict[str, Any]]) -> tuple[list[Task], dict[str, TaskResult]]:
        """Feed the logged results into this (fresh) search; returns the tasks still to run, and the results
        of the finished ones (rebuilt from the log)."""
        events = list(events)
        self.search.replay = {e["payload"]["trial"]: e["payload"]["params"] for e in events
                              if e["event_type"] == "trial_suggested"}
        self._already_logged = sum(e["event_type"] in DECISIONS for e in events)
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
        self._already_logged = 0
        return list(pending.values()), results


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
