"""Checkpoint files a board keeps for workers that share no file system with it: safe paths, list, store.

A checkpoint lives at `<root>/<grid_search_id>/checkpoints/<rel>`; `rel` may also be given with a leading
`checkpoints/`, so the `path` of a `checkpoint` event (relative to the grid search folder) works as is.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from mlgym.events.schema import is_valid_id

CHECKPOINTS_DIR = "checkpoints"


class BadPath(ValueError):
    """A path segment that is not `[A-Za-z0-9._-]+`; the API answers 400."""


class OutsideRoot(ValueError):
    """A path that resolves outside its grid search's checkpoints folder; the API answers 404."""


def checkpoint_path(gs_folder: Path, rel: str) -> Path:
    """The file `rel` names inside `gs_folder/checkpoints`, refusing bad segments and escapes."""
    parts = rel.split("/")
    if parts and parts[0] == CHECKPOINTS_DIR and len(parts) > 1:
        parts = parts[1:]
    if not parts or any(not is_valid_id(p) for p in parts):
        raise BadPath("checkpoint path segments must match [A-Za-z0-9._-]+")
    base = (gs_folder / CHECKPOINTS_DIR).resolve()
    path = base.joinpath(*parts).resolve()
    if path == base or not path.is_relative_to(base):
        raise OutsideRoot("path escapes the checkpoints folder")
    return path


def list_checkpoints(gs_folder: Path) -> list[dict[str, Any]]:
    """Every stored checkpoint file: path (relative to the grid search folder), bytes, modification time."""
    base = gs_folder / CHECKPOINTS_DIR
    if not base.is_dir():
        return []
    rows = []
    for path in sorted(base.rglob("*")):
        if path.is_file() and not path.name.startswith(".upload-"):
            stat = path.stat()
            rows.append({"path": path.relative_to(gs_folder).as_posix(), "bytes": stat.st_size,
                         "mtime": stat.st_mtime})
    return rows


def save_checkpoint(target: Path, stream: IO[bytes], chunk_size: int = 1024 * 1024) -> dict[str, Any]:
    """Write `stream` to `target` atomically (temp file + rename); return its size and sha256."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(chunk_size):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
        os.replace(tmp, target)
    except BaseException:
        os.unlink(tmp)
        raise
    return {"bytes": size, "sha256": digest.hexdigest()}
