"""The reproducibility record of `grid_search_started`: installed distributions, git commit, dirty flag and the
diff of tracked files stored beside the log; `reproducibility: {dirty_git: error}` refuses a dirty tree."""
from __future__ import annotations

import hashlib
import importlib.metadata
import subprocess
from pathlib import Path

import pytest

from mlgym.cli.main import main
from mlgym.events.event_log import read_events
from tests.conftest import CONFIGS
from tests.mlgym.checkpointing.test_warm_start import the_log

pytestmark = pytest.mark.timeout(120)


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                   capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository holding a committed config (one grid point) and a committed notes file."""
    repo = tmp_path / "project"
    repo.mkdir()
    (repo / "gs_config.yml").write_text(f"imports: [{CONFIGS / 'iris_mlp.yml'}]\n"
                                        "optimizer:\n  config:\n    lr: 0.01\n")
    (repo / "notes.txt").write_text("first\n")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "start")
    return repo


def train(repo: Path, dirty_git: str | None) -> int:
    args = ["train", "--gs_config_path", str(repo / "gs_config.yml"), "--log_dir", str(repo / "logs"),
            "--num_epochs", "1", "--environment", "main_process"]
    if dirty_git is not None:
        (repo / "run.yml").write_text(f"reproducibility:\n  dirty_git: {dirty_git}\n")
        args += ["--run_config_path", str(repo / "run.yml")]
    return main(args)


def test_a_clean_tree_records_commit_and_packages_and_no_diff(repo: Path, capsys: pytest.CaptureFixture) -> None:
    (repo / "untracked.txt").write_text("logs and outputs do not make a tree dirty\n")
    assert train(repo, "error") == 0
    env = next(read_events(the_log(repo / "logs")))["payload"]["environment"]
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    assert env["git_commit"] == head and env["git_dirty"] is False and env["git_diff_sha256"] is None
    assert env["packages"]["torch"] == importlib.metadata.version("torch")
    assert env["packages"]["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert env["cuda"] is None  # no GPU on these machines
    assert not list(the_log(repo / "logs").parent.glob("git_diff-*"))
    assert "warning" not in capsys.readouterr().err


def test_a_dirty_tree_is_warned_about_and_its_diff_kept_beside_the_log(repo: Path,
                                                                      capsys: pytest.CaptureFixture) -> None:
    (repo / "notes.txt").write_text("changed\n")
    assert train(repo, None) == 0  # the default: warn
    err = capsys.readouterr().err
    assert "uncommitted changes to tracked files (notes.txt)" in err and "warn" in err
    env = next(read_events(the_log(repo / "logs")))["payload"]["environment"]
    assert env["git_dirty"] is True and env["git_changed_files"] == ["notes.txt"]
    patch = the_log(repo / "logs").parent / env["git_diff_file"]
    assert hashlib.sha256(patch.read_bytes()).hexdigest() == env["git_diff_sha256"]
    assert "-first\n+changed\n" in patch.read_text()
    git(repo, "stash", "-q")  # the stored diff restores the run's tree exactly
    git(repo, "apply", str(patch))
    assert (repo / "notes.txt").read_text() == "changed\n"


def test_dirty_git_error_refuses_to_start_and_creates_nothing(repo: Path, capsys: pytest.CaptureFixture) -> None:
    (repo / "notes.txt").write_text("changed\n")
    assert train(repo, "error") == 2
    err = capsys.readouterr().err
    assert "uncommitted changes to tracked files (notes.txt)" in err and "nothing was started" in err
    assert not (repo / "logs").exists()
    assert train(repo, "sometimes") == 2
    assert f"{repo / 'run.yml'}:2:3: at 'reproducibility.dirty_git': dirty_git is one of ignore, warn, error" \
           in capsys.readouterr().err
