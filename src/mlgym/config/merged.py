"""The fully merged gs_config as YAML (`mlgym validate --show`): imports resolved, anchors expanded, `-c` overrides
applied, sweeps kept as sweeps. Written to a file, it validates and trains to the same experiments (same ids)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlgym.config.python_modules import KEY, PythonModule


class _Dumper(yaml.SafeDumper):
    """Safe YAML without anchors (`&id001`): a value used twice is written out twice, as it was merged."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def merged_yaml(config: dict[str, Any], gs_config_path: Path, overrides: list[str] | tuple[str, ...] = (),
                python_modules: tuple[PythonModule, ...] | list[PythonModule] = ()) -> str:
    """`config` (as loaded and overridden) as YAML, with a header saying where it came from.

    `python_modules` are written first, by name; a module found in another folder than the config's own is named
    in a comment, since the name is looked up next to the file it is written in (or on PYTHONPATH)."""
    lines = [f"# {gs_config_path}: merged (imports resolved, anchors expanded"
             + (", overrides applied: " + " ".join(f"-c {o}" for o in overrides) if overrides else "")
             + "); sweeps are kept."]
    if python_modules:
        for m in python_modules:
            if Path(m.folder) != gs_config_path.parent:
                lines.append(f"# python module {m.name} was found in {m.folder}: put that folder on PYTHONPATH")
        lines.append(yaml.dump({KEY: [m.name for m in python_modules]}, Dumper=_Dumper, sort_keys=False,
                               default_flow_style=None, width=100).rstrip())
    body = yaml.dump(config, Dumper=_Dumper, sort_keys=False, default_flow_style=None, width=100,
                     allow_unicode=True)
    return "\n".join(lines) + "\n" + body
