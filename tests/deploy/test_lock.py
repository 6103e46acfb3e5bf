"""The image's lock file pins every dependency the package declares (a stale lock would break the image build)."""
from __future__ import annotations

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_every_declared_dependency_is_pinned_in_the_lock() -> None:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    declared = [line for line in cfg["options"]["install_requires"].splitlines() if line.strip()]
    declared += [line for line in cfg["options.extras_require"]["ray"].splitlines() if line.strip()]
    locked = {_name(line) for line in (ROOT / "deploy" / "requirements.lock").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    missing = sorted({_name(r) for r in declared} - locked)
    assert missing == [], f"deploy/requirements.lock is stale (run `make compose-lock`): missing {missing}"
