"""The scores an experiment reports and which way each is better, read from its component graph's config.

Metrics declare their direction where they are registered (`higher_is_better`, default True); every loss is
minimised. The main process computes this before any job runs, so the plan, the event stream and every reader
share one answer.
"""
from __future__ import annotations

from typing import Any

from mlgym.config.loader import SourceMap
from mlgym.registry.graph import Node, nodes_of_kind, parse_nodes
from mlgym.registry.registry import registry


def loss_name(factory: Any) -> str:
    """The name a loss reports its scores under: its `name` attribute, else its class name."""
    return getattr(factory, "name", None) or getattr(factory, "__name__", type(factory).__name__)


def score_directions_of_nodes(nodes: dict[str, Node]) -> dict[str, str]:
    """Score name -> "max" | "min", metrics first (in their listed order), then losses."""
    directions: dict[str, str] = {}
    for node in nodes_of_kind(nodes, "metrics"):
        metric_set = node.factory(**node.config)
        if hasattr(metric_set, "directions"):
            directions.update(metric_set.directions())
    for node in nodes_of_kind(nodes, "loss"):
        directions.setdefault(loss_name(node.factory), "min")
    return directions


def score_directions(config: dict[str, Any]) -> dict[str, str]:
    """Score name -> "max" | "min" for one resolved experiment config."""
    return score_directions_of_nodes(parse_nodes(config, registry, SourceMap()))
