"""The component graph of one experiment: nodes from the config, validated, then built by dependency-injector."""
from __future__ import annotations

import difflib
import graphlib
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from mlgym.config.loader import SourceMap
from mlgym.errors import ConfigError
from mlgym.registry.registry import Registry, normalize
from mlgym.registry.signature import ConfigProblem, check_arguments

RESERVED_KEYS = {"global_config", "imports"}
NODE_KEYS = {"component_type_key", "variant_key", "requirements", "config"}
REQUIREMENT_KEYS = {"name", "component_name", "subscription"}
_MAX_CHECKED = 65_536  # node checks remembered (a grid's points share most of their nodes' configs)


@dataclass(frozen=True)
class Requirement:
    """Inject component `component_name` (or its part `subscription`) as argument `name`."""

    name: str
    component_name: str
    subscription: Any = None


@dataclass(frozen=True)
class Node:
    """One component of the graph, as written in the config."""

    name: str
    kind: str
    variant: str
    factory: Callable[..., Any]
    config: dict[str, Any] = field(default_factory=dict)
    requirements: tuple[Requirement, ...] = ()


def _parse_requirements(name: str, raw: Any, source: SourceMap) -> tuple[Requirement, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise source.error("requirements must be a list of {name, component_name, subscription}",
                           f"{name}.requirements")
    reqs = []
    for i, item in enumerate(raw):
        path = f"{name}.requirements.{i}"
        if not isinstance(item, dict) or "name" not in item or "component_name" not in item:
            raise source.error("a requirement needs 'name' (the argument) and 'component_name'", path,
                               hint="e.g. {name: model, component_name: model}")
        extra = set(item) - REQUIREMENT_KEYS
        if extra:
            raise source.error(f"unknown key(s) {sorted(extra)} in requirement; allowed: "
                               f"{sorted(REQUIREMENT_KEYS)}", path)
        reqs.append(Requirement(str(item["name"]), str(item["component_name"]), item.get("subscription")))
    return tuple(reqs)


def parse_nodes(config: dict[str, Any], registry: Registry, source: SourceMap) -> dict[str, Node]:
    """Check every node's shape, kind, variant and arguments; return them by name.

    The order of the checks is the order of the errors: every node's shape first, then the wiring, then each
    node's arguments (`validation.grid_check` relies on each stage depending only on what it is given)."""
    nodes: dict[str, Node] = {}
    for name, raw in config.items():
        if name in RESERVED_KEYS:
            continue
        nodes[str(name)] = parse_node(name, raw, registry, source)
    check_requirements(nodes, source)
    for node in nodes.values():
        check_node_arguments(node, source)
    return nodes


def parse_node(name: Any, raw: Any, registry: Registry, source: SourceMap) -> Node:
    """One node's shape, kind and variant checked (not its arguments: `check_node_arguments`)."""
    if not isinstance(raw, dict) or "component_type_key" not in raw:
        raise source.error(f"component '{name}' needs component_type_key and variant_key",
                           str(name), hint="reusable values belong under global_config (use YAML anchors)")
    extra = set(raw) - NODE_KEYS
    if extra:
        near = difflib.get_close_matches(sorted(extra)[0], NODE_KEYS, n=1)
        raise source.error(f"unknown key(s) {sorted(extra)}; a component has {sorted(NODE_KEYS)}",
                           f"{name}.{sorted(extra)[0]}", hint=f"did you mean '{near[0]}'?" if near else None)
    if "variant_key" not in raw:
        raise source.error("missing variant_key", str(name),
                           hint=f"variants of {raw['component_type_key']}: "
                                f"{', '.join(registry.variants(raw['component_type_key']))}")
    try:
        factory = registry.get(raw["component_type_key"], raw["variant_key"], str(name))
    except ConfigError as e:
        raise source.error(e.message, e.key_path or str(name), hint=e.hint) from None
    node_config = raw.get("config") or {}
    if not isinstance(node_config, dict):
        raise source.error("config must be a mapping of argument names to values", f"{name}.config")
    reqs = _parse_requirements(str(name), raw.get("requirements"), source)
    return Node(str(name), normalize(raw["component_type_key"]), normalize(raw["variant_key"]), factory,
                node_config, reqs)


def check_node_arguments(node: Node, source: SourceMap) -> None:
    """The node's arguments against its factory's signature and `check_config` hook (ConfigError)."""
    problem = _node_problem(node)
    if problem is not None:
        path, message, hint = problem
        raise source.error(f"{node.kind}/{node.variant}: {message}", path, hint=hint)


_checked: dict[tuple[Any, ...], tuple[str, str, str | None] | None] = {}


def _node_problem(node: Node) -> tuple[str, str, str | None] | None:
    """The first problem of a node's arguments (key path, message, hint), or None; remembered per node name,
    factory, requirement names and config, since the check is a function of those alone and a grid repeats them."""
    try:
        key = (node.name, node.factory, frozenset(r.name for r in node.requirements),
               json.dumps(node.config, sort_keys=True, allow_nan=True))
        return _checked[key]
    except (TypeError, ValueError):
        key = None  # a value JSON cannot write, or an unhashable factory: checked every time
    except KeyError:
        pass
    problem = _first_problem(node)
    if key is not None:
        if len(_checked) >= _MAX_CHECKED:
            _checked.clear()
        _checked[key] = problem
    return problem


def _first_problem(node: Node) -> tuple[str, str, str | None] | None:
    for arg, message, hint in check_arguments(node.factory, node.config, {r.name for r in node.requirements}):
        return (f"{node.name}.config.{arg}" if arg in node.config else f"{node.name}.config"), message, hint
    for below, message, hint in config_problems(node.factory, node.config):
        return (f"{node.name}.config.{below}" if below else f"{node.name}.config"), message, hint
    return None


def config_problems(factory: Callable[..., Any], config: dict[str, Any]) -> list[ConfigProblem]:
    """The factory's own check of values its signature cannot describe (e.g. the names in a list of metrics).

    A component opts in with a static or class method `check_config(config) -> [(key path below config,
    message, hint)]`; it is called only once the arguments fit the signature.
    """
    check = getattr(factory, "check_config", None)
    return list(check(config)) if callable(check) else []


_wired: set[tuple[Any, ...]] = set()


def check_requirements(nodes: dict[str, Node], source: SourceMap) -> None:
    """Every requirement names a component and the graph has no cycle (remembered per wiring: a grid repeats it)."""
    wiring = tuple((n.name, n.requirements) for n in nodes.values())
    try:
        if wiring in _wired:
            return
    except TypeError:  # an unhashable subscription: checked every time
        wiring = None
    _check_wiring(nodes, source)
    if wiring is not None:
        if len(_wired) >= _MAX_CHECKED:
            _wired.clear()
        _wired.add(wiring)


def _check_wiring(nodes: dict[str, Node], source: SourceMap) -> None:
    for node in nodes.values():
        for i, req in enumerate(node.requirements):
            if req.component_name not in nodes:
                near = difflib.get_close_matches(req.component_name, list(nodes), n=1)
                raise source.error(f"requirement '{req.name}' names missing component '{req.component_name}'; "
                                   f"components: {', '.join(nodes)}",
                                   f"{node.name}.requirements.{i}.component_name",
                                   hint=f"did you mean '{near[0]}'?" if near else None)
    order = graphlib.TopologicalSorter({n.name: {r.component_name for r in n.requirements}
                                        for n in nodes.values()})
    try:
        order.prepare()
    except graphlib.CycleError as e:
        cycle = " -> ".join(e.args[1])
        raise source.error(f"dependency cycle: {cycle}", f"{e.args[1][0]}.requirements",
                           hint="a component cannot (indirectly) require itself") from e


def build_order(nodes: dict[str, Node]) -> list[str]:
    return list(graphlib.TopologicalSorter(
        {n.name: {r.component_name for r in n.requirements} for n in nodes.values()}).static_order())


def nodes_of_kind(nodes: dict[str, Node], kind: str) -> list[Node]:
    return [n for n in nodes.values() if n.kind == normalize(kind)]


class BuildCache(Protocol):
    """Where a graph may take a node's object from instead of building it (a worker's data cache).

    `lookup(node, key, build)` returns the object for `key` (a hash of the node's config and of everything it
    requires), calling `build()` when it has none; a cache decides itself which nodes it keeps."""

    def lookup(self, node: Node, key: str, build: Callable[[], Any]) -> Any: ...


def node_keys(nodes: dict[str, Node]) -> dict[str, str]:
    """Each node's content key: the SHA-256 of its kind, variant, factory, config and its requirements' keys, so
    two nodes with the same key are built from the same resolved config all the way down."""
    keys: dict[str, str] = {}
    for name in build_order(nodes):
        node = nodes[name]
        factory = f"{getattr(node.factory, '__module__', '')}.{getattr(node.factory, '__qualname__', node.factory)}"
        content = {"kind": node.kind, "variant": node.variant, "factory": factory, "config": node.config,
                   "requirements": [[r.name, r.subscription, keys[r.component_name]] for r in node.requirements]}
        keys[name] = hashlib.sha256(json.dumps(content, sort_keys=True, default=repr).encode()).hexdigest()
    return keys


class ComponentGraph:
    """A dependency-injector container with one singleton provider per node, built lazily in dependency order.

    `replace` maps node names to factories used instead of theirs (such a node is never taken from the cache);
    `cache`, when given, may supply a node's object built earlier from the same config (see `BuildCache`)."""

    def __init__(self, nodes: dict[str, Node], replace: dict[str, Callable[..., Any]] | None = None,
                 cache: BuildCache | None = None) -> None:
        from dependency_injector import containers, providers  # ~0.25 s of imports, only when a graph is built

        self.nodes = nodes
        self.container = containers.DynamicContainer()
        replace = replace or {}
        keys = node_keys(nodes) if cache is not None else {}
        for name in build_order(nodes):
            node = nodes[name]
            kwargs: dict[str, Any] = dict(node.config)
            for req in node.requirements:
                kwargs[req.name] = self._injected(req)
            factory = replace.get(name, node.factory)
            if cache is not None and name not in replace:
                factory = _CachedFactory(cache, node, keys[name], factory)
            self.container.set_provider(name, providers.Singleton(factory, **kwargs))

    def _injected(self, req: Requirement) -> Any:
        from dependency_injector import providers

        provider = self.container.providers[req.component_name]
        sub = req.subscription
        if sub is None:
            return provider
        if isinstance(sub, list):
            return providers.Dict({s: provider.provided[s] for s in sub})
        return provider.provided[sub]

    def get(self, name: str) -> Any:
        return self.container.providers[name]()

    def first_of_kind(self, kind: str, required: bool = True) -> Any:
        found = nodes_of_kind(self.nodes, kind)
        if not found:
            if required:
                raise KeyError(kind)
            return None
        return self.get(found[0].name)


@dataclass(frozen=True)
class _CachedFactory:
    """A node's factory that asks the cache first; `build` receives the injected arguments as usual."""

    cache: BuildCache
    node: Node
    key: str
    factory: Callable[..., Any]

    def __call__(self, **kwargs: Any) -> Any:
        return self.cache.lookup(self.node, self.key, lambda: self.factory(**kwargs))
