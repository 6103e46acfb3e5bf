"""The YAML dialect of MLgym's config files and `-c` values: PyYAML's safe loader with floats as users write them.

PyYAML implements YAML 1.1, where a float needs a dot and a signed exponent, so `lr: 1e-3` and `1.5e3` are read
as strings. `ConfigLoader` reads them as floats (as YAML 1.2 does); everything else (`1_000`, `0x10`, `.inf`)
resolves as in PyYAML.
"""
from __future__ import annotations

import re
from typing import Any

import yaml

FLOAT_TAG = "tag:yaml.org,2002:float"

FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
                    |\.[0-9][0-9_]*(?:[eE][-+]?[0-9]+)?
                    |[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
                    |[-+]?\.(?:inf|Inf|INF)
                    |\.(?:nan|NaN|NAN))$""", re.X)


class ConfigLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` whose float resolver also accepts `1e-3`, `1E5` and `1.5e3`."""


# Replace the float rule in place (a copy per first character), so the order of the other rules is kept.
ConfigLoader.yaml_implicit_resolvers = {
    first: [(tag, FLOAT if tag == FLOAT_TAG else regexp) for tag, regexp in rules]
    for first, rules in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_value(text: str) -> Any:
    """One YAML value, e.g. the right-hand side of `-c optimizer.config.lr=1e-3`."""
    return yaml.load(text, Loader=ConfigLoader)  # noqa: S506 - ConfigLoader is a SafeLoader
