"""The dashboard's read model refuses an event of a newer major schema with a message that says what to do."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

RUN_MODEL = Path(__file__).resolve().parents[2] / "src" / "ml_board" / "static" / "run_model.js"
NODE = shutil.which("node")

SCRIPT = """
const { RunModel } = await import(process.argv[1]);
const events = JSON.parse(process.argv[2]);
const model = new RunModel("gs");
try { model.apply(events); console.log(JSON.stringify({ applied: model.applied })); }
catch (err) { console.log(JSON.stringify({ error: err.name, message: err.message, applied: model.applied })); }
"""


def _apply(events: list[dict]) -> dict:
    result = subprocess.run([NODE, "--input-type=module", "-e", SCRIPT, RUN_MODEL.as_uri(), json.dumps(events)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _event(seq: int, version: int | None) -> dict:
    event = {"seq": seq, "event_type": "job_scheduled", "creation_ts": 1.0, "grid_search_id": "gs",
             "experiment_id": "e1", "payload": {"job_id": "e1", "depends_on": [], "attempt": 0}}
    if version is not None:
        event["schema_version"] = version
    return event


@pytest.mark.skipif(NODE is None, reason="node is not installed")
def test_a_newer_major_schema_stops_the_model_with_a_clear_message() -> None:
    assert _apply([_event(0, 1), _event(1, None), _event(2, 2)]) == {"applied": 3}
    assert _apply([_event(0, 2), _event(1, 3)]) == {
        "error": "NewerSchemaError", "applied": 1,
        "message": "This grid search was written with event schema 3, newer than the 2 this dashboard reads: "
                   "upgrade ml_board to view it."}
