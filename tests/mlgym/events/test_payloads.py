"""The event contract: payloads checked when written, docs generated from the declarations, newer schemas refused."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mlgym.events.event_log import EventLog, read_events
from mlgym.events.payloads import PAYLOAD_TYPES, EvaluationResult, JobStatus, MetricScore, PayloadError
from mlgym.events.reference import generate
from mlgym.events.schema import NewerSchemaError

ROOT = Path(__file__).resolve().parents[3]


def test_docs_events_md_holds_the_reference_generated_from_the_declarations() -> None:
    assert generate() in (ROOT / "docs" / "events.md").read_text(), \
        "docs/events.md is stale: run `python -m mlgym.events.reference docs/events.md`"


def test_every_declared_event_type_is_in_the_reference() -> None:
    text = generate()
    assert [t for t in PAYLOAD_TYPES if f"### `{t}`" not in text] == []


@pytest.mark.parametrize(("event_type", "payload", "message"), [
    ("evaluation_result", {"epoch": "3", "split": "val"},
     "evaluation_result payload: Expected `int`, got `str` - at `$.epoch`"),
    ("job_status", {"status": "running"}, "job_status payload: Object missing required field `device`"),
    ("checkpoint", {"action": "moved", "epoch": 1, "path": "x"},
     "checkpoint payload: Invalid enum value 'moved' - at `$.action`"),
    ("job_status", EvaluationResult(epoch=1, split="val", metric_scores=[], loss_scores=[]),
     "a EvaluationResult is the payload of evaluation_result, not job_status"),
])
def test_the_log_refuses_a_payload_that_breaks_the_contract(tmp_path: Path, event_type: str, payload: object,
                                                            message: str) -> None:
    log = EventLog(tmp_path, "gs")
    with pytest.raises(PayloadError) as info:
        log.append(event_type, payload, "e1")
    assert str(info.value) == message
    log.close()
    assert log.path.read_bytes() == b""


def test_a_declared_payload_is_written_as_plain_json_without_its_unset_optional_fields(tmp_path: Path) -> None:
    log = EventLog(tmp_path, "gs")
    log.append("job_status", JobStatus(status="running", device="cpu", worker=0, pid=7, attempt=0), "e1")
    log.append("evaluation_result", EvaluationResult(
        epoch=1, split="val", metric_scores=[MetricScore(metric="mae", split="val", score=float("nan"))],
        loss_scores=[]), "e1")
    log.close()
    first, second = read_events(log.path)
    assert first["payload"] == {"status": "running", "device": "cpu", "worker": 0, "pid": 7, "attempt": 0}
    assert second["payload"]["metric_scores"][0]["metric"] == "mae"
    line = log.path.read_text().splitlines()[1]
    assert '"score":null' in line and "NaN" not in line  # strict JSON: every parser (a browser's too) reads it


def _log_with_schema(tmp_path: Path, version: int) -> Path:
    log = EventLog(tmp_path / f"v{version}", "gs-newer")
    log.append("job_scheduled", {"job_id": "e1", "depends_on": [], "attempt": 0}, "e1")
    log.close()
    event = json.loads(log.path.read_text())
    event["schema_version"] = version
    log.path.write_text(json.dumps(event) + "\n")
    return log.path


def test_a_reader_given_a_newer_major_schema_says_so(tmp_path: Path) -> None:
    with pytest.raises(NewerSchemaError, match="written with event schema 3, newer than the 2 this version reads: "
                                               "upgrade mlgym"):
        list(read_events(_log_with_schema(tmp_path, 3)))
    assert [e["seq"] for e in read_events(_log_with_schema(tmp_path, 1))] == [0]


def test_report_on_a_newer_schema_exits_2_with_the_reason(tmp_path: Path) -> None:
    path = _log_with_schema(tmp_path, 3)
    result = subprocess.run([sys.executable, "-m", "mlgym.cli.main", "report", "--grid_search_id", "gs-newer",
                             "--log_dir", str(path.parent.parent)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "error: the event was written with event schema 3, newer than the 2 this version reads" in result.stderr
    assert "Traceback" not in result.stderr
