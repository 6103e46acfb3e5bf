"""The Socket.IO JSON codec: standard JSON on the wire, raw event text kept on the way in and spliced on the way out."""
from __future__ import annotations

import json

import pytest

from ml_board import wire


def test_ingest_packet_keeps_each_events_exact_text() -> None:
    events = ['{"seq":0,"payload":{"a":[1,2,{"b":"x,]}"}]}}', '{"seq":1,"payload":{}}']
    text = '["ingest",{"grid_search_id":"g","events":[' + ",".join(events) + '],"token":null}]'
    decoded = wire.loads(text)
    assert decoded == json.loads(text)
    assert decoded[1]["events"].raw == events


def test_ingest_packet_with_whitespace_decodes_like_json() -> None:
    text = '["ingest", { "events" : [ {"seq": 0} , {"seq": 1} ] , "grid_search_id": "g" } ]'
    decoded = wire.loads(text)
    assert decoded == json.loads(text)
    assert decoded[1]["events"].raw == ['{"seq": 0}', '{"seq": 1}']


@pytest.mark.parametrize("text", ['["ingest",{"events":[1,2]}, "extra"]', '["ingest",[1]]', '["join",{"a":1}]',
                                  '["ingest",{"events":"x"}]'],
                         ids=["two-args", "not-an-object", "other-event", "events-not-a-list"])
def test_anything_else_falls_back_to_the_standard_library(text: str) -> None:
    assert wire.loads(text) == json.loads(text)


def test_broken_json_still_raises() -> None:
    with pytest.raises(ValueError):
        wire.loads('["ingest",{"events":[{"seq":0},]}]')


def test_dumps_splices_raw_arrays_without_reencoding() -> None:
    lines = b'{"seq":0,"x":"\\n"}\n{"seq":1}\n'
    data = {"grid_search_id": "g", "events": wire.RawJSONArray.from_lines(lines), "other": [1]}
    text = wire.dumps(["events", data], separators=(",", ":"))
    assert text == '["events",{"grid_search_id":"g","events":[{"seq":0,"x":"\\n"},{"seq":1}],"other":[1]}]'
    assert json.loads(text)[1]["events"] == [{"seq": 0, "x": "\n"}, {"seq": 1}]
    assert wire.dumps({"events": wire.RawJSONArray.from_lines(b"")}) == '{"events": []}'
