"""Grid search of a small ConvNet on scikit-learn's digits.

    python run.py train --gs_config_path gs_config.yml
    python run.py warmstart --grid_search_id <id>
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import components  # noqa: E402,F401  (registers this example's collator and ConvNet)
from mlgym.cli.main import entry_point  # noqa: E402

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
