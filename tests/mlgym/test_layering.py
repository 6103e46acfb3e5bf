"""Imports run one way (DESIGN.md): the registry never imports the layers above it, visibly or via importlib."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import mlgym

SRC = Path(mlgym.__file__).resolve().parent
MODULE_NAME = re.compile(r"^(mlgym|ml_board)(\.[A-Za-z_]\w*)*$")
ABOVE_THE_REGISTRY = ("mlgym.gym", "mlgym.checkpointing", "mlgym.run", "mlgym.validation", "mlgym.scheduler",
                      "mlgym.cli")


def _modules(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def _imported(tree: ast.AST) -> list[tuple[int, str]]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
            names += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return names


def _module_names(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals that are an MLgym module's dotted name (`"mlgym.gym.trainer"`)."""
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_NAME.match(node.value)]


def _dynamic_imports_of_mlgym(tree: ast.AST) -> list[tuple[int, str]]:
    """In a module that imports by name (importlib.import_module, __import__): every MLgym module name it spells,
    whether passed directly or kept in a constant first."""
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call) and
             (node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None))
             in ("import_module", "__import__")]
    return _module_names(tree) if calls else []


def _is_within(name: str, package: str) -> bool:
    return name == package or name.startswith(f"{package}.")


def test_the_registry_imports_nothing_above_it() -> None:
    bad = [f"{path.relative_to(SRC)}:{line}: {name}" for path in _modules(SRC / "registry")
           for tree in [ast.parse(path.read_text())]
           for line, name in _imported(tree) + _module_names(tree)
           if any(_is_within(name, layer) for layer in ABOVE_THE_REGISTRY)]
    assert bad == []


def test_no_module_imports_mlgym_through_importlib_with_a_literal_name() -> None:
    bad = [f"{path.relative_to(SRC.parent)}:{line}: {name}" for path in _modules(SRC)
           for line, name in _dynamic_imports_of_mlgym(ast.parse(path.read_text()))]
    assert bad == []


def test_the_checks_see_what_they_look_for() -> None:
    tree = ast.parse("import mlgym.gym.job\nfrom mlgym.run import start\n")
    assert [n for _, n in _imported(tree)] == ["mlgym.gym.job", "mlgym.run", "mlgym.run.start"]
    direct = ast.parse("import importlib\nimportlib.import_module('mlgym.gym.trainer')\n")
    assert _dynamic_imports_of_mlgym(direct) == [(2, "mlgym.gym.trainer")]
    hidden = ast.parse("MODULES = ('mlgym.components', 'mlgym.gym.evaluator')\n"
                       "def load():\n    for name in MODULES:\n        __import__(name)\n")
    assert _dynamic_imports_of_mlgym(hidden) == [(1, "mlgym.components"), (1, "mlgym.gym.evaluator")]
    assert _dynamic_imports_of_mlgym(ast.parse("importlib.import_module('torch')\nx = 'mlgym.cli'\n")) == [
        (2, "mlgym.cli")]
    assert _dynamic_imports_of_mlgym(ast.parse("x = 'mlgym.cli'\n")) == []


def test_builtins_are_registered_by_the_gym() -> None:
    from mlgym.gym.builtins import load_builtins
    from mlgym.registry import registry
    load_builtins()
    assert {"trainer", "evaluator", "checkpointing", "metric", "model"} <= set(registry.kinds())
