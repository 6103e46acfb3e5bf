"""Config: load YAML (imports, anchors, line numbers), apply -c overrides, expand sweeps, validate."""
from mlgym.config.loader import SourceMap, load_config
from mlgym.config.overrides import apply_overrides
from mlgym.config.sweep import GridPoint, expand_sweeps, find_sweeps

__all__ = ["SourceMap", "load_config", "apply_overrides", "GridPoint", "expand_sweeps", "find_sweeps"]
