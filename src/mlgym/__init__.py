"""MLgym: reproducible deep-learning experiments from a YAML graph of components."""

__version__ = "0.1.0"
