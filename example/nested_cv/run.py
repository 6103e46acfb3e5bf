"""Nested cross-validation of a small MLP grid on scikit-learn's breast_cancer.

    python run.py train --gs_config_path gs_config.yml --validation_config_path validation_config.yml
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import components  # noqa: E402,F401  (registers this example's tabular_mlp)
from mlgym.cli.main import entry_point  # noqa: E402

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
