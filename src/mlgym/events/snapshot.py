"""Snapshots of a grid search's read model, so a restarted board or a second `mlgym report` does not replay every
event of a log.

`<folder of the log>/projection.snapshot` holds one `GridSearchProjection`'s state (msgpack) with the seq it
covers, the byte size of the log up to that seq and the SHA-1 of that seq's line. It is written to a temporary
file and renamed over the old one, so a reader sees a whole snapshot or the previous one. A snapshot is used only
if its schema is this code's (a hash of the read model's source: any change of the rules invalidates every
snapshot) and the log still holds that very line at that seq and offset; otherwise the projection is rebuilt from
the log, which stays the source of truth.
"""
from __future__ import annotations

import hashlib
import os
from array import array
from pathlib import Path
from typing import Any

import msgspec

from mlgym.events import config_overrides, experiment_view, projection, read_rules, replay
from mlgym.events.projection import ExperimentView, GridSearchProjection
from mlgym.events.replay import apply_line

SAVE_AFTER_EVENTS = 10_000  # a report that applied this many events leaves a snapshot for the next one
_TAIL = 64 * 1024  # bytes read back from a snapshot's offset to find its last line

SNAPSHOT_FILE_NAME = "projection.snapshot"
_ARRAY_EXT = 1
_FORMAT = b"1"  # bump when the layout of this file changes


def _schema() -> str:
    digest = hashlib.sha256(_FORMAT)
    for module in (projection, experiment_view, read_rules, config_overrides, replay):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


SCHEMA = _schema()


def _enc_hook(value: Any) -> Any:
    if isinstance(value, array):
        return msgspec.msgpack.Ext(_ARRAY_EXT, value.typecode.encode() + value.tobytes())
    raise NotImplementedError(f"cannot snapshot a {type(value).__name__}")


def _ext_hook(code: int, data: memoryview) -> Any:
    if code != _ARRAY_EXT:
        raise ValueError(f"unknown msgpack extension {code}")
    values = array(chr(data[0]))
    values.frombytes(data[1:])
    return values


_encoder = msgspec.msgpack.Encoder(enc_hook=_enc_hook)
_decoder = msgspec.msgpack.Decoder(ext_hook=_ext_hook)


class Snapshot(msgspec.Struct):
    """What a snapshot file holds; `offset` is the log's size up to and including the line of `seq`."""

    schema: str
    seq: int
    offset: int
    line_sha1: str
    state: dict[str, Any]
    experiments: list[dict[str, Any]]


def line_sha1(line: bytes) -> str:
    return hashlib.sha1(line).hexdigest()


def encode(proj: GridSearchProjection, seq: int, offset: int, line: bytes) -> bytes:
    """`proj` with every event up to `seq` applied; `line` is the stored line of `seq`, ending at byte `offset`."""
    state = {k: v for k, v in vars(proj).items() if k != "_experiments"}
    experiments = [vars(exp) for exp in proj.views().values()]
    return _encoder.encode(Snapshot(SCHEMA, seq, offset, line_sha1(line), state, experiments))


def decode(data: bytes) -> tuple[Snapshot, GridSearchProjection]:
    """The snapshot in `data` and the projection it holds; ValueError if it is torn or not of this schema."""
    try:
        snap = msgspec.convert(_decoder.decode(data), Snapshot)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ValueError(f"unreadable snapshot: {exc}") from None
    if snap.schema != SCHEMA:
        raise ValueError(f"snapshot schema {snap.schema} is not {SCHEMA}")
    proj = GridSearchProjection.__new__(GridSearchProjection)
    proj.__dict__.update(snap.state)
    experiments = {}
    for attrs in snap.experiments:
        exp = ExperimentView.__new__(ExperimentView)
        exp.__dict__.update(attrs)
        experiments[exp.experiment_id] = exp
    proj._experiments = experiments
    return snap, proj


def write(folder: Path, data: bytes) -> None:
    """Replace the snapshot in `folder` with `data`, atomically."""
    tmp = folder / f".{SNAPSHOT_FILE_NAME}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, folder / SNAPSHOT_FILE_NAME)


def read(folder: Path) -> bytes | None:
    try:
        return (folder / SNAPSHOT_FILE_NAME).read_bytes()
    except FileNotFoundError:
        return None


def _still_matches(path: Path, snap: Snapshot) -> bool:
    """Whether the log at `path` still holds, ending at byte `snap.offset`, the line the snapshot names."""
    try:
        with open(path, "rb") as f:
            start = max(0, snap.offset - _TAIL)
            f.seek(start)
            tail = f.read(snap.offset - start)
    except OSError:
        return False
    if len(tail) != snap.offset - start or not tail.endswith(b"\n"):
        return False
    cut = tail.rfind(b"\n", 0, len(tail) - 1)
    if cut < 0 and start > 0:
        return False  # a last line longer than the window: not checked, so not trusted
    return line_sha1(tail[cut + 1:]) == snap.line_sha1


def project_log(path: str | os.PathLike, grid_search_id: str) -> GridSearchProjection:
    """The read model of the log at `path`: from the snapshot beside it when it still matches the log, then the
    events after it; leaves a new snapshot when it applied `SAVE_AFTER_EVENTS` events or more (best effort: a
    read-only folder only costs the next reader the replay)."""
    path = Path(path)
    proj, seq, offset = GridSearchProjection(grid_search_id), -1, 0
    data = read(path.parent)
    if data is not None:
        try:
            snap, restored = decode(data)
            if _still_matches(path, snap):
                proj, seq, offset = restored, snap.seq, snap.offset
        except ValueError:
            pass
    applied, last_line, end, last_end = 0, b"", offset, offset
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            if not raw.endswith(b"\n"):
                break  # a torn last line
            end += len(raw)
            applied_seq = apply_line(proj, raw, seq)
            if applied_seq is not None:
                seq, last_line, last_end, applied = applied_seq, raw, end, applied + 1
    if applied >= SAVE_AFTER_EVENTS:
        try:
            write(path.parent, encode(proj, seq, last_end, last_line))
        except OSError:
            pass
    return proj
