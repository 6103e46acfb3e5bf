"""Nested cross-validation (3 outer x 2 inner folds) of 2 learning rates of an MLP on breast_cancer (15 short jobs).

    python run.py train --gs_config_path gs_config.yml --validation_config_path validation_config.yml --num_epochs 5
    python run.py report --grid_search_id <id printed at the end>

`mlgym ...` does the same: this file only exists as a place for your own imports, if you prefer them to
`python_modules:` in gs_config.yml.
"""

from mlgym.cli.main import entry_point

if __name__ == "__main__":
    entry_point()  # main(), then exit without the interpreter's slow teardown
