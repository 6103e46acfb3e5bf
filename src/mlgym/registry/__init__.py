"""Registry of component kinds x variants, and the dependency-injected component graph."""
from mlgym.registry.registry import Registry, component, registry

__all__ = ["Registry", "component", "registry"]
