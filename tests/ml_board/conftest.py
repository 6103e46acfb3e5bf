"""Fixtures shared by MLboard's test modules."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.ml_board.read_model_logs import run_search_log


@pytest.fixture(scope="session")
def asha_search_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The event log of a real random search with ASHA (9 trials of 9 epochs, run once per test session)."""
    return run_search_log(tmp_path_factory.mktemp("asha_search"))
