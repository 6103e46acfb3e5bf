"""Checkpoint files: written atomically (temp file, fsync, rename) with a SHA-256 sidecar, verified on load."""
from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
from pathlib import Path
from typing import Any

import torch

from mlgym.checkpointing.position import Position


class CorruptCheckpoint(Exception):
    """A checkpoint file whose bytes do not match its checksum, or that torch cannot load."""


def _atomic_write(path: Path, data: bytes) -> None:
    # a temp name of its own per writer: an attempt on a node that was declared dead may still be writing the same
    # checkpoint for a moment while its retry does; both write the same bytes and the last rename wins
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class CheckpointStore:
    """The checkpoints of one experiment: `<dir>/epoch_<n>.pt` (end of epoch n) or `epoch_<n>_step_<s>.pt` (s
    optimizer steps into epoch n), each with a `.json` sidecar (checksum, size) written last."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def path(self, position: Position) -> Path:
        return self.directory / position.file_name

    @staticmethod
    def serialize(state: dict[str, Any]) -> bytes:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return buffer.getvalue()

    def write(self, position: Position, data: bytes) -> dict[str, Any]:
        """Write serialized state durably. The sidecar is written last: it marks the checkpoint complete."""
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(data).hexdigest()
        path = self.path(position)
        _atomic_write(path, data)
        meta = {"epoch": position.epoch, "step": position.step, "sha256": digest, "bytes": len(data)}
        _atomic_write(path.with_name(path.name + ".json"), json.dumps(meta).encode())
        return {"path": str(path), **meta}

    def positions(self) -> list[Position]:
        """Positions with a complete checkpoint (sidecar present), oldest first."""
        if not self.directory.is_dir():
            return []
        found = (Position.of_file(meta.name[:-len(".json")]) for meta in self.directory.glob("epoch_*.pt.json"))
        return sorted(position for position in found if position is not None)

    def load(self, position: Position) -> dict[str, Any]:
        path = self.path(position)
        try:
            meta = json.loads(path.with_name(path.name + ".json").read_text())
            data = path.read_bytes()
        except (OSError, ValueError) as e:
            raise CorruptCheckpoint(f"{path}: {e}") from e
        if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
            raise CorruptCheckpoint(f"{path}: checksum mismatch ({len(data)} bytes, expected {meta.get('bytes')})")
        try:
            return torch.load(io.BytesIO(data), map_location="cpu", weights_only=False)
        except Exception as e:  # torch raises many types for a damaged file
            raise CorruptCheckpoint(f"{path}: {e}") from e

    def last_seq(self, position: Position) -> int | None:
        """The seq of the `saved` event of this checkpoint (written by the main process), if known."""
        path = self.path(position)
        try:
            return int(path.with_name(path.name + ".seq").read_text())
        except (OSError, ValueError):
            return None

    def delete(self, position: Position) -> None:
        path = self.path(position)
        for p in (path.with_name(path.name + ".json"), path, path.with_name(path.name + ".seq")):
            p.unlink(missing_ok=True)
