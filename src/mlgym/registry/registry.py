"""A small mapping of (component kind, variant) to factory, with a decorator that also works as a plain call."""
from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mlgym.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


def normalize(name: str) -> str:
    """Kinds and variants are case-insensitive: `MODEL`, `model` and `Model` are the same kind."""
    return str(name).strip().lower()


def nearest(name: str, candidates: list[str]) -> str | None:
    matches = difflib.get_close_matches(normalize(name), candidates, n=1, cutoff=0.5)
    return matches[0] if matches else None


@dataclass(frozen=True)
class Entry:
    """One registered factory and who registered it (for duplicate errors)."""

    kind: str
    variant: str
    factory: Callable[..., Any]
    meta: tuple[tuple[str, Any], ...] = ()

    @property
    def origin(self) -> str:
        f = self.factory
        return f"{getattr(f, '__module__', '?')}.{getattr(f, '__qualname__', repr(f))}"


REGISTER_HINT = ("is known once the module that registers it is imported: list that module in the gs_config, "
                 "e.g. `python_modules: [components]` for components.py next to it")
UNREGISTERED_HINT = f"a component of your own {REGISTER_HINT}"


class Registry:
    """Factories by component kind and variant; built-ins and user components register the same way."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Entry] = {}

    def register(self, kind: str, variant: str, factory: F | None = None, **meta: Any) -> Any:
        """Register `factory`; without it, return a decorator that registers the decorated callable.

        `meta` is data about the component that the framework reads, e.g. `higher_is_better` of a metric.
        """
        if factory is None:
            def decorator(f: F) -> F:
                self.register(kind, variant, f, **meta)
                return f
            return decorator
        key = (normalize(kind), normalize(variant))
        if key in self._entries:
            first = self._entries[key]
            if first.factory is factory:
                return factory
            raise ValueError(f"component {key[0]}/{key[1]} is already registered by {first.origin}; "
                             f"choose another variant name for {Entry(*key, factory).origin}")
        self._entries[key] = Entry(key[0], key[1], factory, tuple(sorted(meta.items())))
        return factory

    def meta(self, kind: str, variant: str) -> dict[str, Any]:
        """The metadata registered with kind/variant (empty when none, or when it is not registered)."""
        entry = self._entries.get((normalize(kind), normalize(variant)))
        return dict(entry.meta) if entry else {}

    def kinds(self) -> list[str]:
        return sorted({k for k, _ in self._entries})

    def variants(self, kind: str) -> list[str]:
        kind = normalize(kind)
        return sorted(v for k, v in self._entries if k == kind)

    def has_kind(self, kind: str) -> bool:
        return normalize(kind) in self.kinds()

    def get(self, kind: str, variant: str, key_path: str = "", location: Any = None) -> Callable[..., Any]:
        """The factory for kind/variant; a miss names what is available and the nearest valid name."""
        k, v = normalize(kind), normalize(variant)
        entry = self._entries.get((k, v))
        if entry is not None:
            return entry.factory
        if k not in self.kinds():
            hint = nearest(k, self.kinds())
            raise ConfigError(
                f"unknown component_type_key '{kind}'; known kinds: {', '.join(self.kinds())}",
                key_path=f"{key_path}.component_type_key" if key_path else "component_type_key",
                location=location, hint=f"did you mean '{hint}'?" if hint else UNREGISTERED_HINT)
        if (k, v) not in self._entries:
            near = nearest(v, self.variants(k))
            raise ConfigError(
                f"unknown variant_key '{variant}' for component_type_key '{kind}'; "
                f"known variants: {', '.join(self.variants(k))}",
                key_path=f"{key_path}.variant_key" if key_path else "variant_key",
                location=location, hint=(f"did you mean '{near}'? " if near else "") + f"A component of your own ('{variant}') "
                + REGISTER_HINT)
        return self._entries[(k, v)].factory


registry = Registry()


def component(kind: str, variant: str, **meta: Any) -> Callable[[F], F]:
    """Decorator registering a class or function as component `kind`/`variant` in the default registry.

    A metric declares its direction here: `@component("metric", "mae", higher_is_better=False)`; a metric that
    does not declare it is maximised.
    """
    return registry.register(kind, variant, **meta)
