"""The one exception root of MLgym, and the config error that names where a problem is."""
from __future__ import annotations

from dataclasses import dataclass


class MLgymError(Exception):
    """Root of every error MLgym raises on purpose; the CLI prints it without a traceback."""

    exit_code = 1


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file and a 1-based line and column."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class OverrideLocation:
    """A value given on the command line as `-c key.path=value`: errors about it name the override, not a file."""

    text: str

    def __str__(self) -> str:
        return f"command-line override '-c {self.text}'"


class ConfigError(MLgymError):
    """A problem in the user's configuration, found before anything is started (exit status 2)."""

    exit_code = 2

    def __init__(self, message: str, *, key_path: str | None = None,
                 location: Location | OverrideLocation | None = None, hint: str | None = None) -> None:
        self.message = message
        self.key_path = key_path
        self.location = location
        self.hint = hint
        super().__init__(self.format())

    def format(self) -> str:
        where = str(self.location) if self.location else ""
        parts = []
        if where:
            parts.append(f"{where}:")
        if self.key_path:
            parts.append(f"at '{self.key_path}':")
        parts.append(self.message)
        text = " ".join(parts)
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class UsageError(MLgymError):
    """A command-line mistake (unknown id, missing file given as a flag)."""

    exit_code = 2


class JobFailedError(MLgymError):
    """An experiment failed; carries the remote traceback as text."""

    def __init__(self, message: str, traceback_text: str = "") -> None:
        super().__init__(message)
        self.traceback_text = traceback_text


class TrainingStopped(MLgymError):
    """The trainer's health checks stopped a job: a non-finite loss, or an alert whose action is `stop`."""
