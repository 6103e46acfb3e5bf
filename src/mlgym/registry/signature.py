"""The constructor signature is the schema: check a node's arguments and their types before anything runs."""
from __future__ import annotations

import difflib
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any

from mlgym.registry.constraints import Constraint

ConfigProblem = tuple[str, str, str | None]
"""(key path below the node's `config`, message, hint or None) - what a check reports about a config."""


def type_hints(factory: Callable[..., Any]) -> dict[str, Any]:
    """The annotations of a function's or class constructor's parameters, with `Annotated` extras kept."""
    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # unresolvable annotations: skip type checks, keep name checks
        return {}


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def type_problem(value: Any, tp: Any) -> str | None:
    """Why `value` does not fit annotation `tp`, or None. Unknown annotations are accepted."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        base, *extras = typing.get_args(tp)
        problem = type_problem(value, base)
        if problem:
            return problem
        for extra in extras:
            if isinstance(extra, Constraint) and not extra.holds(value):
                return f"expected {extra.description}, got {value!r}"
        return None
    if tp is Any or tp is inspect.Parameter.empty:
        return None
    if origin in (typing.Union, types.UnionType):
        problems = [type_problem(value, a) for a in typing.get_args(tp)]
        return None if any(p is None for p in problems) else f"expected {_type_name(tp)}, got {value!r}"
    if origin is typing.Literal:
        allowed = typing.get_args(tp)
        return None if value in allowed else f"expected one of {list(allowed)}, got {value!r}"
    if tp is type(None):
        return None if value is None else f"expected null, got {value!r}"
    if tp is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return None if ok else f"expected a number, got {value!r}"
    if tp is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"expected an integer, got {value!r}"
    if tp in (str, bool):
        return None if isinstance(value, tp) else f"expected {tp.__name__}, got {value!r}"
    if origin in (list, tuple, typing.Sequence) or tp in (list, tuple):
        return None if isinstance(value, (list, tuple)) else f"expected a list, got {value!r}"
    if origin in (dict, typing.Mapping) or tp is dict:
        return None if isinstance(value, dict) else f"expected a mapping, got {value!r}"
    return None


_SCHEMAS: dict[Any, tuple[dict[str, inspect.Parameter], bool, dict[str, Any]]] = {}


def _schema(factory: Callable[..., Any]) -> tuple[dict[str, inspect.Parameter], bool, dict[str, Any]]:
    """(named parameters, takes **kwargs, type hints) of `factory`, worked out once per factory: a large grid checks
    the same few constructors at every point, and `inspect.signature` / `get_type_hints` dominate that check."""
    try:
        return _SCHEMAS[factory]
    except (KeyError, TypeError):
        pass
    sig = inspect.signature(factory)
    params = {n: p for n, p in sig.parameters.items()
              if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and n != "self"}
    open_ended = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    schema = params, open_ended, type_hints(factory)
    try:
        _SCHEMAS[factory] = schema
    except TypeError:  # an unhashable callable: not cached
        pass
    return schema


def check_arguments(factory: Callable[..., Any], config: dict[str, Any],
                    injected: set[str]) -> list[ConfigProblem]:
    """Problems as (argument name, message, hint): unknown, missing or mistyped arguments."""
    params, open_ended, hints = _schema(factory)
    problems: list[ConfigProblem] = []
    for name in config:
        if name not in params and not open_ended:
            near = difflib.get_close_matches(str(name), list(params), n=1)
            problems.append((str(name), f"unknown argument '{name}'; accepted: {', '.join(params) or 'none'}",
                             f"did you mean '{near[0]}'?" if near else None))
        elif name in params:
            problem = type_problem(config[name], hints.get(name, params[name].annotation))
            if problem:
                problems.append((str(name), f"argument '{name}': {problem}", None))
    for name in injected:
        if name not in params and not open_ended:
            problems.append((name, f"requirement '{name}' is not an argument; accepted: {', '.join(params)}", None))
    for name, p in params.items():
        if p.default is p.empty and name not in config and name not in injected:
            problems.append((name, f"missing required argument '{name}'",
                             "add it under config, or as a requirement if it is another component"))
    return problems
