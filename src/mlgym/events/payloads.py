"""The payload of every event type, declared once: every producer builds its events from these, every reader
(the event log, MLboard's ingest, docs/events.md) checks against them.

Payloads are msgspec Structs: typed, frozen, validated in one C call on ingest, and the source of the JSON Schema
in docs/events.md. Unknown fields are ignored on reading, so a newer gym's additions do not break an older board;
fields that default to None (or are empty) are left out of the written line.
"""
from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

Direction = Literal["max", "min"]
Role = Literal["train", "cv_fold", "inner", "refit"]
Strategy = Literal["grid_search", "cross_validation", "nested_cv"]


class Payload(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Base of every payload; `event_type` names the event it is the payload of."""

    event_type: ClassVar[str]


class Selection(msgspec.Struct, frozen=True, kw_only=True):
    """How the best epoch and grid point are chosen: score `<split>/<metric>`, maximised or minimised."""

    split: str = "val"
    metric: str | None = None
    mode: Direction | None = None


class TrialScheduler(msgspec.Struct, frozen=True, kw_only=True):
    """`asha`: trials pause at rungs `min_epochs * reduction_factor**k` (below `num_epochs`); one in the top
    1/reduction_factor of its rung's scores by `metric` (`<split>/<score>`, better by `mode`) is promoted.
    `median`: trials pause at `min_epochs + k * interval`; one whose best score is worse than the median of the
    running averages of the (at least `min_samples`) other trials that reached that epoch stops there.
    Every field is written, so a warm start replays with the values the search ran with."""

    type: Literal["asha", "median"] = "asha"
    metric: str | None = None
    mode: Direction | None = None
    min_epochs: int = 1
    reduction_factor: int = 3
    interval: int = 1
    min_samples: int = 3


class Search(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """How the experiments' configs were chosen: `grid` (every grid point), `random` (`num_samples` draws
    seeded by `seed`; the same settings give the same trials, which is how warm start rebuilds them) or `optuna`
    (`num_samples` trials asked from `sampler`), optionally with a trial `scheduler`. `max_concurrent`: how many
    trials an adaptive search keeps running (the run's process count; warm start replays with the same)."""

    searcher: str = "grid"
    num_samples: int | None = None
    seed: int | None = None
    sampler: str | None = None
    scheduler: TrialScheduler | None = None
    max_concurrent: int | None = None


class PythonModuleRef(msgspec.Struct, frozen=True, kw_only=True):
    """A module the gs_config named under `python_modules` (it registers the config's own components): its dotted
    `name`, looked up first in `folder`, the folder of the config file that named it."""

    name: str
    folder: str


class GridSearchStarted(Payload, frozen=True, kw_only=True):
    """A grid search (or a warm start of one) begins: its configs, environment, selection and directions.

    `checkpoint_storage` is the folder every node sees when checkpoints are kept outside the log folder (they are
    in `<checkpoint_storage>/<grid_search_id>/checkpoints/`); left out, they are in the log folder.
    `python_modules` are imported again by warm start and by every worker, before any component is built."""

    event_type: ClassVar[str] = "grid_search_started"
    strategy: Strategy
    num_experiments: int
    gs_config: dict[str, Any]
    gs_config_path: str
    gs_config_sha256: str
    run_config: dict[str, Any]
    validation_config: dict[str, Any] | None
    sweep_paths: list[str]
    environment: dict[str, Any]
    seed: int
    num_epochs: int
    selection: Selection
    score_directions: dict[str, Direction] = {}
    warm_start: bool = False
    checkpoint_storage: str | None = None
    search: Search | None = None  # left out by older versions: a grid search
    heartbeat_s: float | None = None  # a `heartbeat` every this many seconds while it runs (None: older versions)
    python_modules: list[PythonModuleRef] = []


class GridSearchFinished(Payload, frozen=True, kw_only=True):
    """The run ended: how, how many jobs finished and failed, how long it took."""

    event_type: ClassVar[str] = "grid_search_finished"
    status: Literal["done", "failed", "interrupted"]
    num_done: int
    num_failed: int
    duration_s: float


class Heartbeat(Payload, frozen=True, kw_only=True):
    """The main process is alive (every `heartbeat_s` seconds while a grid search runs). A grid search without
    `grid_search_finished` whose last event is older than 3 heartbeats is `stale`: its process is gone."""

    event_type: ClassVar[str] = "heartbeat"
    running: int  # jobs running at that moment


class ConfigBase(Payload, frozen=True, kw_only=True):
    """A resolved config logged once, which the `experiment_config` events after it name by `config_id` (16 hex
    digits of the SHA-256 of its JSON with sorted keys) and override where they differ (event schema 2)."""

    event_type: ClassVar[str] = "config_base"
    config_id: str
    config: dict[str, Any]


class ExperimentConfig(Payload, frozen=True, kw_only=True):
    """One experiment's resolved config, its place in the plan, and the direction of each of its scores.

    The config is `config_base`'s (a `config_base` event logged before) with `config_overrides` applied: each
    `{dotted key path: value}` replaces the value at that path (mlgym/events/config_overrides.py). Schema 1 logs
    carry the whole `config` instead; exactly one of `config` and `config_base` is given."""

    event_type: ClassVar[str] = "experiment_config"
    config: dict[str, Any] | None = None
    config_base: str | None = None
    config_overrides: dict[str, Any] = {}
    grid_point_id: str
    hyperparameters: dict[str, Any]
    num_epochs: int
    seed: int
    role: Role
    fold: dict[str, int] | None
    score_directions: dict[str, Direction] = {}
    inner_scores: dict[str, float | None] | None = None
    selection: Selection | None = None

    def __post_init__(self) -> None:
        if (self.config is None) == (self.config_base is None):
            raise ValueError("exactly one of `config` (a whole config) and `config_base` (a config_base's id, "
                             "with `config_overrides`) must be given")


class JobScheduled(Payload, frozen=True, kw_only=True):
    """A job entered the scheduler's queue."""

    event_type: ClassVar[str] = "job_scheduled"
    job_id: str
    depends_on: list[str]
    attempt: int


class JobStatus(Payload, frozen=True, kw_only=True):
    """A job attempt started, ended, failed or is retried; where it ran (null when it never ran).

    `node` is the id of the Ray node that ran the attempt (left out by the local executors)."""

    event_type: ClassVar[str] = "job_status"
    status: Literal["running", "done", "failed", "retrying"]
    device: str | None
    worker: int | None
    pid: int | None
    attempt: int
    error: str | None = None
    traceback: str | None = None
    duration_s: float | None = None
    next_attempt: int | None = None
    node: str | None = None


class ExperimentStatus(Payload, frozen=True, kw_only=True):
    """The training loop of an experiment started an epoch (`training`) or ended: `done` after `num_epochs`,
    `early_stopped`, or `paused` at an ASHA rung before `num_epochs` (a promotion resumes it from its checkpoint;
    a trial the search stops stays paused)."""

    event_type: ClassVar[str] = "experiment_status"
    status: Literal["training", "done", "early_stopped", "paused"]
    epoch: int
    num_epochs: int


class MetricScore(msgspec.Struct, frozen=True, kw_only=True):
    """One metric's score on one split; null when it is not a finite number (NaN or infinite)."""

    metric: str
    split: str
    score: float | None


class LossScore(msgspec.Struct, frozen=True, kw_only=True):
    """One loss's value on one split; null when it is not a finite number (a diverged loss)."""

    loss: str
    split: str
    score: float | None


class EvaluationResult(Payload, frozen=True, kw_only=True):
    """The scores of one split after an epoch (epochs count from 1). `source: training_pass`: the mean loss of the
    epoch's training batches, taken while training (split `train`, no metrics), instead of a second pass."""

    event_type: ClassVar[str] = "evaluation_result"
    epoch: int
    split: str
    metric_scores: list[MetricScore]
    loss_scores: list[LossScore]
    source: Literal["evaluation", "training_pass"] | None = None


class TrainingProgress(Payload, frozen=True, kw_only=True):
    """Every `log_every_n_steps` optimizer steps, and at an epoch's last step: where training is and how it goes.
    `step` counts the epoch's optimizer steps from 1 (`num_steps` of them; null when the loader has no length),
    `loss` is the mean training loss of the epoch so far (null: not finite), `lr` the learning rate of that step."""

    event_type: ClassVar[str] = "training_progress"
    epoch: int
    step: int
    num_steps: int | None
    global_step: int
    loss: float | None
    lr: float
    samples_per_s: float
    max_memory_allocated: int | None = None
    skipped_steps: int = 0


class Alert(Payload, frozen=True, kw_only=True):
    """An alert rule of the trainer (`when: "val/cross_entropy > 10"`) held on a score: `warn` only tells, `stop`
    stops the job (its `job_status` `failed` names the alert). `value` is null when it is not a finite number."""

    event_type: ClassVar[str] = "alert"
    when: str
    action: Literal["warn", "stop"]
    key: str
    value: float | None
    epoch: int
    message: str


class Checkpoint(Payload, frozen=True, kw_only=True):
    """A checkpoint was saved, deleted, found corrupt, or restored; `path` is relative to the grid search folder
    (`<checkpoint_storage>/<grid_search_id>/` when `grid_search_started` names a checkpoint storage). `step` is
    set for a mid-epoch checkpoint: taken `step` optimizer steps into `epoch` (else it is the end of `epoch`)."""

    event_type: ClassVar[str] = "checkpoint"
    action: Literal["saved", "deleted", "corrupt", "restored"]
    epoch: int
    path: str
    step: int | None = None
    sha256: str | None = None
    bytes: int | None = None
    reason: str | None = None
    error: str | None = None
    checkpoint_seq: int | None = None


class TrialSuggested(Payload, frozen=True, kw_only=True):
    """An adaptive search (Optuna, or a search with a trial scheduler) starts trial number `trial` (from 0) as
    experiment `experiment_id` with `params` (swept key path -> value)."""

    event_type: ClassVar[str] = "trial_suggested"
    trial: int
    experiment_id: str
    params: dict[str, Any]


class TrialPromoted(Payload, frozen=True, kw_only=True):
    """The scheduler let `trial` go on from rung `rung` (reached at `epoch` with `score`); it resumes from its
    checkpoint. ASHA: `score` is at least as good as `cut`, the worst score in the top 1/reduction_factor of the
    rung so far. Median stopping: `score` is the trial's best so far, `cut` the median it was compared with
    (null: fewer than min_samples other trials had reached the epoch)."""

    event_type: ClassVar[str] = "trial_promoted"
    trial: int
    rung: int
    epoch: int
    score: float | None
    cut: float | None


class TrialStopped(Payload, frozen=True, kw_only=True):
    """The scheduler stopped `trial` for good at rung `rung` (epoch `epoch`, `score`). ASHA: the search ran out of
    samples and its score never made the rung's top 1/reduction_factor (`cut`: the worst score that did; null:
    none could). Median stopping: its best score so far (`score`) was worse than `cut`, the median of the other
    trials' running averages at that epoch."""

    event_type: ClassVar[str] = "trial_stopped"
    trial: int
    rung: int
    epoch: int
    score: float | None
    cut: float | None


PAYLOAD_TYPES: dict[str, type[Payload]] = {cls.event_type: cls for cls in (
    GridSearchStarted, GridSearchFinished, ConfigBase, ExperimentConfig, JobScheduled, JobStatus, ExperimentStatus,
    EvaluationResult, TrainingProgress, Alert, Checkpoint, TrialSuggested, TrialPromoted, TrialStopped, Heartbeat)}

_DECODERS = {name: msgspec.json.Decoder(cls) for name, cls in PAYLOAD_TYPES.items()}


class PayloadError(ValueError):
    """A payload that does not match its event type's declaration."""


def payload_problem(event_type: str, payload: Any) -> str | None:
    """Why `payload` (plain JSON data) is not a valid payload of `event_type`; None when it is, or when the type is
    not one this version knows (a newer producer's)."""
    cls = PAYLOAD_TYPES.get(event_type)
    if cls is None:
        return None
    try:
        msgspec.convert(payload, cls)
    except msgspec.ValidationError as exc:
        return f"{event_type} payload: {exc}"
    return None


def decode_payload_problem(event_type: str, raw: bytes) -> str | None:
    """Like `payload_problem`, from the payload's JSON text (faster: no Python objects are built for it)."""
    decoder = _DECODERS.get(event_type)
    if decoder is None:
        return None
    try:
        decoder.decode(raw)
    except msgspec.ValidationError as exc:
        return f"{event_type} payload: {exc}"
    return None


def as_plain(payload: Payload | dict[str, Any] | None) -> dict[str, Any]:
    """A payload as a fresh plain dict (not checked: the event log checks it when it is written)."""
    if isinstance(payload, Payload):
        return msgspec.to_builtins(payload, enc_hook=str)
    return dict(payload or {})


def to_plain(event_type: str, payload: Payload | dict[str, Any] | None) -> dict[str, Any]:
    """The JSON-ready dict of a payload, checked against `event_type`'s declaration (raises PayloadError)."""
    if isinstance(payload, Payload) and payload.event_type != event_type:
        raise PayloadError(f"a {type(payload).__name__} is the payload of {payload.event_type}, not {event_type}")
    data = as_plain(payload)
    problem = payload_problem(event_type, data)
    if problem is not None:
        raise PayloadError(problem)
    return data
