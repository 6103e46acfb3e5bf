"""Replaying stored lines into a read model, fast: the loop of `mlgym report`'s first report of a big log.

Nearly every line of a big log is an `evaluation_result`. Such a line is decoded by msgspec straight into a typed
envelope and the declared `EvaluationResult` (in C, no dicts), and its scores go to the projection as tuples
(`GridSearchProjection.apply_scores`). Every other line, and any line that does not decode against those
declarations (a `NaN` literal, a payload of an older or a foreign writer), is parsed into plain data (msgspec, else
the standard library's json, which also reads `NaN`) and applied with `GridSearchProjection.apply`, as before. The
fast path only takes lines whose meaning it computes exactly as the general one does; tests replay the same logs
both ways and compare the read models.
"""
from __future__ import annotations

import msgspec

from mlgym.events.event_log import parse_line
from mlgym.events.payloads import EvaluationResult
from mlgym.events.projection import GridSearchProjection
from mlgym.events.read_rules import ScoreTuple
from mlgym.events.schema import SCHEMA_VERSION, check_readable

_EVALUATION = b'"event_type":"evaluation_result"'


class _Evaluation(msgspec.Struct, gc=False):
    """A stored `evaluation_result` line as the fast path reads it: the envelope and the declared payload."""

    seq: int
    event_type: str
    creation_ts: float
    experiment_id: str | None
    payload: EvaluationResult
    schema_version: int = 1


_evaluation = msgspec.json.Decoder(_Evaluation)


def _scores(result: EvaluationResult) -> list[ScoreTuple]:
    """(key, split, name, kind, value) of every score, as `read_rules.score_tuples` gives them. msgspec reads only
    finite numbers from JSON (`1e400` is refused, `NaN` is not JSON), so every value here is finite or None."""
    scores: list[ScoreTuple] = [(f"{m.split}/{m.metric}", m.split, m.metric, "metric", m.score)
                                for m in result.metric_scores]
    scores += [(f"{s.split}/{s.loss}", s.split, s.loss, "loss", s.score) for s in result.loss_scores]
    return scores


def apply_line(proj: GridSearchProjection, raw: bytes, after_seq: int) -> int | None:
    """Apply the stored line `raw` to `proj` if its seq is above `after_seq`; its seq when it was applied, None when
    it was skipped (not JSON, or an older seq). Raises NewerSchemaError for a line of a newer major schema."""
    if _EVALUATION in raw:
        try:
            line = _evaluation.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            line = None  # the general path judges it
        if line is not None and line.event_type == "evaluation_result" and 1 <= line.schema_version <= SCHEMA_VERSION:
            if line.seq <= after_seq:
                return None
            result = line.payload
            proj.apply_scores(line.seq, line.creation_ts, line.experiment_id, result.epoch, _scores(result))
            return line.seq
    try:
        event = parse_line(raw)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("seq", -1) <= after_seq:
        return None
    check_readable(event)
    proj.apply(event)
    return event["seq"]
