"""`python_modules:` in a gs_config: the Python modules that register the config's own components.

A name is looked up next to the file that lists it first (`components` is `components.py` or the package
`components/` in that file's folder; dotted names are allowed), then on `sys.path` like any import. The entries
are not part of the config: they are taken out when the file is loaded (so they change no experiment id) and
imported before the registry is used, in the main process and in every worker.
"""
from __future__ import annotations

import importlib
import re
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlgym.errors import ConfigError, Location, OverrideLocation

KEY = "python_modules"
_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")


@dataclass(frozen=True)
class PythonModule:
    """A module named by a config file: its dotted name, the folder of that file, and where the entry was written."""

    name: str
    folder: str
    location: Location | OverrideLocation | None = None

    def to_payload(self) -> dict[str, str]:
        return {"name": self.name, "folder": self.folder}

    def is_local(self) -> bool:
        """True when the module lives in `folder` (a `.py` file or a package directory)."""
        path = Path(self.folder).joinpath(*self.name.split("."))
        return path.with_suffix(".py").is_file() or path.is_dir()


def take_python_modules(data: dict[str, Any], folder: Path, source: Any) -> list[PythonModule]:
    """Remove `python_modules` from one file's data and return its entries (checked: a list of dotted names)."""
    raw = data.pop(KEY, None)
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        raise source.error(f"{KEY} must be a list of module names, e.g. [components]", KEY)
    modules = []
    for i, name in enumerate(raw):
        if not isinstance(name, str) or not _DOTTED.match(name.strip()) or name.strip().endswith(".py"):
            raise source.error(f"{KEY} entries are module names like components or my_project.models, "
                               f"got {name!r}", f"{KEY}.{i}",
                               hint="write the module's name, not its file: components.py is `components`")
        modules.append(PythonModule(name.strip(), str(folder), source.find(f"{KEY}.{i}")))
    return modules


def _module_file(module: Any) -> str | None:
    path = getattr(module, "__file__", None)
    if path is None and getattr(module, "__path__", None):
        path = next(iter(module.__path__), None)
    return str(Path(path).resolve()) if path else None


def import_python_module(module: PythonModule) -> None:
    """Import one module (its folder first on `sys.path` when the module is there); ConfigError at its entry."""
    folder = str(Path(module.folder).resolve())
    local = module.is_local()
    top = module.name.split(".")[0]
    if local:
        loaded = _module_file(sys.modules[top]) if top in sys.modules else None
        if loaded is not None and not loaded.startswith(folder + "/"):
            raise ConfigError(f"{KEY}: module '{top}' is already imported from {loaded}, not from {folder}",
                              key_path=KEY, location=module.location,
                              hint="two projects' modules share a name in one process: rename one of them")
        if folder not in sys.path:
            sys.path.insert(0, folder)
    try:
        importlib.import_module(module.name)
    except Exception as e:  # noqa: BLE001 - whatever the module raises is the config's problem, with its place
        where = "" if local else f" (not found as {module.name.replace('.', '/')}.py or a package in {folder})"
        last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
        at = f" at {last.filename}:{last.lineno}" if last is not None and local else ""
        raise ConfigError(f"cannot import python module '{module.name}'{where}: {type(e).__name__}: {e}{at}",
                          key_path=KEY, location=module.location,
                          hint="a module is looked up next to the config file that names it, then on sys.path "
                               "(PYTHONPATH); fix the module or the name") from e


def import_python_modules(modules: tuple[PythonModule, ...] | list[PythonModule]) -> None:
    """Import every module, in order (a worker's initializer, and the main process before validation)."""
    for module in modules:
        import_python_module(module)


def modules_from_payload(entries: list[dict[str, str]] | None) -> tuple[PythonModule, ...]:
    """The modules a logged run named (`grid_search_started.python_modules`), for warm start."""
    return tuple(PythonModule(e["name"], e["folder"]) for e in entries or ())
