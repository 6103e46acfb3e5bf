"""Layering: planning (`mlgym.validation`, `mlgym.search`) imports nothing that starts threads or processes, or
writes logs."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"

# modules that start threads or processes, or write event logs: they belong to the run layer and the executors
SIDE_EFFECT_MODULES = {"threading", "multiprocessing", "subprocess", "concurrent.futures", "mlgym.run",
                       "mlgym.scheduler.pool", "mlgym.scheduler.worker", "mlgym.scheduler.main_process",
                       "mlgym.events.event_log", "mlgym.events.websocket_sink", "mlgym.events.checkpoint_upload",
                       "mlgym.checkpointing.writer", "mlgym.checkpointing.manager"}


def _module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path, package: str) -> set[str]:
    """Every module `path` imports, at module level or inside functions (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _closure(roots: list[str]) -> dict[str, str]:
    """Modules reachable from `roots` through imports inside the mlgym package: module -> who imported it."""
    seen: dict[str, str] = {r: "(root)" for r in roots}
    todo = list(roots)
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if path is None:
            continue
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for imported in _imports(path, package):
            if imported not in seen:
                seen[imported] = name
                if imported.startswith("mlgym.") and _module_file(imported):
                    todo.append(imported)
    return seen


def _chain(seen: dict[str, str], name: str) -> str:
    chain = [name]
    while seen.get(chain[-1], "(root)") != "(root)":
        chain.append(seen[chain[-1]])
    return " <- ".join(chain)


@pytest.mark.parametrize("package", ["validation", "search"])
def test_planning_imports_nothing_that_starts_threads_or_processes(package: str) -> None:
    roots = [f"mlgym.{package}.{p.stem}" for p in (SRC / "mlgym" / package).glob("*.py") if p.stem != "__init__"]
    assert roots
    seen = _closure(roots)
    bad = sorted(_chain(seen, m) for m in seen
                 if any(m == s or m.startswith(f"{s}.") for s in SIDE_EFFECT_MODULES))
    assert bad == []


def test_the_closure_walk_finds_what_the_run_layer_imports() -> None:
    """The check above can fail: the run layer, which does start threads, is caught by it."""
    seen = _closure(["mlgym.run.grid_search_run"])
    assert {"mlgym.events.websocket_sink", "mlgym.scheduler.pool", "threading"} <= set(seen)
