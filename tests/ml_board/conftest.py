"""Fixtures shared by MLboard's test modules."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.ml_board.dashboard_helpers import chromium_page
from tests.ml_board.read_model_logs import run_real_logs, run_search_log


@pytest.fixture(scope="session")
def asha_search_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The event log of a real random search with ASHA (9 trials of 9 epochs, run once per test session)."""
    return run_search_log(tmp_path_factory.mktemp("asha_search"))


@pytest.fixture(scope="session")
def real_logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> event log of real runs: the grid search and nested CV examples, a cross-validation, a regression."""
    return run_real_logs(tmp_path_factory.mktemp("read_model_runs"))


@pytest.fixture
def page():
    """A headless Chromium page; the test fails if the page raised a JavaScript error."""
    with chromium_page() as p:
        yield p
        assert p.errors == [], f"JavaScript errors on the page: {p.errors}"
